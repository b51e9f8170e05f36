package suites

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// What a domain does not restrict (landlock.h, the warning after the
// filesystem rights): "It is currently not possible to restrict some
// file-related actions accessible through these syscall families:
// chdir(2), stat(2), flock(2), chmod(2), chown(2), setxattr(2),
// utime(2), ioctl(2), fcntl(2), access(2)." Each case enforces a domain
// that handles every filesystem right and grants none, performs the
// action on a file of the case directory (through a descriptor opened
// before the domain where the action needs one) and, as its companion,
// reads the same file: denied, so a kernel that ignored the domain
// altogether cannot pass.

// everyFSRight is every filesystem right of the newest ABI; the library
// keeps those the kernel knows.
var everyFSRight = landlock.AccessFS(check.Mask(check.FSRight, check.NewestABI))

// unrestrictedCase enforces the all-handling domain and runs op on the
// case's file f (fd: opened read-write before the domain).
func unrestrictedCase(name string, skip func(check.Env) string, op func(path string, fd int) error) check.Case {
	return check.Case{Area: "fs", Name: "unrestricted/" + name, Skip: skip, Covers: []string{"§3.2", "§3.11"},
		Want: byLibABI(check.ABILandlock, name+"=ok read=EACCES", name+"=ok read=ok"),
		Run: func(t *check.T) string {
			t.Files("f")
			fd, err := unix.Open(t.Path("f"), unix.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailedf("open: %s", check.Outcome(err))
			}
			defer unix.Close(fd)
			if err := fixture.EnforceFS(t, everyFSRight); err != nil {
				return fixture.EnforceFailed(err)
			}
			return pairs(name, check.Outcome(op(t.Path("f"), fd)), "read", check.Outcome(fixture.OpenRead(t.Path("f"))))
		}}
}

// userXattrs reports whether the filesystem of the case directories
// takes user extended attributes (tmpfs only since Linux 6.6).
var userXattrs = sync.OnceValue(func() error {
	dir, err := os.MkdirTemp("", "llconform-xattr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		return err
	}
	return unix.Setxattr(p, "user.llconform", []byte("1"), 0)
})

// fileLocks reports whether the kernel has file locks: without
// CONFIG_FILE_LOCKING flock(2) is ENOSYS and fcntl(2)'s F_SETLK EACCES.
var fileLocks = sync.OnceValue(func() error {
	f, err := os.CreateTemp("", "llconform-lock-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
})

func noFileLocks(check.Env) string {
	if err := fileLocks(); err != nil {
		return "the kernel has no file locks (CONFIG_FILE_LOCKING; flock outside any domain: " + check.Outcome(err) + ")"
	}
	return ""
}

func noUserXattrs(check.Env) string {
	if err := userXattrs(); err != nil {
		return "the case directories' filesystem takes no user extended attributes (setxattr: " + check.Outcome(err) + ")"
	}
	return ""
}

func init() {
	check.Build(func() {
		check.Register(
			unrestrictedCase("flock", noFileLocks, func(_ string, fd int) error {
				if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
					return err
				}
				return unix.Flock(fd, unix.LOCK_UN)
			}),
			// Record locks, status flags and descriptor duplication.
			unrestrictedCase("fcntl", noFileLocks, func(_ string, fd int) error {
				lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
				if err := unix.FcntlFlock(uintptr(fd), unix.F_SETLK, &lk); err != nil {
					return err
				}
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_NONBLOCK|unix.O_APPEND); err != nil {
					return err
				}
				d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
				if err != nil {
					return err
				}
				return unix.Close(d)
			}),
			// To the owner and group it has: allowed to its owner without
			// privilege, so the case runs as root and unprivileged alike.
			unrestrictedCase("chown", nil, func(path string, _ int) error {
				return unix.Chown(path, os.Getuid(), os.Getgid())
			}),
			unrestrictedCase("setxattr", noUserXattrs, func(path string, _ int) error {
				return unix.Setxattr(path, "user.llconform", []byte("1"), 0)
			}),
			// Explicit times, which only the owner (or CAP_FOWNER) may set.
			unrestrictedCase("utime", nil, func(path string, _ int) error {
				ts := []unix.Timespec{{Sec: 1_000_000_000}, {Sec: 1_000_000_000}}
				return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0)
			}),
		)
	})
}
