package suites

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Ptrace restrictions (ABI 1, landlock.rst "Ptrace restrictions" and
// "Special filesystems"): to use ptrace(2) and related syscalls on a
// target, a sandboxed process must be in the target's domain or an
// ancestor of it ("the tracee must be in a sub-domain of the tracer").
// PTRACE_ATTACH and PTRACE_TRACEME are refused with EPERM; PTRACE_MODE
// checks of /proc files are refused (EACCES from open), and so are
// process_vm_readv and pidfd_getfd (EPERM). Whatever the domain handles:
// the domains here handle MAKE_DIR only, which no action needs.
//
// Other refusals are kept apart from Landlock's: every target runs as the
// caller's user (no DAC refusal), is checked only once it really runs
// its own program (a target still inside execve has /proc files owned by
// its parent's credentials), Yama's ptrace_scope is read and stated in
// every case's detail (it restricts PTRACE_ATTACH-mode checks and
// PTRACE_TRACEME, never PTRACE_MODE_READ), and an unsandboxed attach to
// an own child is tried first (ptraceBaseline).

var ptracePolicy = landlock.Policy{FS: landlock.FSMakeDir}

// attach attaches to pid, waits for the stop and detaches.
func attach(pid int) error {
	if err := unix.PtraceAttach(pid); err != nil {
		return err
	}
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, unix.WALL, nil)
	return unix.PtraceDetach(pid)
}

// ptraceBaseline is the unsandboxed attach to an own child from a thread
// of this process: when the environment forbids it (Yama, a seccomp
// profile, missing privileges), attach cases say so instead of mistaking
// the refusal for Landlock's.
var ptraceBaseline = sync.OnceValue(func() error {
	res := make(chan error)
	go func() {
		fixture.LockThread() // ptrace ties the tracee to this thread
		defer runtime.UnlockOSThread()
		dir, err := os.MkdirTemp("", "llconform-ptrace-")
		if err != nil {
			res <- err
			return
		}
		defer os.RemoveAll(dir)
		p, err := fixture.StartTarget(dir, fixture.TargetSpec{})
		if err != nil {
			res <- err
			return
		}
		defer p.Kill()
		res <- attach(p.Pid)
	}()
	return <-res
})

// ptraceSkip skips PTRACE_ATTACH-mode cases where Yama or the
// environment forbids them without Landlock.
func ptraceSkip(e check.Env) string {
	switch scope := fixture.YamaPtraceScope(); {
	case scope >= 3:
		return "Yama ptrace_scope=3: PTRACE_ATTACH is disabled for everyone"
	case scope == 2 && !e.Root:
		return "needs root (Yama ptrace_scope=2 requires CAP_SYS_PTRACE)"
	}
	if err := ptraceBaseline(); err != nil {
		return fmt.Sprintf("PTRACE_ATTACH to an own child fails without Landlock here (%s; Yama ptrace_scope=%d)", check.Outcome(err), fixture.YamaPtraceScope())
	}
	return ""
}

// tracemeSkip skips PTRACE_TRACEME cases where Yama refuses it without
// Landlock: ptrace_scope 3 always, 2 unless the parent has CAP_SYS_PTRACE.
func tracemeSkip(e check.Env) string {
	switch scope := fixture.YamaPtraceScope(); {
	case scope >= 3:
		return "Yama ptrace_scope=3: PTRACE_TRACEME is disabled for everyone"
	case scope == 2 && !e.Root:
		return "needs root (Yama ptrace_scope=2: PTRACE_TRACEME needs a tracer with CAP_SYS_PTRACE)"
	}
	return ""
}

// yamaDetail states Yama's setting in a case's detail.
func yamaDetail(t *check.T) {
	if s := fixture.YamaPtraceScope(); s >= 0 {
		t.Logf("Yama ptrace_scope=%d", s)
	} else {
		t.Logf("no Yama")
	}
}

var ptraceCovers = []string{"§3.11", "sec.2"}

