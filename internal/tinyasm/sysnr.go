//go:build amd64 || arm64

package tinyasm

import "golang.org/x/sys/unix"

// System call numbers of the tiny programs (asm.go, asm_aarch64.go)
// that both architectures have; sysnr_<arch>.go names the rest.
const (
	SysRead           = unix.SYS_READ
	SysWrite          = unix.SYS_WRITE
	SysClose          = unix.SYS_CLOSE
	SysRtSigprocmask  = unix.SYS_RT_SIGPROCMASK
	SysGetpid         = unix.SYS_GETPID
	SysClone          = unix.SYS_CLONE
	SysExit           = unix.SYS_EXIT
	SysWait4          = unix.SYS_WAIT4
	SysKill           = unix.SYS_KILL
	SysPtrace         = unix.SYS_PTRACE
	SysGetppid        = unix.SYS_GETPPID
	SysPrctl          = unix.SYS_PRCTL
	SysTkill          = unix.SYS_TKILL
	SysFutex          = unix.SYS_FUTEX
	SysExitGroup      = unix.SYS_EXIT_GROUP
	SysTgkill         = unix.SYS_TGKILL
	SysKeyctl         = unix.SYS_KEYCTL
	SysLandlockCreate = unix.SYS_LANDLOCK_CREATE_RULESET
	SysLandlockRestr  = unix.SYS_LANDLOCK_RESTRICT_SELF
	SysExecve         = unix.SYS_EXECVE
	SysSocket         = unix.SYS_SOCKET
	SysBind           = unix.SYS_BIND
	SysListen         = unix.SYS_LISTEN

	// The calls that stand in on arm64 for the ones it lacks (open,
	// fork, pause), and those of its hand-made programs: named on amd64
	// too so that the arm64 assembler builds (and its encodings are
	// tested) there.
	SysOpenat    = unix.SYS_OPENAT
	SysPpoll     = unix.SYS_PPOLL
	SysRecvmsg   = unix.SYS_RECVMSG
	SysFtruncate = unix.SYS_FTRUNCATE
	SysIoctl     = unix.SYS_IOCTL
)
