package tinyasm

import "golang.org/x/sys/unix"

// The calls of the tiny programs that arm64 lacks (sysnr.go has the rest).
const (
	SysOpen  = unix.SYS_OPEN
	SysPause = unix.SYS_PAUSE
	SysFork  = unix.SYS_FORK
)
