package suites

import "golang.org/x/sys/unix"

// System call numbers of the tiny programs (sec_asm.go, asm_aarch64.go),
// this build's (arm64) own. arm64 has no open, fork or pause: the
// programs name them by the pseudo numbers below, which the arm64
// assembler turns into openat(AT_FDCWD, ...), clone(SIGCHLD, 0, ...) and
// ppoll(NULL, 0, NULL, NULL, 0).
const (
	sysRead           = unix.SYS_READ
	sysWrite          = unix.SYS_WRITE
	sysOpen           = pseudoOpen
	sysClose          = unix.SYS_CLOSE
	sysRtSigprocmask  = unix.SYS_RT_SIGPROCMASK
	sysPause          = pseudoPause
	sysGetpid         = unix.SYS_GETPID
	sysClone          = unix.SYS_CLONE
	sysFork           = pseudoFork
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

	sysOpenat    = unix.SYS_OPENAT
	sysPpoll     = unix.SYS_PPOLL
	sysRecvmsg   = unix.SYS_RECVMSG
	sysFtruncate = unix.SYS_FTRUNCATE
	sysIoctl     = unix.SYS_IOCTL
)
