package suites

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Real signals under SCOPE_SIGNAL (ABI 6, landlock.rst "IPC scoping":
// signals reach only processes of the same or a nested domain). Every
// probe sends SIGUSR1, SIGIO or SIGURG to a target that blocks them, and
// checks delivery, not only the sender's errno: a delivered signal stays
// pending and shows in the target's /proc/<pid>/task/<tid>/status (or is
// taken with sigtimedwait by a thread of this process); a refused one is
// never queued. F_SETOWN owners are checked when the signal is sent and
// refused silently: there only delivery tells.

var signalCovers = []string{"§3.10", "§6.13", "sec.3"}

const blocked = unix.SIGUSR1

// sigTarget blocks the three signals these cases send.
var sigTarget = fixture.TargetSpec{Block: fixture.SigBit(unix.SIGUSR1) | fixture.SigBit(unix.SIGIO) | fixture.SigBit(unix.SIGURG)}

// pendingOf names whether sig is pending for the target's main thread or
// its process.
func pendingOf(pid int, sig unix.Signal) string {
	th, sh, err := fixture.PendingSignals(pid, pid)
	if err != nil {
		return "status: " + check.Outcome(err)
	}
	if (th|sh)&fixture.SigBit(sig) != 0 {
		return "yes"
	}
	return "no"
}

// sendOutcome is the observation of a send: the call's outcome and
// whether the signal was delivered.
func sendOutcome(err error, pending string) string {
	return check.Steps(check.Did("send", err), check.Saw("pending", pending))
}

// delivered and refused are the two documented observations.
var (
	delivered = sendOutcome(nil, "yes")
	refused   = sendOutcome(unix.EPERM, "no")
)

// isDelivered and fownDelivered expect delivery on every kernel (the
// library enforces nothing where Landlock is missing).
func isDelivered(check.Env) string   { return delivered }
func fownDelivered(check.Env) string { return fownOutcome("yes") }

// scopedSend is the expectation of a send to a process outside a domain
// the library scoped: refused from the scope's ABI, delivered before.
func scopedSend(e check.Env) string {
	if e.LibABI() >= check.ABIScoped {
		return refused
	}
	return delivered
}

// sendMethod sends SIGUSR1 to a process (to its main thread for the
// thread-directed calls).
type sendMethod struct {
	name string
	send func(pid int) error
}

// sigqueueInfo is a siginfo that passes the kernel's check for
// rt_sigqueueinfo to another process (si_code SI_QUEUE, negative).
func sigqueueInfo(sig unix.Signal) *unix.Siginfo {
	return &unix.Siginfo{Signo: int32(sig), Code: -1}
}

var sendMethods = []sendMethod{
	{"kill", func(pid int) error { return unix.Kill(pid, blocked) }},
	{"tgkill", func(pid int) error { return unix.Tgkill(pid, pid, blocked) }},
	{"tkill", func(pid int) error {
		_, _, e := unix.Syscall(unix.SYS_TKILL, uintptr(pid), uintptr(blocked), 0)
		return fixture.RawErr(e)
	}},
	{"rt_sigqueueinfo", func(pid int) error {
		_, _, e := unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(pid), uintptr(blocked), uintptr(unsafe.Pointer(sigqueueInfo(blocked))))
		return fixture.RawErr(e)
	}},
	{"rt_tgsigqueueinfo", func(pid int) error {
		_, _, e := unix.Syscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(pid), uintptr(pid), uintptr(blocked), uintptr(unsafe.Pointer(sigqueueInfo(blocked))), 0, 0)
		return fixture.RawErr(e)
	}},
	{"pidfd_send_signal", func(pid int) error {
		pfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return fmt.Errorf("pidfd_open: %w", err)
		}
		defer unix.Close(pfd)
		return unix.PidfdSendSignal(pfd, blocked, nil, 0)
	}},
}

func sigCase(name string, iso check.Isolation, skip, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "scope", Name: "signal/" + name, Isolation: iso, Skip: skip, Want: want, Covers: signalCovers, Run: run}
}

