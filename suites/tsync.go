package suites

import (
	"fmt"
	"runtime"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// TSYNC (ABI 8): restrict_self with TSYNC puts every thread of the process
// in the new domain (and passes no_new_privs on); without it only the
// calling thread is restricted. The cases run in their own process,
// since TSYNC reaches every thread of it.

// tsyncCase creates a ruleset from attr, starts a sibling thread,
// restricts with flags and returns the sibling's outcome of op.
func tsyncCase(name string, want func(Env) string, attr []byte, flags uint32, op func(t *T) string) Case {
	return Case{Area: "tsync", Name: name, Isolation: Process, Want: want, Run: func(t *T) string {
		t.files("f")
		s := startSibling()
		if flags&tsyncFlag != 0 {
			// Also as root, so that its propagation can be observed.
			if err := setNoNewPrivs(); err != nil {
				return "prctl: " + Outcome(err)
			}
		}
		fd, err := create(attr, 0)
		if err != nil {
			return Outcome(err)
		}
		defer unix.Close(fd)
		if err := t.restrict(fd, flags); err != nil {
			return Outcome(err)
		}
		return s(func() string { return op(t) })
	}}
}

// startSibling starts a locked OS thread and returns a function that runs
// work on it.
func startSibling() func(func() string) string {
	req := make(chan func() string)
	res := make(chan string)
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(ready)
		for f := range req {
			res <- f()
		}
	}()
	<-ready
	return func(f func() string) string { req <- f; return <-res }
}

const tsyncFlag = unix.LANDLOCK_RESTRICT_SELF_TSYNC

// tsyncWant: from ABI 8 the sibling gets the outcome of the domain; before,
// the TSYNC flag itself is refused (EINVAL).
func tsyncWant(outcome string) func(Env) string {
	return sys(func(e Env) string {
		if e.ABI >= 8 {
			return outcome
		}
		return "EINVAL"
	})
}

func init() {
	readF := func(t *T) string { return Outcome(openRead(t.path("f"))) }
	register(
		tsyncCase("sibling_thread_denied_fs_access", tsyncWant("EACCES"), attr(8, fsRead), tsyncFlag, readF),
		tsyncCase("sibling_thread_unrestricted_without_tsync", sys(allowed), attr(8, fsRead), 0, readF),
		tsyncCase("sibling_thread_denied_tcp_bind", sys(func(e Env) string {
			switch {
			case e.ABI < 4:
				return "E2BIG" // no handled_access_net field
			case e.ABI < 8:
				return "EINVAL"
			}
			return "EACCES"
		}), attr(16, 0, uint64(landlock.NetBindTCP)), tsyncFlag, func(*T) string {
			return Outcome(bindOn(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
		}),
		// no_new_privs set on the calling thread reaches the siblings.
		tsyncCase("no_new_privs_propagates", tsyncWant("no_new_privs=1"), attr(8, fsRead), tsyncFlag, func(*T) string {
			return fmt.Sprintf("no_new_privs=%d", noNewPrivs())
		}),
		Case{Area: "tsync", Name: "no_ruleset_log_subdomains_off_with_tsync", Isolation: Process, Want: tsyncWant(OK), Run: func(t *T) string {
			return Outcome(t.restrict(-1, unix.LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF|tsyncFlag))
		}},
		Case{Area: "tsync", Name: "no_ruleset_tsync_alone", Isolation: Process, Want: tsyncWant("EBADF"), Run: func(t *T) string {
			return Outcome(t.restrict(-1, tsyncFlag))
		}},
	)
}