func ptraceCase(name string, iso check.Isolation, skip, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "ptrace", Name: name, Isolation: iso, Skip: skip, Want: want, Covers: ptraceCovers,
		Run: func(t *check.T) string { yamaDetail(t); return run(t) }}
}

// ptraceDenied is the outcome of a check Landlock refuses: errno on every
// Landlock kernel (the restriction needs no right), ok without Landlock.
func ptraceDenied(errno string) func(check.Env) string {
	return check.DeniedFrom(check.ABILandlock, errno)
}

// topology is where a target stands relative to the case thread's domain
// when the action happens.
type topology int

const (
	outside   topology = iota // started before the case thread's domain
	same                      // started in the case thread's domain
	nested                    // started in it, then added a layer of its own
	sibling                   // the case thread and the target each added a layer to a common domain
	unrelated                 // started outside, then each added a layer of its own
	fromFree                  // the case thread stays unsandboxed, the target adds a layer
)

var topologyNames = map[topology]string{outside: "outside", same: "same", nested: "nested", sibling: "sibling", unrelated: "unrelated", fromFree: "free"}

// registerIn registers a case of the ptrace rows with its topology.
func registerIn(k topology, c check.Case) {
	check.Register(mirrored(c.Varying(check.Variant{Dim: check.DimTopology, Value: topologyNames[k]}))...)
}

// withTopology enforces on the case thread and starts the target so that
// they stand in topology k, then runs op on the target.
func withTopology(t *check.T, k topology, s fixture.TargetSpec, op func(p *fixture.TinyProc) string) string {
	dir := t.Root() // before any domain: the policy denies MAKE_DIR
	enforce := func() string {
		if err := t.Enforce(ptracePolicy); err != nil {
			return fixture.EnforceFailed(err)
		}
		return ""
	}
	switch k {
	case same, nested, sibling:
		if e := enforce(); e != "" {
			return e
		}
	}
	if k == nested || k == sibling || k == unrelated || k == fromFree {
		s.Layer = fixture.OwnLayer
	}
	p, err := fixture.StartTarget(dir, s)
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	defer fixture.KillFromOutside(p.Kill)
	if e := p.LayerErr(); e != "" && t.Env.State == landlock.Enabled {
		return e
	}
	switch k {
	case outside, sibling, unrelated:
		if e := enforce(); e != "" {
			return e
		}
	}
	return op(p)
}

// The documented outcome of an access from the case thread (the tracer)
// to a target in each topology: allowed where the target is in the
// tracer's domain or beneath it, or where the tracer has no domain.
func tracerWant(k topology, errno string) func(check.Env) string {
	switch k {
	case same, nested, fromFree:
		return check.Allowed
	}
	return ptraceDenied(errno)
}

