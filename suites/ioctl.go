package suites

import (
	"os"
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// notDeniedIoctl is the outcome of FIONREAD on /dev/zero when Landlock
// lets it through: the device has no such command (ENOTTY) on some
// kernels and answers it on others. Only Landlock's EACCES is wrong.
const notDeniedIoctl = "ok|ENOTTY"

// IOCTL_DEV arrived in ABI 5; before it ioctl is never restricted.
func ioctlDenied(e check.Env) string {
	if e.LibABI() >= check.ABIIoctlDev {
		return "EACCES"
	}
	return notDeniedIoctl
}

// ioctlCase opens path after enforcing a policy that handles every FS
// right and grants grant on path, then runs the ioctl.
func ioctlCase(name, path string, grant landlock.AccessFS, want func(check.Env) string, ioctl func(fd int) error) check.Case {
	return check.Case{Area: "ioctl", Name: name, Want: want, Covers: []string{"fs.10", "§3.7"}, Run: func(t *check.T) string {
		path := path // each run gets its own file: never assign the captured variable
		if path == "" {
			t.Files("f")
			path = t.Path("f")
		}
		p := landlock.Policy{FS: check.AllFS}
		p.AllowPath(path, grant)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "open failed: " + check.Outcome(err)
		}
		defer unix.Close(fd)
		return check.Outcome(ioctl(fd))
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
	check.Build(func() {
		const r = landlock.FSReadFile
		check.Register(mirrored(
			ioctlCase("dev_zero/fionread_denied", "/dev/zero", r, ioctlDenied, fionread),
			ioctlCase("dev_zero/fionread_allowed_with_ioctl_dev", "/dev/zero", r|landlock.FSIoctlDev, func(check.Env) string { return notDeniedIoctl }, fionread),
			ioctlCase("dev_zero/fioclex_always_allowed", "/dev/zero", r, check.Allowed, ioctlNone(fioclexCmd)),
			ioctlCase("dev_zero/fionclex_always_allowed", "/dev/zero", r, check.Allowed, ioctlNone(fionclexCmd)),
			ioctlCase("dev_zero/fionbio_always_allowed", "/dev/zero", r, check.Allowed, ioctlIntArg(fionbioCmd, 0)),
			ioctlCase("dev_zero/fioasync_always_allowed", "/dev/zero", r, check.Allowed, ioctlIntArg(fioasyncCmd, 0)),
			ioctlCase("regular_file/fionread_not_restricted", "", r, check.Allowed, fionread),
			check.Case{Area: "ioctl", Name: "dev_zero/fd_opened_before_enforcement_allowed", Covers: []string{"fs.10", "§3.7", "§6.11"}, Want: func(check.Env) string { return notDeniedIoctl }, Run: func(t *check.T) string {
				fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				if err := t.Enforce(landlock.Policy{FS: check.AllFS}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fionread(fd))
			}},
		)...)
	})
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

// Group fs.10: IOCTL_DEV on every kind of file (landlock.h,
// LANDLOCK_ACCESS_FS_IOCTL_DEV; landlock.rst "IOCTL support"). Only
// character and block devices opened after the enforcement are
// restricted, and there every command implemented by a driver needs the
// right, except the documented common ones: FIOCLEX, FIONCLEX, FIONBIO,
// FIOASYNC; FIFREEZE, FITHAW, FIGETBSZ, FS_IOC_GETFSUUID,
// FS_IOC_GETFSSYSFSPATH; FS_IOC_FIEMAP, FICLONE, FICLONERANGE,
// FIDEDUPERANGE. Directories, regular files, FIFOs, sockets, memfds and
// descriptors opened before are not restricted. Before ABI 5 nothing is.
//
// What a command does on a device without Landlock depends on the kernel
// and the device (ENOTTY, EINVAL, EOPNOTSUPP, ...); the documentation
// promises only what Landlock adds. So these rows are differential: the
// command runs once on a descriptor opened before the enforcement (not
// restricted) and once on one opened after; "as unsandboxed" when both
// answer the same. FIFREEZE is left out: on a filesystem that supports
// it, the unsandboxed baseline would freeze /dev.

// Generic ioctl commands x/sys does not name (include/uapi/linux/fs.h,
// asm-generic/ioctls.h), with their sizes encoded.
const (
	fioqsizeCmd         = 0x5460
	figetbszCmd         = 2          // _IO(0x00, 2)
	fibmapCmd           = 1          // _IO(0x00, 1)
	fithawCmd           = 0xc0045878 // _IOWR('X', 120, int)
	fsIocGetFSUUIDCmd   = 0x80111500 // _IOR(0x15, 0, struct fsuuid2)
	fsIocGetSysfsCmd    = 0x80811501 // _IOR(0x15, 1, struct fs_sysfs_path)
	fsIocFiemapCmd      = 0xc020660b // _IOWR('f', 11, struct fiemap)
	ficloneCmd          = 0x40049409 // _IOW(0x94, 9, int)
	ficlonerangeCmd     = 0x4020940d // _IOW(0x94, 13, struct file_clone_range)
	fideduperangeCmd    = 0xc0189436 // _IOWR(0x94, 54, struct file_dedupe_range)
	fsIocFSGetXattrCmd  = 0x801c581f // _IOR('X', 31, struct fsxattr)
	unknownDeviceIoctl  = 0xc00ffeee
	ioctlArgBufferBytes = 256
)

// ioctlBuf runs cmd with a zeroed buffer as its argument (large enough
// for every structure above; commands taking a descriptor read -1 from a
// buffer starting with 0xff bytes).
func ioctlBuf(cmd uint) func(fd int) error {
	return func(fd int) error {
		buf := make([]byte, ioctlArgBufferBytes)
		if cmd == ficloneCmd {
			return ioctlNoneArg(fd, cmd, ^uintptr(0)) // source descriptor -1
		}
		if cmd == ficlonerangeCmd {
			for i := 0; i < 8; i++ {
				buf[i] = 0xff // src_fd -1
			}
		}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(&buf[0])))
		if e != 0 {
			return e
		}
		return nil
	}
}

func ioctlNoneArg(fd int, cmd uint, arg uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), arg)
	if e != 0 {
		return e
	}
	return nil
}

