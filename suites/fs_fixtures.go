package suites

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
)

// Shared fixtures of the filesystem groups (fs_*.go): short names for the
// rights, policies written as data, layouts written as lists, and the
// want builders the rows share.

const (
	aExec    = landlock.FSExecute
	aWrite   = landlock.FSWriteFile
	aRead    = landlock.FSReadFile
	aReadDir = landlock.FSReadDir
	aRmDir   = landlock.FSRemoveDir
	aRmFile  = landlock.FSRemoveFile
	aMkChar  = landlock.FSMakeChar
	aMkDir   = landlock.FSMakeDir
	aMkReg   = landlock.FSMakeReg
	aMkSock  = landlock.FSMakeSock
	aMkFifo  = landlock.FSMakeFifo
	aMkSym   = landlock.FSMakeSym
	aRefer   = landlock.FSRefer
	aTrunc   = landlock.FSTruncate
	aIoctl   = landlock.FSIoctlDev
)

// rule allows access beneath path: relative to the case directory ("" is
// the directory itself), or absolute.
type rule struct {
	path   string
	access landlock.AccessFS
}

func on(path string, access landlock.AccessFS) rule { return rule{path, access} }

// fsPolicy is a library policy handling handled with rules.
func fsPolicy(t *check.T, handled landlock.AccessFS, rules ...rule) landlock.Policy {
	p := landlock.Policy{FS: handled}
	for _, r := range rules {
		p.AllowPath(t.Abs(r.path), r.access)
	}
	return p
}

// enforceFS enforces one layer through the library (best effort).
func enforceFS(t *check.T, handled landlock.AccessFS, rules ...rule) error {
	return t.Enforce(fsPolicy(t, handled, rules...))
}

// layout creates a fixture under the case directory: a name ending in "/"
// is a directory, "name->target" a symbolic link, "name|" a named pipe,
// anything else a small regular file (parents are made as needed).
func layout(t *check.T, specs ...string) error {
	for _, s := range specs {
		switch {
		case strings.HasSuffix(s, "/"):
			if err := os.MkdirAll(t.Path(s), 0o755); err != nil {
				return err
			}
			continue
		}
		name, target, isLink := strings.Cut(s, "->")
		name, isFifo := strings.CutSuffix(name, "|")
		if err := os.MkdirAll(filepath.Dir(t.Path(name)), 0o755); err != nil {
			return err
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, t.Path(name))
		case isFifo:
			err = unix.Mkfifo(t.Path(name), 0o644)
		default:
			err = os.WriteFile(t.Path(name), []byte("llconform\n"), 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fsSys is the expectation of a raw-syscall filesystem case: errno from
// abi on, ok before it (the kernel cannot deny what it does not know), and
// ENOSYS/EOPNOTSUPP without Landlock.
func fsSys(abi int, errno string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI >= abi {
			return errno
		}
		return check.OK
	})
}

// byLibABI is a library-case expectation: denied where the library's ABI
// reaches abi, allowed otherwise (also without Landlock).
func byLibABI(abi int, denied, allowed string) func(check.Env) string {
	return func(e check.Env) string {
		if e.LibABI() >= abi {
			return denied
		}
		return allowed
	}
}

// openFlags opens path with flags (and O_CLOEXEC) and closes it.
func openFlags(path string, flags int) error { return openClose(path, flags) }

// openAt opens name relative to dirfd and closes it.
func openAt(dirfd int, name string, flags int) error {
	fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// outsidePath is a readable file outside every case directory: a domain
// whose rules only cover the case directory must deny reading it. It is
// the sandboxed companion of cases whose own outcome is "allowed".
func outsidePath() string {
	if self, err := os.Executable(); err == nil {
		return self
	}
	return "/proc/self/exe"
}

// offMainThread runs f on the calling thread unless that thread is the
// process's main thread, and on a fresh thread otherwise. Cases that
// change their thread's filesystem state (unshare(CLONE_FS) or
// CLONE_NEWNS, then chdir, chroot or mounts) must not do it there: since
// Linux 7.0, when the main thread of PID 1 stops sharing its filesystem
// state the kernel resets the state of the threads still sharing it to an
// empty root ("VFS: Pid 1 stopped sharing filesystem state"), and in the
// VM the agent is PID 1. A case goroutine can be scheduled on the main
// thread; that thread is then locked to it, so the fresh one is another.
func offMainThread(f func() string) string {
	if unix.Gettid() != unix.Getpid() {
		return f()
	}
	return onOtherThread(f)
}

// ownFS gives the calling thread its own cwd and root (unshare(CLONE_FS)),
// so that chdir and chroot change nothing for the other threads.
func ownFS(t *check.T, body func(*check.T) string) string {
	return offMainThread(func() string {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return check.SetupFailedf("unshare(CLONE_FS): %s", check.Outcome(err))
		}
		return body(t)
	})
}
