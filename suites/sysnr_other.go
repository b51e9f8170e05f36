//go:build !amd64 && !arm64

package suites

// The tiny programs exist for amd64 and arm64 only: these numbers are no
// system calls, they keep the package building elsewhere (the cases that
// run tiny programs fail there).
const (
	sysRead, sysWrite, sysOpen, sysClose, sysRtSigprocmask, sysPause  = -10, -11, -12, -13, -14, -15
	sysGetpid, sysClone, sysFork, sysExit, sysWait4, sysKill          = -16, -17, -18, -19, -20, -21
	sysPtrace, sysGetppid, sysPrctl, sysTkill, sysFutex, sysExitGroup = -22, -23, -24, -25, -26, -27
	sysTgkill, sysKeyctl, sysLandlockCreate, sysLandlockRestr         = -28, -29, -30, -31
	sysOpenat, sysPpoll, sysRecvmsg, sysFtruncate, sysIoctl           = -32, -33, -34, -35, -36
)
