package tinyasm

// arm64 has no open, fork or pause (sysnr.go has the calls it has): the
// programs name them by pseudo numbers, which the arm64 assembler turns
// into openat(AT_FDCWD, ...), clone(SIGCHLD, 0, ...) and
// ppoll(NULL, 0, NULL, NULL, 0).
const (
	SysOpen  = pseudoOpen
	SysPause = pseudoPause
	SysFork  = pseudoFork
)
