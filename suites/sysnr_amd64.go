package suites

import "golang.org/x/sys/unix"

// The calls of the tiny programs that arm64 lacks (sysnr.go has the rest).
const (
	sysOpen  = unix.SYS_OPEN
	sysPause = unix.SYS_PAUSE
	sysFork  = unix.SYS_FORK
)