func init() {
	check.Build(func() { // PTRACE_ATTACH from the case thread to a child in each topology.
		for _, k := range []topology{outside, same, nested, sibling, unrelated, fromFree} {
			k := k
			name := map[topology]string{
				outside:   "attach_to_process_outside_domain_denied",
				same:      "attach_to_process_in_same_domain_allowed",
				nested:    "attach_to_child_in_nested_domain_allowed",
				sibling:   "attach_to_child_in_sibling_domain_denied",
				unrelated: "attach_to_process_in_unrelated_domain_denied",
				fromFree:  "attach_from_unsandboxed_parent_to_sandboxed_child_allowed",
			}[k]
			c := ptraceCase(name, check.Thread, ptraceSkip, tracerWant(k, "EPERM"), func(t *check.T) string {
				return withTopology(t, k, fixture.TargetSpec{}, func(p *fixture.TinyProc) string { return check.Outcome(attach(p.Pid)) })
			})
			registerIn(k, c)
		}

		// PTRACE_TRACEME from the child, whose tracer is the case thread: the
		// child waits until the case thread has its domain.
		traceme := fixture.TargetSpec{WaitGo: true, Results: 1, Action: func(p *tinyasm.Program) {
			p.SysTo(2, tinyasm.SysPtrace, tinyasm.Imm(unix.PTRACE_TRACEME), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
		}}
		for _, k := range []topology{outside, same, nested, sibling, unrelated, fromFree} {
			k := k
			name := map[topology]string{
				outside:   "traceme_to_parent_whose_domain_the_child_is_outside_denied",
				same:      "traceme_in_same_domain_allowed",
				nested:    "traceme_from_nested_domain_allowed",
				sibling:   "traceme_between_sibling_domains_denied",
				unrelated: "traceme_between_unrelated_domains_denied",
				fromFree:  "traceme_from_sandboxed_child_to_unsandboxed_parent_allowed",
			}[k]
			registerIn(k, ptraceCase(name, check.Thread, tracemeSkip, tracerWant(k, "EPERM"), func(t *check.T) string {
				return withTopology(t, k, traceme, func(p *fixture.TinyProc) string {
					if err := p.GoAhead(); err != nil {
						return check.SetupFailed(err)
					}
					r, err := p.Read(1)
					if err != nil {
						return "target: " + err.Error()
					}
					return fixture.Result(r[0])
				})
			}))
		}

		// PTRACE_ATTACH from the child to its parent's case thread. These run
		// in their own process: the tracee is a thread of the case's process,
		// which must not be the VM's init (init ignores SIGSTOP, so the
		// attach would never stop it) and which allows any tracer for Yama
		// (PR_SET_PTRACER, process-wide).
		for _, k := range []topology{same, nested, fromFree, outside} {
			k := k
			name := map[topology]string{
				same:     "child_attach_to_parent_in_same_domain_allowed",
				nested:   "child_in_nested_domain_attach_to_parent_denied",
				fromFree: "sandboxed_child_attach_to_unsandboxed_parent_denied",
				outside:  "unsandboxed_child_attach_to_sandboxed_parent_allowed",
			}[k]
			want := check.Allowed // the tracer is the child here
			if k == nested || k == fromFree {
				want = ptraceDenied("EPERM")
			}
			registerIn(k, ptraceCase(name, check.Process, ptraceSkip, want, func(t *check.T) string {
				unix.Prctl(unix.PR_SET_PTRACER, unix.PR_SET_PTRACER_ANY, 0, 0, 0) // EINVAL without Yama
				tid := unix.Gettid()
				spec := fixture.TargetSpec{WaitGo: true, Results: 3, Action: func(p *tinyasm.Program) {
					p.SetSlot(3, 0)
					p.SetSlot(4, 0)
					p.SysTo(2, tinyasm.SysPtrace, tinyasm.Imm(unix.PTRACE_ATTACH), tinyasm.Imm(tid), tinyasm.Imm(0), tinyasm.Imm(0))
					p.CmpRax(0)
					p.JumpIf(tinyasm.CcNe, "done")
					p.SysTo(3, tinyasm.SysWait4, tinyasm.Imm(tid), tinyasm.Imm(0), tinyasm.Imm(unix.WALL), tinyasm.Imm(0))
					p.SysTo(4, tinyasm.SysPtrace, tinyasm.Imm(unix.PTRACE_DETACH), tinyasm.Imm(tid), tinyasm.Imm(0), tinyasm.Imm(0))
					p.Label("done")
				}}
				return withTopology(t, k, spec, func(p *fixture.TinyProc) string {
					if err := p.GoAhead(); err != nil {
						return check.SetupFailed(err)
					}
					r, err := p.Read(3)
					if err != nil {
						return "target: " + err.Error()
					}
					if r[0] == 0 {
						t.Logf("wait %s, detach %s", fixture.OkOrErr(r[1]), fixture.Result(r[2]))
					}
					return fixture.Result(r[0])
				})
			}))
		}
	})
}

// PTRACE_MODE checks from the case thread on a child outside its domain
// and in it. The /proc files are opened (environ: PTRACE_MODE_READ, mem:
// PTRACE_MODE_ATTACH), memory is read with process_vm_readv and a file
// descriptor taken with pidfd_getfd (both PTRACE_MODE_ATTACH).
type modeCheck struct {
	name, denied string
	attachMode   bool // subject to Yama
	op           func(pid int) error
}

var modeChecks = []modeCheck{
	{"read_environ", "EACCES", false, readEnviron},
	{"open_mem", "EACCES", true, func(pid int) error { return fixture.OpenRead(fmt.Sprintf("/proc/%d/mem", pid)) }},
	{"process_vm_readv", "EPERM", true, vmRead},
	{"pidfd_getfd", "EPERM", true, getfd},
}

func readEnviron(pid int) error { return fixture.OpenRead(fmt.Sprintf("/proc/%d/environ", pid)) }

// vmRead reads 8 bytes of the target's program header.
func vmRead(pid int) error {
	b := make([]byte, 8)
	_, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &b[0], Len: 8}}, []unix.RemoteIovec{{Base: tinyasm.TinyBase, Len: 8}}, 0)
	return err
}

