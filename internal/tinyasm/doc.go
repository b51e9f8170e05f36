// Package tinyasm assembles tiny static programs at run time for this
// machine (x86-64 in asm.go; arm64 in asm_aarch64.go, which asm.go hands
// every instruction over to). The security cases
// need processes that are single-threaded (KEYCTL_SESSION_TO_PARENT),
// that act on exactly one thread (PTRACE_TRACEME, signals, ptrace of a
// parent), that add their own Landlock layer, and that start in a few
// milliseconds under TCG, which a second Go runtime cannot. A program is
// a list of system calls whose arguments are immediates, read-only data,
// or 8-byte slots on its stack; results go to slots and are reported on
// a pipe.
package tinyasm