// signalTopology starts a signal target in topology k relative to the
// case thread's domain, scoped for signals, and runs op on it.
func signalTopology(t *check.T, k topology, op func(p *fixture.TinyProc) string) string {
	dir := t.Root()
	enforce := func() error { return t.Enforce(signalScoped) }
	if k == same || k == nested || k == sibling {
		if err := enforce(); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	s := sigTarget
	if k == nested || k == sibling || k == unrelated {
		s.Layer = fixture.OwnLayer
	}
	p, err := fixture.StartTarget(dir, s)
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	defer fixture.KillFromOutside(p.Kill)
	if e := p.LayerErr(); e != "" && t.Env.ABI >= check.ABILandlock {
		return e
	}
	if k == outside || k == sibling || k == unrelated {
		if err := enforce(); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	return op(p)
}

func init() {
	check.Build(func() {
		for _, m := range sendMethods {
			m := m
			check.Register(mirrored(
				sigCase(m.name+"/to_process_outside_domain_not_delivered", check.Thread, nil, scopedSend, func(t *check.T) string {
					return signalTopology(t, outside, func(p *fixture.TinyProc) string { return sendOutcome(m.send(p.Pid), pendingOf(p.Pid, blocked)) })
				}),
				sigCase(m.name+"/to_child_in_same_domain_delivered", check.Thread, nil, isDelivered, func(t *check.T) string {
					return signalTopology(t, same, func(p *fixture.TinyProc) string { return sendOutcome(m.send(p.Pid), pendingOf(p.Pid, blocked)) })
				}),
			)...)
		}
		send := func(k topology) func(t *check.T) string {
			return func(t *check.T) string {
				return signalTopology(t, k, func(p *fixture.TinyProc) string {
					return sendOutcome(unix.Kill(p.Pid, blocked), pendingOf(p.Pid, blocked))
				})
			}
		}
		check.Register(mirrored(
			sigCase("kill/to_child_in_nested_domain_delivered", check.Thread, nil, isDelivered, send(nested)),
			sigCase("kill/to_child_in_sibling_domain_not_delivered", check.Thread, nil, scopedSend, send(sibling)),
			sigCase("kill/to_process_in_unrelated_domain_not_delivered", check.Thread, nil, scopedSend, send(unrelated)),
		)...)
	})
}

// Signals from a child to a thread of its parent, the case thread, which
// blocks SIGUSR1 and takes it with sigtimedwait: delivered where the
// parent is in the child's domain or beneath it. In their own process:
// signals are for the case thread of a process that is not the VM's init.
func init() {
	check.Build(func() {
		scopedChild := &fixture.LayerSpec{Scoped: uint64(unix.LANDLOCK_SCOPE_SIGNAL)}
		// refusedFromScope: the child's own scoped layer (a raw syscall)
		// exists from the scope's ABI.
		refusedFromScope := check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABIScoped {
				return refused
			}
			return delivered
		})
		noDomain := func(e check.Env) string { return delivered }
		rows := []struct {
			name          string
			layer         *fixture.LayerSpec
			want          func(check.Env) string
			parentEnforce bool
		}{
			// The child adds a layer scoping signals: its parent is outside.
			{"from_scoped_child_to_unsandboxed_parent_not_delivered", scopedChild, refusedFromScope, false},
			// The child is in its parent's scoped domain.
			{"from_child_to_parent_in_same_domain_delivered", nil, noDomain, true},
			// The child nests a layer that scopes nothing: its parent's
			// domain is still its scope.
			{"from_unscoped_nested_child_to_parent_delivered", fixture.OwnLayer, noDomain, true},
			// The child nests a layer scoping signals under its parent's.
			{"from_scoped_nested_child_to_parent_not_delivered", scopedChild, refusedFromScope, true},
		}
		for _, r := range rows {
			r := r
			want := func(e check.Env) string {
				if _, ok := check.NoLandlock(e); ok {
					return delivered // no domain anywhere
				}
				return r.want(e)
			}
			check.Register(mirrored(sigCase("tgkill/"+r.name, check.Process, nil, want, func(t *check.T) string {
				dir := t.Root()
				if err := blockOnThread(blocked); err != nil {
					return check.SetupFailedf("sigprocmask: %s", check.Outcome(err))
				}
				if r.parentEnforce {
					if err := t.Enforce(signalScoped); err != nil {
						return fixture.EnforceFailed(err)
					}
				}
				pid, tid := unix.Getpid(), unix.Gettid()
				s := fixture.TargetSpec{Layer: r.layer, Results: 1, Action: func(p *tinyasm.Program) {
					p.SysTo(2, tinyasm.SysTgkill, tinyasm.Imm(pid), tinyasm.Imm(tid), tinyasm.Imm(int(blocked)))
				}}
				p, err := fixture.StartTarget(dir, s)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer fixture.KillFromOutside(p.Kill)
				if e := p.LayerErr(); e != "" && t.Env.State == landlock.Enabled && (r.layer.Scoped == 0 || t.Env.ABI >= check.ABIScoped) {
					return e
				}
				res, err := p.Read(1)
				if err != nil {
					return "target: " + err.Error()
				}
				return check.Steps(check.Saw("send", fixture.Result(res[0])), check.Saw("pending", takePending(blocked)))
			}))...)
		}
	})
}

