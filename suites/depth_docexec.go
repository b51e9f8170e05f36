package suites

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Two promises of the documentation that need a process of their own
// kind, checked with tiny static programs (internal/tinyasm):
//
//   - A domain is inherited across execve, and a set-user-ID program is
//     no way out: its process keeps the domain of the process that
//     executed it (landlock.rst, "Inheritance"; without no_new_privs, only
//     a process with CAP_SYS_ADMIN may enforce, so only root can run such
//     a program inside a domain).
//   - LANDLOCK_RESTRICT_SELF_TSYNC (ABI 8) restricts every thread of the
//     calling process; a process with one thread is no special case and
//     gets the domain. A Go process always has several threads, hence a
//     tiny program.

// suidOwner is the owner of the set-user-ID program, not the caller.
const suidOwner = 65534

// euidAndOpenProgram reports its effective uid and the outcome of
// opening path for reading.
func euidAndOpenProgram(path string) []byte {
	p := tinyasm.New()
	p.SysTo(2, unix.SYS_GETEUID)
	p.SysTo(3, tinyasm.SysOpen, p.Cstr(path), tinyasm.Imm(unix.O_RDONLY))
	p.Report(3, 2, 2)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

// runSetuid writes into dir a set-user-ID program of suidOwner that
// reports its effective uid and whether it could read dir/secret,
// executes it from the calling thread and returns what it reported.
func runSetuid(dir string) string {
	prog := filepath.Join(dir, "suid")
	if err := os.WriteFile(prog, euidAndOpenProgram(filepath.Join(dir, "secret")), 0o755); err != nil {
		return check.SetupFailed(err)
	}
	// chown clears the set-user-ID bit: chmod after it.
	if err := os.Chown(prog, suidOwner, suidOwner); err != nil {
		return check.SetupFailed(err)
	}
	if err := unix.Chmod(prog, 0o4755); err != nil { // os.Chmod wants os.ModeSetuid
		return check.SetupFailed(err)
	}
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(pipe[0])
	none := ^uintptr(0)
	pid, err := syscall.ForkExec(prog, []string{"suid"}, &syscall.ProcAttr{Env: []string{}, Files: []uintptr{none, none, none, uintptr(pipe[1])}})
	unix.Close(pipe[1])
	if err != nil {
		return "exec: " + check.Outcome(err)
	}
	defer unix.Wait4(pid, nil, 0, nil)
	b := make([]byte, 16)
	for got := 0; got < len(b); {
		n, err := unix.Read(pipe[0], b[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return fmt.Sprintf("the program reported %d of 16 bytes (%s)", got, check.Outcome(err))
		}
		got += n
	}
	euid := int64(binary.LittleEndian.Uint64(b))
	open := int64(binary.LittleEndian.Uint64(b[8:]))
	return fmt.Sprintf("euid=%d open=%s", euid, fixture.OkOrErr(open))
}

// setuidFixture mounts a tmpfs of its own on the case directory's "m"
// (the agent's /tmp is nosuid; the case runs in a private mount
// namespace), makes the readable file "secret" there and lets suidOwner
// reach it; it returns the directory.
func setuidFixture(t *check.T) (string, error) {
	dir := t.Path("m")
	if err := os.Chmod(t.Root(), 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return "", fmt.Errorf("mount tmpfs: %w", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir, os.WriteFile(filepath.Join(dir, "secret"), []byte("llconform\n"), 0o644)
}

// allowReading adds a rule granting file reading on path (created empty
// if it does not exist yet) to the ruleset fd.
func allowReading(fd int, path string) error {
	if err := os.WriteFile(path, nil, 0o755); err != nil {
		return err
	}
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return fixture.AddPath(fd, fsRead, pfd, 0)
}

// tsyncProgram creates a ruleset handling file reading, sets
// no_new_privs, restricts itself with flags and opens path; it reports
// the three outcomes.
func tsyncProgram(path string, flags uint32) []byte {
	p := tinyasm.New()
	attr := p.Blob(fixture.Attr(8, fsRead))
	p.SysTo(2, tinyasm.SysLandlockCreate, attr, tinyasm.Imm(8), tinyasm.Imm(0))
	p.SysTo(5, tinyasm.SysPrctl, tinyasm.Imm(unix.PR_SET_NO_NEW_PRIVS), tinyasm.Imm(1), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
	p.SysTo(3, tinyasm.SysLandlockRestr, tinyasm.SlotVal(2), tinyasm.Imm(int32(flags)))
	p.SysTo(4, tinyasm.SysOpen, p.Cstr(path), tinyasm.Imm(unix.O_RDONLY))
	p.Report(3, 2, 3)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

// singleThreadWant is the outcome of tsyncProgram: the flag exists from ABI
// abi on (an unknown flag is EINVAL, and nothing is enforced).
func singleThreadWant(abi int) func(check.Env) string {
	return func(e check.Env) string {
		if o, ok := check.NoLandlock(e); ok {
			return fmt.Sprintf("create=%s restrict=%s open=ok", o, o)
		}
		if e.ABI < abi {
			return "create=ok restrict=EINVAL open=ok"
		}
		return "create=ok restrict=ok open=EACCES"
	}
}

func runTsyncProgram(t *check.T, flags uint32) string {
	t.Files("f")
	res, err := runReporting(t.Root(), tsyncProgram(t.Path("f"), flags), 3)
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	return fmt.Sprintf("create=%s restrict=%s open=%s", fixture.OkOrErr(res[0]), fixture.Result(res[1]), fixture.OkOrErr(res[2]))
}

func init() {
	check.Build(func() {
		suidSkip := check.NeedRoot("CAP_SYS_ADMIN to enforce without no_new_privs and to mount, CAP_CHOWN for a program of another user")
		check.Register(
			withMountNS(check.Case{Area: "creds", Name: "setuid_exec/keeps_the_domain", Skip: suidSkip, Covers: []string{"sec.1"},
				Want: check.Sys(func(check.Env) string { return fmt.Sprintf("euid=%d open=EACCES", suidOwner) })},
				func(t *check.T) string {
					dir, err := setuidFixture(t)
					if err != nil {
						return check.SetupFailed(err)
					}
					return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
						// The program's own file may be read (an executed
						// file is opened for reading); "secret" may not.
						if err := allowReading(fd, filepath.Join(dir, "suid")); err != nil {
							return check.SetupFailed(err)
						}
						// Root: no no_new_privs, which would disable the
						// set-user-ID transition.
						if err := fixture.Restrict(t, fd, 0); err != nil {
							return "restrict: " + check.Outcome(err)
						}
						return runSetuid(dir)
					})
				}),
			// The companion: the same program reads the file outside any
			// domain, as its owner, so the denial above is the domain's.
			withMountNS(check.Case{Area: "creds", Name: "setuid_exec/reads_without_domain", Skip: suidSkip, Covers: []string{"sec.1"},
				Want: func(check.Env) string { return fmt.Sprintf("euid=%d open=ok", suidOwner) }},
				func(t *check.T) string {
					dir, err := setuidFixture(t)
					if err != nil {
						return check.SetupFailed(err)
					}
					return runSetuid(dir)
				}),

			check.Case{Area: "tsync", Name: "single_threaded_process/restricts_itself", Covers: []string{"§3.12", "§6.6"},
				Want: singleThreadWant(check.ABITSync),
				Run:  func(t *check.T) string { return runTsyncProgram(t, tsyncFlag) }}.Mirroring("tsync_test.c:single_threaded_success"),
			// The companion: the same program without TSYNC, so that a
			// kernel ignoring the flag's promise for one thread differs
			// from this one only by the flag.
			check.Case{Area: "tsync", Name: "single_threaded_process/without_tsync_restricts_itself", Covers: []string{"§3.12"},
				Want: singleThreadWant(check.ABILandlock),
				Run:  func(t *check.T) string { return runTsyncProgram(t, 0) }},
		)
	})
}