// ioctlDiff opens path before and after enforcing a domain handling
// READ_FILE and IOCTL_DEV with grant on path, and runs op on both. Where
// the domain does not grant IOCTL_DEV, FIONREAD on the later descriptor is
// the companion that shows the restriction in force.
func ioctlDiff(t *check.T, path string, grant landlock.AccessFS, op func(fd int) error) string {
	before, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(before)
	if err := fixture.EnforceFS(t, fixture.ARead|fixture.AIoctl, fixture.On(path, grant)); err != nil {
		return fixture.EnforceFailed(err)
	}
	after, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "open failed: " + check.Outcome(err)
	}
	defer unix.Close(after)
	b, a := check.Outcome(op(before)), check.Outcome(op(after))
	t.Logf("unsandboxed %s, sandboxed %s", b, a)
	if a == b {
		a = asUnsandboxed
	}
	if grant&fixture.AIoctl == 0 {
		a += "; fionread " + notDenied(fionread(after))
	}
	return a
}

// withFionread is the expectation of an ioctlDiff row without IOCTL_DEV:
// want, then the companion FIONREAD, denied from ABI 5.
func withFionread(want func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		c := "not denied"
		if e.LibABI() >= check.ABIIoctlDev {
			c = "EACCES"
		}
		return want(e) + "; fionread " + c
	}
}

// ioctlDeniedDiff is the expectation of a device command without the
// right: EACCES from ABI 5, the unsandboxed answer before.
func ioctlDeniedDiff(e check.Env) string {
	if e.LibABI() >= check.ABIIoctlDev {
		return "EACCES"
	}
	return asUnsandboxed
}

// notDenied folds the answers of a command Landlock lets through on a
// device that may not implement it.
func notDenied(err error) string {
	if err == nil || err == unix.ENOTTY {
		return "not denied"
	}
	return check.Outcome(err)
}

func ioctlCase10(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "ioctl", Name: name, Want: want, Covers: []string{"fs.10", "§3.7"}, Run: run}
}

