//go:build amd64 || arm64

package suites

import "golang.org/x/sys/unix"

// System call numbers of the tiny programs (sec_asm.go, asm_aarch64.go)
// that both architectures have; sysnr_<arch>.go names the rest.
const (
	sysRead           = unix.SYS_READ
	sysWrite          = unix.SYS_WRITE
	sysClose          = unix.SYS_CLOSE
	sysRtSigprocmask  = unix.SYS_RT_SIGPROCMASK
	sysGetpid         = unix.SYS_GETPID
	sysClone          = unix.SYS_CLONE
	sysExit           = unix.SYS_EXIT
	sysWait4          = unix.SYS_WAIT4
	sysKill           = unix.SYS_KILL
	sysPtrace         = unix.SYS_PTRACE
	sysGetppid        = unix.SYS_GETPPID
	sysPrctl          = unix.SYS_PRCTL
	sysTkill          = unix.SYS_TKILL
	sysFutex          = unix.SYS_FUTEX
	sysExitGroup      = unix.SYS_EXIT_GROUP
	sysTgkill         = unix.SYS_TGKILL
	sysKeyctl         = unix.SYS_KEYCTL
	sysLandlockCreate = unix.SYS_LANDLOCK_CREATE_RULESET
	sysLandlockRestr  = unix.SYS_LANDLOCK_RESTRICT_SELF

	// The calls that stand in on arm64 for the ones it lacks (open,
	// fork, pause), and those of its hand-made programs: named on amd64
	// too so that the arm64 assembler builds (and its encodings are
	// tested) there.
	sysOpenat    = unix.SYS_OPENAT
	sysPpoll     = unix.SYS_PPOLL
	sysRecvmsg   = unix.SYS_RECVMSG
	sysFtruncate = unix.SYS_FTRUNCATE
	sysIoctl     = unix.SYS_IOCTL
)
