package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The rest of the IOCTL_DEV command list (landlock.h,
// LANDLOCK_ACCESS_FS_IOCTL_DEV): FIFREEZE is one of the commands a device
// opened in the domain always takes; FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR,
// the space reservation commands and FS_IOC_ZERO_RANGE are not in that
// list, so a device's descriptor opened without the right is denied them
// (EACCES) from ABI 5. The rows are differential like those of ioctl.go:
// the same command on a descriptor of /dev/zero opened before the domain
// is the unsandboxed answer.
//
// FIFREEZE would freeze the filesystem of /dev for a caller with
// CAP_SYS_ADMIN; the row drops that capability from its thread first, so
// the kernel answers EPERM (after Landlock let it through) both times and
// nothing is frozen. The write commands run with a zeroed argument on a
// read-only descriptor of /dev/zero, which no filesystem or driver
// changes anything for.

// More commands of include/uapi/linux/fs.h, sizes encoded for the 64-bit
// architectures the suites run on.
const (
	fifreezeCmd         = 0xc0045877 // _IOWR('X', 119, int)
	fsIocFSSetXattrCmd  = 0x401c5820 // _IOW('X', 32, struct fsxattr)
	fsIocResvspCmd      = 0x40305828 // _IOW('X', 40, struct space_resv)
	fsIocUnresvspCmd    = 0x40305829 // _IOW('X', 41, struct space_resv)
	fsIocResvsp64Cmd    = 0x4030582a // _IOW('X', 42, struct space_resv)
	fsIocUnresvsp64Cmd  = 0x4030582b // _IOW('X', 43, struct space_resv)
	fsIocZeroRangeCmd   = 0x40305839 // _IOW('X', 57, struct space_resv)
	capSysAdmin         = 21         // CAP_SYS_ADMIN
	blanketIoctlsMirror = "fs_test.c:layout1.blanket_permitted_ioctls"
)

func init() {
	check.Build(func() {
		check.Register(mirrored(
			ioctlCase10("dev_zero/fifreeze_always_allowed", withFionread(unchanged), func(t *check.T) string {
				if err := fixture.CapDrop(capSysAdmin); err != nil {
					return check.SetupFailedf("drop CAP_SYS_ADMIN: %s", check.Outcome(err))
				}
				if err := fixture.SetNoNewPrivs(); err != nil { // enforcing without CAP_SYS_ADMIN
					return check.SetupFailedf("no_new_privs: %s", check.Outcome(err))
				}
				return ioctlDiff(t, "/dev/zero", fixture.ARead, ioctlNone(fifreezeCmd))
			}).Mirroring(blanketIoctlsMirror),
		)...)
		for _, c := range []struct {
			name string
			cmd  uint
		}{
			{"fs_ioc_setflags", unix.FS_IOC_SETFLAGS}, {"fs_ioc_fssetxattr", fsIocFSSetXattrCmd},
			{"fs_ioc_resvsp", fsIocResvspCmd}, {"fs_ioc_unresvsp", fsIocUnresvspCmd},
			{"fs_ioc_resvsp64", fsIocResvsp64Cmd}, {"fs_ioc_unresvsp64", fsIocUnresvsp64Cmd},
			{"fs_ioc_zero_range", fsIocZeroRangeCmd},
		} {
			c := c
			check.Register(mirrored(
				ioctlCase10("dev_zero/"+c.name+"_denied_without_ioctl_dev", withFionread(ioctlDeniedDiff), func(t *check.T) string {
					return ioctlDiff(t, "/dev/zero", fixture.ARead, ioctlBuf(c.cmd))
				}).Mirroring(blanketIoctlsMirror),
				ioctlCase10("dev_zero/"+c.name+"_allowed_with_ioctl_dev", unchanged, func(t *check.T) string {
					return ioctlDiff(t, "/dev/zero", fixture.ARead|fixture.AIoctl, ioctlBuf(c.cmd))
				}).Mirroring(blanketIoctlsMirror),
			)...)
		}
	})
}
