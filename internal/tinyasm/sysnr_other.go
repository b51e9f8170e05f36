//go:build !amd64 && !arm64

package tinyasm

// The tiny programs exist for amd64 and arm64 only: these numbers are no
// system calls, they keep the package building elsewhere (the cases that
// run tiny programs fail there).
const (
	SysRead, SysWrite, SysOpen, SysClose, SysRtSigprocmask, SysPause  = -10, -11, -12, -13, -14, -15
	SysGetpid, SysClone, SysFork, SysExit, SysWait4, SysKill          = -16, -17, -18, -19, -20, -21
	SysPtrace, SysGetppid, SysPrctl, SysTkill, SysFutex, SysExitGroup = -22, -23, -24, -25, -26, -27
	SysTgkill, SysKeyctl, SysLandlockCreate, SysLandlockRestr         = -28, -29, -30, -31
	SysOpenat, SysPpoll, SysRecvmsg, SysFtruncate, SysIoctl           = -32, -33, -34, -35, -36
)
