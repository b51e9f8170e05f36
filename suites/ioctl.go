package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// notDeniedIoctl is the outcome of FIONREAD on /dev/zero when Landlock
// lets it through: the device has no such command (ENOTTY) on some
// kernels and answers it on others. Only Landlock's EACCES is wrong.
const notDeniedIoctl = "ok|ENOTTY"

// IOCTL_DEV arrived in ABI 5; before it ioctl is never restricted.
func ioctlDenied(e Env) string {
	if e.LibABI() >= abiIoctlDev {
		return "EACCES"
	}
	return notDeniedIoctl
}

// ioctlCase opens path after enforcing a policy that handles every FS
// right and grants grant on path, then runs the ioctl.
func ioctlCase(name, path string, grant landlock.AccessFS, want func(Env) string, ioctl func(fd int) error) Case {
	return Case{Area: "ioctl", Name: name, Want: want, Run: func(t *T) string {
		path := path // each run gets its own file: never assign the captured variable
		if path == "" {
			t.files("f")
			path = t.path("f")
		}
		p := landlock.Policy{FS: allFS}
		p.AllowPath(path, grant)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "open failed: " + Outcome(err)
		}
		defer unix.Close(fd)
		return Outcome(ioctl(fd))
	}}
}

func fionread(fd int) error { _, err := unix.IoctlGetInt(fd, fionreadCmd); return err }

func ioctlNone(cmd uint) func(int) error {
	return func(fd int) error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), 0)
		if e != 0 {
			return e
		}
		return nil
	}
}

func ioctlIntArg(cmd uint, v int) func(int) error {
	return func(fd int) error { return unix.IoctlSetPointerInt(fd, cmd, v) }
}

func init() {
	const r = landlock.FSReadFile
	register(
		ioctlCase("dev_zero/fionread_denied", "/dev/zero", r, ioctlDenied, fionread),
		ioctlCase("dev_zero/fionread_allowed_with_ioctl_dev", "/dev/zero", r|landlock.FSIoctlDev, func(Env) string { return notDeniedIoctl }, fionread),
		ioctlCase("dev_zero/fioclex_always_allowed", "/dev/zero", r, allowed, ioctlNone(fioclexCmd)),
		ioctlCase("dev_zero/fionclex_always_allowed", "/dev/zero", r, allowed, ioctlNone(fionclexCmd)),
		ioctlCase("dev_zero/fionbio_always_allowed", "/dev/zero", r, allowed, ioctlIntArg(fionbioCmd, 0)),
		ioctlCase("dev_zero/fioasync_always_allowed", "/dev/zero", r, allowed, ioctlIntArg(fioasyncCmd, 0)),
		ioctlCase("regular_file/fionread_not_restricted", "", r, allowed, fionread),
		Case{Area: "ioctl", Name: "dev_zero/fd_opened_before_enforcement_allowed", Want: func(Env) string { return notDeniedIoctl }, Run: func(t *T) string {
			fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			if err := t.Enforce(landlock.Policy{FS: allFS}); err != nil {
				return enforceFailed(err)
			}
			return Outcome(fionread(fd))
		}},
	)
}

// Generic ioctl commands (asm-generic/ioctls.h) that x/sys does not name.
// FIONREAD is TIOCINQ's other name.
const (
	fionreadCmd = unix.TIOCINQ
	fionclexCmd = 0x5450
	fioclexCmd  = 0x5451
	fioasyncCmd = 0x5452
	fionbioCmd  = 0x5421
)