func init() {
	check.Build(func() {
		for _, c := range []struct {
			name string
			cmd  uint
		}{
			{"fioqsize", fioqsizeCmd}, {"figetbsz", figetbszCmd}, {"fithaw", fithawCmd},
			{"fs_ioc_getfsuuid", fsIocGetFSUUIDCmd}, {"fs_ioc_getfssysfspath", fsIocGetSysfsCmd},
			{"fs_ioc_fiemap", fsIocFiemapCmd}, {"ficlone", ficloneCmd}, {"ficlonerange", ficlonerangeCmd},
			{"fideduperange", fideduperangeCmd},
		} {
			c := c
			check.Register(mirrored(ioctlCase10("dev_zero/"+c.name+"_always_allowed", withFionread(unchanged), func(t *check.T) string {
				return ioctlDiff(t, "/dev/zero", fixture.ARead, ioctlBuf(c.cmd))
			}))...)
		}
		for _, c := range []struct {
			name string
			cmd  uint
		}{
			{"fs_ioc_getflags", unix.FS_IOC_GETFLAGS}, {"fs_ioc_fsgetxattr", fsIocFSGetXattrCmd},
			{"fibmap", fibmapCmd}, {"tcgets", unix.TCGETS}, {"unknown_command", unknownDeviceIoctl},
		} {
			c := c
			check.Register(mirrored(
				ioctlCase10("dev_zero/"+c.name+"_denied_without_ioctl_dev", withFionread(ioctlDeniedDiff), func(t *check.T) string {
					return ioctlDiff(t, "/dev/zero", fixture.ARead, ioctlBuf(c.cmd))
				}),
				ioctlCase10("dev_zero/"+c.name+"_allowed_with_ioctl_dev", unchanged, func(t *check.T) string {
					return ioctlDiff(t, "/dev/zero", fixture.ARead|fixture.AIoctl, ioctlBuf(c.cmd))
				}),
			)...)
		}

		// Other kinds of files: never restricted, whatever the command.
		otherKinds := []struct {
			name string
			open func(t *check.T) (int, error)
		}{
			{"fifo", func(t *check.T) (int, error) {
				if err := unix.Mkfifo(t.Path("p"), 0o644); err != nil && err != unix.EEXIST {
					return -1, err
				}
				return unix.Open(t.Path("p"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			}},
			{"socket", func(t *check.T) (int, error) {
				sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return -1, err
				}
				unix.Close(sp[1])
				return sp[0], nil
			}},
			{"directory", func(t *check.T) (int, error) {
				if err := os.MkdirAll(t.Path("d"), 0o755); err != nil {
					return -1, err
				}
				return unix.Open(t.Path("d"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			}},
			{"regular_file", func(t *check.T) (int, error) {
				return unix.Open(t.Path("f"), unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
			}},
			{"memfd", func(t *check.T) (int, error) { return unix.MemfdCreate("llconform", unix.MFD_CLOEXEC) }},
		}
		for _, k := range otherKinds {
			for _, c := range []struct {
				name string
				cmd  uint
			}{{"fionread", fionreadCmd}, {"unknown_command", unknownDeviceIoctl}} {
				k, c := k, c
				if k.name == "regular_file" && c.name == "fionread" {
					continue // ioctl/regular_file/fionread_not_restricted
				}
				check.Register(mirrored(ioctlCase10(k.name+"/"+c.name+"_not_restricted",
					byLibABI(check.ABIIoctlDev, "as unsandboxed; dev_zero fionread EACCES", "as unsandboxed; dev_zero fionread not denied"),
					func(t *check.T) string {
						// The same command on this file before and after a domain
						// that handles IOCTL_DEV and grants it nowhere; the
						// companion shows the domain denies a device command.
						return ioctlOnKind(t, k.open, ioctlBuf(c.cmd))
					}))...)
			}
		}

		check.Register(mirrored(
			ioctlCase10("dev/rule_on_parent_directory_grants_ioctl_dev", func(check.Env) string { return "not denied" }, func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AIoctl, fixture.On("/dev", fixture.ARead|fixture.AIoctl)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return notDenied(ioctlFIONREAD("/dev/zero"))
			}),
			ioctlCase10("dev/ioctl_dev_not_handled_allowed", byLibABI(check.ABILandlock, "fionread=not denied other=EACCES", "fionread=not denied other=ok"), func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("/dev/zero", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("fionread", notDenied(ioctlFIONREAD("/dev/zero")), "other", check.Outcome(fixture.OpenRead(t.Path("f"))))
			}),
			// A reopen through /proc/self/fd is a new open: it loses the
			// unrestricted ioctl of the descriptor opened before.
			ioctlCase10("dev/reopen_through_proc_fd_is_restricted", byLibABI(check.ABIIoctlDev, "fd=not denied reopened=EACCES", "fd=not denied reopened=not denied"), func(t *check.T) string {
				fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AIoctl, fixture.On("/dev/zero", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("fd", notDenied(fionread(fd)), "reopened", notDenied(ioctlFIONREAD(procFD(fd))))
			}),
			ioctlCase10("o_path/ioctl_ebadf", byLibABI(check.ABIIoctlDev, "o_path=EBADF fionread=EACCES", "o_path=EBADF fionread=not denied"), func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AIoctl, fixture.On("/dev/zero", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open("/dev/zero", unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				return pairs("o_path", check.Outcome(fionread(fd)), "fionread", notDenied(ioctlFIONREAD("/dev/zero")))
			}),
			check.Case{Area: "ioctl", Name: "fd_passed_to_unsandboxed_process/device_ioctl_denied", Covers: []string{"fs.10", "fs.9", "§3.7", "§6.11"},
				Want: byLibABI(check.ABIIoctlDev, "EACCES", "ok|ENOTTY"), Run: func(t *check.T) string {
					return withReceiver(t, "fionread", func() error {
						return fixture.EnforceFS(t, fixture.ARead|fixture.AIoctl, fixture.On("/dev/zero", fixture.ARead))
					}, func() (int, error) {
						return unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
					})
				}},
		)...)
		check.Register(ptyCases()...)
	})
}

// ioctlOnKind runs op on a file of another kind before and after a domain
// that handles IOCTL_DEV without granting it, then FIONREAD on /dev/zero
// as the companion.
func ioctlOnKind(t *check.T, open func(t *check.T) (int, error), op func(fd int) error) string {
	fd, err := open(t)
	if err != nil {
		return check.SetupFailed(err)
	}
	b := check.Outcome(op(fd))
	unix.Close(fd)
	if err := fixture.EnforceFS(t, fixture.ARead|fixture.AReadDir|fixture.AIoctl, fixture.On("", fixture.ARead|fixture.AReadDir), fixture.On("/dev/zero", fixture.ARead)); err != nil {
		return fixture.EnforceFailed(err)
	}
	fd, err = open(t)
	if err != nil {
		return "open failed: " + check.Outcome(err)
	}
	defer unix.Close(fd)
	a := check.Outcome(op(fd))
	t.Logf("unsandboxed %s, sandboxed %s", b, a)
	o := a
	if a == b {
		o = asUnsandboxed
	}
	return o + "; dev_zero fionread " + notDenied(ioctlFIONREAD("/dev/zero"))
}

// ptyCases: a terminal (the master side of a fresh devpts instance,
// mounted in a private mount namespace) answers TCGETS only with
// IOCTL_DEV. /dev/tty is no use here: the agent has no controlling
// terminal.
func ptyCases() []check.Case {
	row := func(name string, grant landlock.AccessFS, want func(check.Env) string) check.Case {
		return withMountNS(ioctlCase10("pty/"+name, want, nil), func(t *check.T) string {
			if err := fixture.Layout(t, "pts/"); err != nil {
				return check.SetupFailed(err)
			}
			if err := unix.Mount("devpts", t.Path("pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
				return check.SetupFailedf("mount devpts: %s", check.Outcome(err))
			}
			if err := fixture.EnforceFS(t, fixture.ARead|fixture.AWrite|fixture.AIoctl, fixture.On("pts", grant)); err != nil {
				return fixture.EnforceFailed(err)
			}
			fd, err := unix.Open(t.Path("pts/ptmx"), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "open ptmx: " + check.Outcome(err)
			}
			defer unix.Close(fd)
			_, err = unix.IoctlGetTermios(fd, unix.TCGETS)
			return check.Outcome(err)
		})
	}
	return []check.Case{
		row("tcgets_denied_without_ioctl_dev", fixture.ARead|fixture.AWrite, ioctlDenied10),
		row("tcgets_allowed_with_ioctl_dev", fixture.ARead|fixture.AWrite|fixture.AIoctl, check.Allowed),
	}
}

func ioctlDenied10(e check.Env) string {
	if e.LibABI() >= check.ABIIoctlDev {
		return "EACCES"
	}
	return check.OK
}