// blockOnThread blocks sig on the calling thread (which dies with the
// case).
func blockOnThread(sig unix.Signal) error {
	set := fixture.SigBit(sig)
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	return fixture.RawErr(e)
}

// takePending takes sig if it is pending for the calling thread (or its
// process), without waiting.
func takePending(sig unix.Signal) string {
	set := fixture.SigBit(sig)
	var ts unix.Timespec
	r, _, e := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&set)), 0, uintptr(unsafe.Pointer(&ts)), 8, 0, 0)
	switch {
	case e == unix.EAGAIN:
		return "no"
	case e != 0:
		return "sigtimedwait: " + check.Outcome(e)
	case unix.Signal(r) == sig:
		return "yes"
	}
	return fmt.Sprintf("sigtimedwait: signal %d", r)
}

// blockingThread starts a locked thread that blocks sig and serves
// requests to take it: the target of thread-directed signals within this
// process. Its thread is never unlocked, so it dies with it.
type blockingThread struct {
	tid  int
	take chan chan string
}

func startBlockingThread(sig unix.Signal) (*blockingThread, error) {
	b := &blockingThread{take: make(chan chan string)}
	ready := make(chan error)
	go func() {
		fixture.LockThread()
		if err := blockOnThread(sig); err != nil {
			ready <- err
			return
		}
		b.tid = unix.Gettid()
		ready <- nil
		for reply := range b.take {
			reply <- takePending(sig)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return b, nil
}

func (b *blockingThread) pending() string {
	r := make(chan string)
	b.take <- r
	return <-r
}

func (b *blockingThread) stop() { close(b.take) }

// Threads of one process may always signal each other (erratum 2), with
// real signals: a sibling thread outside the domain, and a case thread
// whose domain was set after it took other credentials than its sibling.
func init() {
	check.Build(func() {
		check.Register(mirrored(sigCase("tgkill/to_sibling_thread_outside_domain_delivered", check.Thread, nil, isDelivered, func(t *check.T) string {
			b, err := startBlockingThread(blocked)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer b.stop()
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			err = unix.Tgkill(unix.Getpid(), b.tid, blocked)
			return sendOutcome(err, b.pending())
		}).Deviating(check.UnfixedErratum(2, refused)))...)
		check.Register(mirrored(sigCase("tgkill/from_thread_with_other_uid_to_sibling_thread_delivered", check.Thread, check.NeedRoot("CAP_SETUID"), isDelivered, func(t *check.T) string {
			b, err := startBlockingThread(blocked)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer b.stop()
			// This thread only (a raw setresuid): the sibling stays root.
			if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
				return check.SetupFailedf("setresuid: %s", check.Outcome(e))
			}
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			err = unix.Tgkill(unix.Getpid(), b.tid, blocked)
			return sendOutcome(err, b.pending())
		}).Deviating(check.UnfixedErratum(2, refused)))...)
	})
}

// F_SETOWN and F_SETOWN_EX: the owner's domain is recorded when it is
// set, and SIGIO (I/O on an O_ASYNC socket) or SIGURG (out-of-band data)
// is silently not delivered to an owner outside it. The target leads its
// own process group, so that a process-group owner reaches it alone.

// ownerKind sets a socket's owner to the target.
type ownerKind struct {
	name string
	set  func(fd, pid int) error
}

const (
	fOwnerTID  = 0 // F_OWNER_TID
	fOwnerPID  = 1 // F_OWNER_PID
	fOwnerPGRP = 2 // F_OWNER_PGRP
)

func setOwnerEx(fd, typ, pid int) error {
	ex := struct{ typ, pid int32 }{int32(typ), int32(pid)}
	_, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SETOWN_EX, uintptr(unsafe.Pointer(&ex)))
	return fixture.RawErr(e)
}

var ownerKinds = []ownerKind{
	{"f_setown_process", func(fd, pid int) error { _, err := unix.FcntlInt(uintptr(fd), unix.F_SETOWN, pid); return err }},
	{"f_setown_process_group", func(fd, pid int) error { _, err := unix.FcntlInt(uintptr(fd), unix.F_SETOWN, -pid); return err }},
	{"f_setown_ex_pid", func(fd, pid int) error { return setOwnerEx(fd, fOwnerPID, pid) }},
	{"f_setown_ex_pgrp", func(fd, pid int) error { return setOwnerEx(fd, fOwnerPGRP, pid) }},
	{"f_setown_ex_tid", func(fd, pid int) error { return setOwnerEx(fd, fOwnerTID, pid) }},
}

