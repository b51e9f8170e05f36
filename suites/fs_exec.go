package suites

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.7: execute (LANDLOCK_ACCESS_FS_EXECUTE), and execveat(2) with
// AT_EXECVE_CHECK. AT_EXECVE_CHECK (Linux 6.14) is not a Landlock feature:
// it asks the kernel whether a file would be allowed to execute, through
// the same checks as execve(2), without executing it. Kernels without it
// reject the unknown flag (EINVAL) before they look at the file; there the
// cases expect that EINVAL inside the domain too (withExecveCheck).
//
// The executed programs are tiny static ELF files (actions.go): exit(0),
// and openProgram, which opens one path and exits with the errno.

// runProgram runs prog from the calling thread (the child inherits its
// domain) and names its exit status as an errno (ok for 0).
func runProgram(prog string) string {
	pid, err := syscall.ForkExec(prog, []string{prog}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		return "exec: " + check.Outcome(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return "wait: " + check.Outcome(err)
	}
	if !ws.Exited() {
		return "child: " + ws.Signal().String()
	}
	if ws.ExitStatus() == 0 {
		return check.OK
	}
	return check.Outcome(unix.Errno(ws.ExitStatus()))
}

const atExecveCheck = 0x10000 // AT_EXECVE_CHECK (Linux 6.14), not in x/sys

// execveCheck asks whether path would execute, without executing it.
func execveCheck(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	argv := []*byte{p, nil}
	envv := []*byte{nil}
	dirfd := unix.AT_FDCWD
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), atExecveCheck, 0)
	if e != 0 {
		return e
	}
	return nil
}

// hasExecveCheck probes, outside any domain, whether the kernel knows
// AT_EXECVE_CHECK (Linux 6.14, not a Landlock feature): a check of a
// missing file is ENOENT where it does, EINVAL where it does not.
var hasExecveCheck = sync.OnceValue(func() bool {
	return execveCheck("/nonexistent-llconform") != unix.EINVAL
})

// withExecveCheck is the expectation of an AT_EXECVE_CHECK case: where the
// kernel lacks the flag, execveat(2) rejects it (EINVAL) before it looks
// at the file, so a domain must not turn that into its own answer.
func withExecveCheck(want func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		if !hasExecveCheck() {
			return "EINVAL"
		}
		return want(e)
	}
}

func execCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "fs", Name: "execute/" + name, Want: want, Covers: []string{"fs.7", "§3.2"}, Run: run}
}

func init() {
	check.Build(func() {
		prog := func(t *check.T, rel string) error {
			if err := fixture.Layout(t, rel[:len(rel)-len("prog")]); err != nil {
				return err
			}
			return fixture.WriteExecutable(t.Path(rel))
		}
		denied := check.DeniedFrom(check.ABILandlock, "EACCES")
		check.Register(mirrored(
			execCase("allowed_by_rule_on_an_ancestor", byLibABI(check.ABILandlock, "deep=ok other=EACCES", "deep=ok other=ok"), func(t *check.T) string {
				if err := prog(t, "a/b/c/prog"); err != nil {
					return check.SetupFailed(err)
				}
				if err := prog(t, "z/prog"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.AExec|fixture.ARead, fixture.On("a", fixture.AExec|fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("deep", check.Outcome(fixture.Execute(t.Path("a/b/c/prog"))), "other", check.Outcome(fixture.Execute(t.Path("z/prog"))))
			}),
			// The file reached decides, not the symbolic link.
			execCase("symlink_to_denied_target", denied, func(t *check.T) string {
				if err := prog(t, "b/prog"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.Layout(t, "a/l->../b/prog"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.AExec|fixture.ARead, fixture.On("a", fixture.AExec|fixture.ARead), fixture.On("b", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.Execute(t.Path("a/l")))
			}),
			// A domain that does not handle EXECUTE lets programs run, while it
			// denies what it handles.
			execCase("not_handled_allowed", byLibABI(check.ABILandlock, "exec=ok write=EACCES", "exec=ok write=ok"), func(t *check.T) string {
				if err := prog(t, "a/prog"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.AWrite); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("exec", check.Outcome(fixture.Execute(t.Path("a/prog"))), "write", check.Outcome(fixture.OpenWrite(t.Path("a/prog"))))
			}),
			check.Case{Area: "fs", Name: "execute/execveat_check_allowed_with_execute", Covers: []string{"fs.7", "§3.2"},
				Want: withExecveCheck(check.Allowed), Run: func(t *check.T) string {
					if err := prog(t, "a/prog"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.EnforceFS(t, fixture.AExec|fixture.ARead, fixture.On("a", fixture.AExec|fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(execveCheck(t.Path("a/prog")))
				}},
			check.Case{Area: "fs", Name: "execute/execveat_check_denied_without_execute", Covers: []string{"fs.7", "§3.2"},
				Want: withExecveCheck(denied), Run: func(t *check.T) string {
					if err := prog(t, "a/prog"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.EnforceFS(t, fixture.AExec|fixture.ARead, fixture.On("a", fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(execveCheck(t.Path("a/prog")))
				}},
		)...)
	})
}

// writeProgram writes a program file (mode 0755) at path.
func writeProgram(path string, b []byte) error { return os.WriteFile(path, b, 0o755) }