// getfd takes a copy of the target's fd 3.
func getfd(pid int) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pfd)
	fd, err := unix.PidfdGetfd(pfd, 3, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// The capabilities that override the Landlock refusal: newer kernels'
// mm_access() lets a perfmon-capable caller (CAP_PERFMON or CAP_SYS_ADMIN)
// pass PTRACE_MODE_READ checks that ptrace_may_access(), the LSMs
// included, refused. Root's case thread drops them from its effective
// set so that the outcome is Landlock's. It keeps CAP_SYS_PTRACE: without
// it the capability LSM refuses a caller whose effective set is not a
// superset of the target's (root's) permitted set, a refusal of its own
// that a kernel without Landlock shows too.
var bypassCaps = []int{unix.CAP_PERFMON, unix.CAP_SYS_ADMIN}

func init() {
	check.Build(func() {
		for _, m := range modeChecks {
			m := m
			skip := func(check.Env) string { return "" }
			if m.attachMode {
				skip = ptraceSkip
			}
			check.Register(mirrored(
				ptraceCase(m.name+"_of_process_outside_domain_denied", check.Thread, skip, ptraceDenied(m.denied), func(t *check.T) string {
					return withTopology(t, outside, fixture.TargetSpec{}, func(p *fixture.TinyProc) string {
						if t.Env.Root {
							if err := fixture.CapDrop(bypassCaps...); err != nil {
								return check.SetupFailedf("capset: %s", check.Outcome(err))
							}
						}
						return check.Outcome(m.op(p.Pid))
					})
				}),
				ptraceCase(m.name+"_of_process_in_same_domain_allowed", check.Thread, skip, check.Allowed, func(t *check.T) string {
					return withTopology(t, same, fixture.TargetSpec{}, func(p *fixture.TinyProc) string { return check.Outcome(m.op(p.Pid)) })
				}),
			)...)
		}
		// The same check with every capability root has. The documentation
		// promises the domain hierarchy decides (landlock.rst "Special
		// filesystems": sensitive /proc files are restricted by the ptrace
		// restrictions; "Ptrace restrictions": the tracee must be in a
		// sub-domain of the tracer); kernels whose mm_access() lets
		// CAP_PERFMON override the refusal do not keep it for root.
		check.Register(mirrored(ptraceCase("read_environ_of_process_outside_domain_denied_to_root", check.Thread, check.NeedRoot("CAP_PERFMON"), ptraceDenied("EACCES"), func(t *check.T) string {
			return withTopology(t, outside, fixture.TargetSpec{}, func(p *fixture.TinyProc) string {
				o := check.Outcome(readEnviron(p.Pid))
				if o == check.OK {
					t.Logf("opened by a perfmon-capable caller: mm_access() lets CAP_PERFMON (or CAP_SYS_ADMIN) pass PTRACE_MODE_READ checks that ptrace_may_access() refused, the Landlock refusal included (kernel change \"mm,procfs: allow read-only remote mm access under CAP_PERFMON\"; not in Debian 6.12, in 6.18 and later); the same open without those capabilities is refused (read_environ_of_process_outside_domain_denied)")
				}
				return o
			})
		}).Deviating(check.ChangePerfmonProcAccess.Observed(check.OK)))...)
	})
}
