package suites

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Ptrace restrictions (ABI 1, landlock.rst "Ptrace restrictions"): a
// sandboxed tracer must have a superset of the tracee's restrictions, so
// it cannot PTRACE_ATTACH to a process outside its domain (EPERM) nor
// pass PTRACE_MODE_READ checks such as opening /proc/<pid>/environ
// (EACCES), whatever the domain handles; a process in the same domain
// stays traceable. The domains here handle MAKE_DIR only, which no action
// of these cases needs. The cases run in their own process: ptrace
// concerns the whole tracer.

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
		runtime.LockOSThread() // ptrace ties the tracee to this thread
		defer runtime.UnlockOSThread()
		dir, err := os.MkdirTemp("", "llconform-ptrace-")
		if err != nil {
			res <- err
			return
		}
		defer os.RemoveAll(dir)
		pid, kill, err := sleeperIn(dir)
		if err != nil {
			res <- err
			return
		}
		defer kill()
		res <- attach(pid)
	}()
	return <-res
})

func ptraceSkip(e Env) string {
	switch scope := yamaPtraceScope(); {
	case scope >= 3:
		return "Yama ptrace_scope=3: PTRACE_ATTACH is disabled for everyone"
	case scope == 2 && !e.Root:
		return "needs root (Yama ptrace_scope=2 requires CAP_SYS_PTRACE)"
	}
	if err := ptraceBaseline(); err != nil {
		return fmt.Sprintf("PTRACE_ATTACH to an own child fails without Landlock here (%s; Yama ptrace_scope=%d)", Outcome(err), yamaPtraceScope())
	}
	return ""
}

func ptraceCase(name string, skip, want func(Env) string, run func(t *T) string) Case {
	return Case{Area: "ptrace", Name: name, Isolation: Process, Skip: skip, Want: want, Run: run}
}

// withTarget starts a target process before (outside) or after (inside)
// enforcing the ptrace policy and runs op on its pid.
func withTarget(t *T, inside bool, op func(pid int) error) string {
	if inside {
		if err := t.Enforce(ptracePolicy); err != nil {
			return enforceFailed(err)
		}
	}
	pid, kill, err := sleeper(t)
	if err != nil {
		return "setup failed: " + Outcome(err)
	}
	defer killFromOutside(kill)
	if !inside {
		if err := t.Enforce(ptracePolicy); err != nil {
			return enforceFailed(err)
		}
	}
	return Outcome(op(pid))
}

func readEnviron(pid int) error { return openRead(fmt.Sprintf("/proc/%d/environ", pid)) }

func init() {
	register(
		ptraceCase("attach_to_process_outside_domain_denied", ptraceSkip, deniedFrom(abiLandlock, "EPERM"), func(t *T) string {
			return withTarget(t, false, attach)
		}),
		ptraceCase("attach_to_process_in_same_domain_allowed", ptraceSkip, allowed, func(t *T) string {
			return withTarget(t, true, attach)
		}),
		// PTRACE_MODE_READ is not subject to Yama.
		ptraceCase("read_environ_of_process_in_same_domain_allowed", nil, allowed, func(t *T) string {
			return withTarget(t, true, readEnviron)
		}),
	)
}
