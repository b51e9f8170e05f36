package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// TRUNCATE arrived in ABI 3; before it truncation is always allowed.
var truncateDenied = deniedFrom(abiTruncate, "EACCES")

// truncCase enforces a policy handling every FS right and granting grant
// on the case directory (which holds file f), then runs op.
func truncCase(name string, grant landlock.AccessFS, want func(Env) string, op func(t *T) error) Case {
	return Case{Area: "truncate", Name: name, Want: want, Run: func(t *T) string {
		t.files("f")
		p := landlock.Policy{FS: allFS}
		p.AllowPath(t.Root(), grant)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return Outcome(op(t))
	}}
}

func ftruncateAfterOpen(path string, flags int) error {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, 0)
}

const (
	rw  = landlock.FSReadFile | landlock.FSWriteFile
	rwt = rw | landlock.FSTruncate
)

func init() {
	register(
		truncCase("truncate/denied", rw, truncateDenied, func(t *T) error { return unix.Truncate(t.path("f"), 0) }),
		truncCase("truncate/allowed", rwt, allowed, func(t *T) error { return unix.Truncate(t.path("f"), 0) }),
		truncCase("ftruncate/denied", rw, truncateDenied, func(t *T) error { return ftruncateAfterOpen(t.path("f"), unix.O_WRONLY) }),
		truncCase("ftruncate/allowed", rwt, allowed, func(t *T) error { return ftruncateAfterOpen(t.path("f"), unix.O_WRONLY) }),
		truncCase("o_trunc/denied", rw, truncateDenied, func(t *T) error { return openClose(t.path("f"), unix.O_WRONLY|unix.O_TRUNC) }),
		truncCase("o_trunc/allowed", rwt, allowed, func(t *T) error { return openClose(t.path("f"), unix.O_WRONLY|unix.O_TRUNC) }),
		truncCase("o_rdonly_o_trunc/denied", landlock.FSReadFile, truncateDenied, func(t *T) error { return openClose(t.path("f"), unix.O_RDONLY|unix.O_TRUNC) }),
		truncCase("o_rdonly_o_trunc/allowed_with_read_and_truncate", landlock.FSReadFile|landlock.FSTruncate, allowed, func(t *T) error { return openClose(t.path("f"), unix.O_RDONLY|unix.O_TRUNC) }),
		truncCase("creat_existing/denied", rw|landlock.FSMakeReg, truncateDenied, func(t *T) error { return creat(t.path("f")) }),
		truncCase("creat_new/allowed_without_truncate", rw|landlock.FSMakeReg, allowed, func(t *T) error { return creat(t.path("new")) }),
		Case{Area: "truncate", Name: "unhandled/truncate_allowed", Want: allowed, Run: func(t *T) string {
			t.files("f")
			if err := t.Enforce(landlock.Policy{FS: landlock.FSWriteFile}); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Truncate(t.path("f"), 0))
		}},
		Case{Area: "truncate", Name: "fd_opened_before_enforcement/ftruncate_allowed", Want: allowed, Run: func(t *T) string {
			return withFileOpenedBefore(t, func(fd int) error { return unix.Ftruncate(fd, 0) })
		}},
		// The right is bound to the fd at open time: an unsandboxed thread
		// (here another OS thread of this process, outside the domain)
		// that receives the fd is still refused.
		Case{Area: "truncate", Name: "fd_passed_to_unsandboxed/ftruncate_denied", Want: truncateDenied, Run: func(t *T) string {
			t.files("f")
			p := landlock.Policy{FS: allFS}
			p.AllowPath(t.Root(), rw)
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
			fd, err := unix.Open(t.path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "open failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			return onOtherThread(func() string { return Outcome(unix.Ftruncate(fd, 0)) })
		}},
	)
}

func creat(path string) error {
	return openClose(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
}