// unixOOB reports whether AF_UNIX stream sockets carry out-of-band data
// (CONFIG_AF_UNIX_OOB).
var unixOOB = sync.OnceValue(func() error {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sp[0])
	defer unix.Close(sp[1])
	return unix.Sendto(sp[1], []byte("x"), unix.MSG_OOB, nil)
})

func noUnixOOB(check.Env) string {
	if err := unixOOB(); err != nil {
		return "no out-of-band data on AF_UNIX sockets in this kernel (CONFIG_AF_UNIX_OOB; send: " + check.Outcome(err) + ")"
	}
	return ""
}

// fownTrigger makes the owned socket signal its owner.
type fownTrigger struct {
	sig  unix.Signal
	skip func(check.Env) string
	// prep prepares the owned socket; fire acts on its peer.
	prep func(owned int) error
	fire func(peer int) error
}

var fownTriggers = []fownTrigger{
	{unix.SIGIO, nil,
		func(owned int) error { _, err := unix.FcntlInt(uintptr(owned), unix.F_SETFL, unix.O_ASYNC); return err },
		func(peer int) error { _, err := unix.Write(peer, []byte("x")); return err }},
	{unix.SIGURG, noUnixOOB,
		func(int) error { return nil },
		func(peer int) error { return unix.Sendto(peer, []byte("x"), unix.MSG_OOB, nil) }},
}

// fownSend sets the owner of a socket (before or after the case thread
// enforces the signal scope, with the target outside or inside the
// domain), makes the socket signal it, and observes delivery.
func fownSend(t *check.T, tr fownTrigger, o ownerKind, k topology, ownerBefore bool, scope func() error) string {
	dir := t.Root()
	if k == same {
		if err := scope(); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	p, err := fixture.StartProgram(dir, sigTarget.Program(), true)
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	defer fixture.KillFromOutside(p.Kill)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(sp[0])
	defer unix.Close(sp[1])
	if err := tr.prep(sp[0]); err != nil {
		return check.SetupFailed(err)
	}
	var setErr error
	if ownerBefore {
		setErr = o.set(sp[0], p.Pid)
	}
	if k == outside {
		if err := scope(); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	if !ownerBefore {
		setErr = o.set(sp[0], p.Pid)
	}
	if err := tr.fire(sp[1]); err != nil {
		return check.SetupFailedf("trigger: %s", check.Outcome(err))
	}
	return check.Steps(check.Did("setown", setErr), check.Saw("pending", pendingOf(p.Pid, tr.sig)))
}

func fownOutcome(pending string) string { return "setown=ok pending=" + pending }

func init() {
	check.Build(func() {
		scope := func(t *check.T) func() error { return func() error { return t.Enforce(signalScoped) } }
		for _, tr := range fownTriggers {
			tr := tr
			sig := map[unix.Signal]string{unix.SIGIO: "sigio", unix.SIGURG: "sigurg"}[tr.sig]
			for i, o := range ownerKinds {
				o := o
				check.Register(mirrored(sigCase(sig+"/"+o.name+"_outside_domain_not_delivered", check.Thread, tr.skip, func(e check.Env) string {
					if e.LibABI() >= check.ABIScoped {
						return fownOutcome("no")
					}
					return fownOutcome("yes")
				}, func(t *check.T) string { return fownSend(t, tr, o, outside, false, scope(t)) }))...)
				if i < 2 {
					check.Register(mirrored(sigCase(sig+"/"+o.name+"_in_same_domain_delivered", check.Thread, tr.skip, fownDelivered, func(t *check.T) string {
						return fownSend(t, tr, o, same, false, scope(t))
					}))...)
				}
			}
			// The owner's domain is the one of the thread that set it: set
			// before the scope, it reaches the target outside.
			check.Register(mirrored(sigCase(sig+"/owner_set_before_scope_delivered", check.Thread, tr.skip, fownDelivered, func(t *check.T) string {
				return fownSend(t, tr, ownerKinds[0], outside, true, scope(t))
			}))...)
		}
		// The abstract-socket scope does not concern signals.
		check.Register(sigCase("sigio/abstract_scope_does_not_restrict", check.Thread, nil, fownDelivered, func(t *check.T) string {
			return fownSend(t, fownTriggers[0], ownerKinds[0], outside, false, func() error { return t.Enforce(abstractScoped) })
		}))
	})
}
