package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// A sandboxed tracer cannot attach to a process outside its domain
// (EPERM), whatever the domain handles (ABI 1). The case runs in its own
// process: ptrace attaches the whole tracer thread group.
func init() {
	register(Case{Area: "ptrace", Name: "attach_to_process_outside_domain_denied", Isolation: Process,
		Want: deniedFrom(1, "EPERM"), Run: func(t *T) string {
			pid, kill, err := sleeper(t)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer kill()
			if err := t.Enforce(landlock.Policy{FS: landlock.FSReadFile}); err != nil {
				return enforceFailed(err)
			}
			err = unix.PtraceAttach(pid)
			if err == nil {
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, 0, nil)
				unix.PtraceDetach(pid)
			}
			return Outcome(err)
		}})
}
