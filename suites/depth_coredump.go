package suites

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The coredump socket (kernel.core_pattern "@/path", Linux 6.16): the
// kernel connects to a listening pathname UNIX socket on behalf of a
// crashing process and writes the core dump there. RESOLVE_UNIX
// (landlock.h) restricts "calls to connect(2)" and sendmsg(2) of the
// sandboxed process; the dump is no call of the process, and the
// kernel exempts its connection explicitly (SOCK_COREDUMP). The case
// holds both sides: the sandboxed thread's own connect(2) to the socket
// is denied, while a process it starts, crashing, still reaches the
// same socket with its core dump.

const corePattern = "/proc/sys/kernel/core_pattern"

// coredumpSkip: setting kernel.core_pattern needs EUID 0, and the
// kernel must offer the socket mode (kernel.core_modes lists it).
func coredumpSkip(e check.Env) string {
	if !e.Root {
		return "needs root (kernel.core_pattern is writable by EUID 0 only)"
	}
	b, err := os.ReadFile("/proc/sys/kernel/core_modes")
	if err != nil {
		return "no core dumps to a socket: kernel.core_modes unreadable (" + check.Outcome(err) + ")"
	}
	if !slices.Contains(strings.Fields(string(b)), "socket") {
		return fmt.Sprintf("no core dumps to a socket: kernel.core_modes is %q", strings.TrimSpace(string(b)))
	}
	return ""
}

// crashProgram unblocks every signal (a blocked SIGSEGV would stay
// pending) and sends itself SIGSEGV, whose default action dumps core.
func crashProgram() []byte {
	p := tinyasm.New()
	p.SetSlot(0, 0)
	p.Sys(tinyasm.SysRtSigprocmask, tinyasm.Imm(unix.SIG_SETMASK), tinyasm.SlotAddr(0), tinyasm.Imm(0), tinyasm.Imm(8))
	p.SysTo(1, tinyasm.SysGetpid)
	p.Sys(tinyasm.SysKill, tinyasm.SlotVal(1), tinyasm.Imm(int64(unix.SIGSEGV)))
	p.ExitGroup(tinyasm.Imm(1))
	return p.Bytes()
}

func coredumpRun(t *check.T) string {
	sock := t.Path("core.sock")
	srv, err := fixture.UnixServer(sock, unix.SOCK_STREAM)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(srv)
	crash := t.Path("crash")
	if err := os.WriteFile(crash, crashProgram(), 0o755); err != nil {
		return check.SetupFailed(err)
	}
	old, err := os.ReadFile(corePattern)
	if err != nil {
		return check.SetupFailed(err)
	}
	if err := os.WriteFile(corePattern, []byte("@"+sock), 0); err != nil {
		return check.SetupFailedf("set kernel.core_pattern: %s", check.Outcome(err))
	}
	defer os.WriteFile(corePattern, bytes.TrimSuffix(old, []byte("\n")), 0)

	if err := fixture.EnforceFS(t, landlock.FSResolveUnix); err != nil {
		return fixture.EnforceFailed(err)
	}
	connect := fixture.UnixConnect(sock, unix.SOCK_STREAM)
	if connect == nil {
		// Allowed (no RESOLVE_UNIX in this ABI): take the connection off
		// the queue, so that the next one is the dump's.
		c, _, err := unix.Accept4(srv, unix.SOCK_CLOEXEC)
		if err != nil {
			return check.SetupFailed(err)
		}
		unix.Close(c)
	}
	pid, err := syscall.ForkExec(crash, []string{"crash"}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		return check.SetupFailedf("start the crashing program: %v", err)
	}
	dump, exit := awaitCoreDump(srv, pid)
	return check.Steps(check.Did("connect", connect), check.Saw("dump", dump), check.Saw("exit", exit))
}

// awaitCoreDump waits for whichever comes first: a connection on the
// server or the end of the crashing process. The kernel connects before
// the process ends, so a process gone without a pending connection sent
// no dump. It reads the dump, then reaps the process.
func awaitCoreDump(srv, pid int) (dump, exit string) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		dump = "pidfd_open: " + check.Outcome(err)
	} else {
		defer unix.Close(pidfd)
		fds := []unix.PollFd{{Fd: int32(srv), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		for {
			if _, err = unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		switch {
		case err != nil:
			dump = "poll: " + check.Outcome(err)
		case fds[0].Revents&unix.POLLIN != 0:
			dump = readCoreDump(srv, pid)
		default:
			dump = "none"
		}
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return dump, "wait4: " + check.Outcome(err)
	}
	switch {
	case ws.Signaled() && ws.CoreDump():
		exit = unix.SignalName(ws.Signal()) + "+core"
	case ws.Signaled():
		exit = unix.SignalName(ws.Signal())
	default:
		exit = fmt.Sprintf("status %d", ws.ExitStatus())
	}
	return dump, exit
}

// readCoreDump accepts the dump's connection and reads it to the end:
// an ELF core from the crashing process, or what else came.
func readCoreDump(srv, pid int) string {
	c, _, err := unix.Accept4(srv, unix.SOCK_CLOEXEC)
	if err != nil {
		return "accept: " + check.Outcome(err)
	}
	defer unix.Close(c)
	cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return "SO_PEERCRED: " + check.Outcome(err)
	}
	var head []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(c, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "read: " + check.Outcome(err)
		}
		if n == 0 {
			break
		}
		if len(head) < 4 {
			head = append(head, buf[:min(n, 4-len(head))]...)
		}
	}
	if int(cred.Pid) != pid {
		return fmt.Sprintf("from pid %d, not the crashing %d", cred.Pid, pid)
	}
	if !bytes.Equal(head, []byte("\x7fELF")) {
		return fmt.Sprintf("not an ELF core (%q)", head)
	}
	return "elf_from_child"
}

func coredumpWant(e check.Env) string {
	connect := check.OK
	if e.LibABI() >= check.ABIResolveUnix {
		connect = "EACCES"
	}
	return check.Steps(check.Saw("connect", connect), check.Saw("dump", "elf_from_child"), check.Saw("exit", "SIGSEGV+core"))
}

func init() {
	check.Build(func() {
		check.Register(check.Case{Area: "resolveunix", Name: "coredump_socket_not_restricted",
			Skip: coredumpSkip, Want: coredumpWant, Covers: []string{"sec.5", "§3.10"}, Run: coredumpRun}.
			Mirroring("fs_test.c:coredump.socket_not_restricted"))
	})
}
