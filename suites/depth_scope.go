package suites

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// SIGIO to a process group under SCOPE_SIGNAL (landlock.rst "IPC
// scoping"; errata/abi-6.h, erratum 2). The owner of an O_ASYNC file is
// recorded with the domain of the thread that set it; when the owner is a
// process group, the kernel signals each member's thread-group leader and
// must check each one against that domain: a member outside it is not
// signalled, a member inside it is, and the owner's own process always is
// (threads of one process may always signal each other).
//
// Both cases observe delivery without waiting for time to pass where they
// can: the group's other members are tiny programs that block SIGIO, so a
// delivered signal is pending in their status when the write that raised
// it returns (kill_fasync runs inside the write). The caller's own
// process cannot block it on every Go thread; it takes it through
// os/signal, and only a lost signal waits for the time-out.

// sigioOwnProcessTimeout bounds the wait for a SIGIO to the caller's own
// process: reached only when the kernel did not deliver it.
const sigioOwnProcessTimeout = 5 * time.Second

// asyncPipe is a pipe whose read end raises SIGIO on input for the owner
// set by setOwner, called on the calling thread.
func asyncPipe(t *check.T, setOwner func(fd int) error) (w int, setErr error, setup string) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return -1, nil, check.SetupFailedf("pipe: %s", check.Outcome(err))
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	setErr = setOwner(p[0])
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_SETFL, unix.O_ASYNC); err != nil {
		return -1, setErr, check.SetupFailedf("O_ASYNC: %s", check.Outcome(err))
	}
	return p[1], setErr, ""
}

func setOwnerPgrp(pgid int) func(fd int) error {
	return func(fd int) error { _, err := unix.FcntlInt(uintptr(fd), unix.F_SETOWN, -pgid); return err }
}

// sigioPgrpMembers: a group led by an unsandboxed target M, joined by a
// target N started inside the caller's domain, then by the caller's own
// process, which is so the most recent member (the head of the group's
// list, where the unfixed kernel took the owner for itself and recorded no
// domain). The caller's thread, scoped for signals, makes the group own a
// pipe and writes to it.
func sigioPgrpMembers(t *check.T) string {
	dir := t.Root()
	m, err := fixture.StartProgram(dir, sigTarget.Program(), true)
	if err != nil {
		return check.SetupFailedf("outside member: %v", err)
	}
	defer fixture.KillFromOutside(m.Kill)
	if err := t.Enforce(signalScoped); err != nil {
		return fixture.EnforceFailed(err)
	}
	n, err := fixture.StartProgramAttr(dir, sigTarget.Program(), &syscall.SysProcAttr{Setpgid: true, Pgid: m.Pid})
	if err != nil {
		return check.SetupFailedf("inside member: %v", err)
	}
	defer fixture.KillFromOutside(n.Kill)
	if err := unix.Setpgid(0, m.Pid); err != nil {
		return check.SetupFailedf("join the group: %s", check.Outcome(err))
	}
	w, setErr, setup := asyncPipe(t, setOwnerPgrp(m.Pid))
	if setup != "" {
		return setup
	}
	if _, err := unix.Write(w, []byte("x")); err != nil {
		return check.SetupFailedf("write: %s", check.Outcome(err))
	}
	return pairs("setown", check.Outcome(setErr), "outside_member", pendingOf(m.Pid, unix.SIGIO), "inside_member", pendingOf(n.Pid, unix.SIGIO))
}

// sigioPgrpSelf: the caller's process leads a group of its own; a thread
// other than the leader scopes itself for signals and makes the group own
// a pipe. The signal goes to the leader, outside that thread's domain but
// in its process: it must arrive.
func sigioPgrpSelf(t *check.T) string {
	return fixture.OffMainThread(func() string {
		if err := unix.Setpgid(0, 0); err != nil {
			return check.SetupFailedf("own group: %s", check.Outcome(err))
		}
		got := make(chan os.Signal, 1)
		signal.Notify(got, unix.SIGIO)
		defer signal.Stop(got)
		if err := t.Enforce(signalScoped); err != nil {
			return fixture.EnforceFailed(err)
		}
		w, setErr, setup := asyncPipe(t, setOwnerPgrp(unix.Getpgrp()))
		if setup != "" {
			return setup
		}
		if _, err := unix.Write(w, []byte("x")); err != nil {
			return check.SetupFailedf("write: %s", check.Outcome(err))
		}
		self := "yes"
		select {
		case <-got:
		case <-time.After(sigioOwnProcessTimeout):
			self = "no"
		}
		return pairs("setown", check.Outcome(setErr), "self", self)
	})
}

func init() {
	check.Build(func() {
		unfixed := "setown=ok outside_member=yes inside_member=yes"
		check.Register(
			sigCase("sigio/f_setown_own_process_group_skips_members_outside_domain", check.Process, nil, func(e check.Env) string {
				if e.LibABI() >= check.ABIScoped {
					return "setown=ok outside_member=no inside_member=yes"
				}
				return unfixed
			}, sigioPgrpMembers).Deviating(func(e check.Env) []check.Deviation {
				if e.LibABI() < check.ABIScoped {
					return nil
				}
				return check.FixSigioPgrp.Without(unfixed)(e)
			}).Covering("§6.10").Mirroring("scoped_signal_test.c:sigio_to_pgid_members"),
			sigCase("sigio/f_setown_own_process_group_from_scoped_thread_reaches_own_leader", check.Process, nil,
				constant("setown=ok self=yes"), sigioPgrpSelf).
				Deviating(check.UnfixedErratum(2, "setown=ok self=no")).Covering("§6.4").
				Mirroring("scoped_signal_test.c:sigio_to_pgid_self"),
		)
	})
}
