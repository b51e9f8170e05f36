package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// The downgrade path for network rights and scopes, for every ceiling: the
// maximal best-effort policy denies each operation exactly when the
// effective ABI has the right or scope.

type netOp struct {
	name  string
	abi   int
	errno string
	run   func(t *T, enforce func() error) string
}

var netOps = []netOp{
	{"tcp_bind", 4, "EACCES", func(t *T, enforce func() error) string {
		if err := enforce(); err != nil {
			return enforceFailed(err)
		}
		return Outcome(bindOn(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
	}},
	{"udp_bind", 10, "EACCES", func(t *T, enforce func() error) string {
		if err := enforce(); err != nil {
			return enforceFailed(err)
		}
		return Outcome(bindOn(ipv4, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 0))
	}},
	{"abstract_unix_connect_outside", 6, "EPERM", func(t *T, enforce func() error) string {
		name := abstractName()
		srv, err := unixServer(name, unix.SOCK_STREAM)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(srv)
		if err := enforce(); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unixConnect(name, unix.SOCK_STREAM))
	}},
	{"signal_outside", 6, "EPERM", func(t *T, enforce func() error) string {
		pid, kill, err := sleeper(t)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer onOtherThread(func() string { kill(); return "" })
		if err := enforce(); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unix.Kill(pid, 0))
	}},
	{"resolve_unix_connect_outside", 9, "EACCES", func(t *T, enforce func() error) string {
		srv, err := unixServer(t.path("sock"), unix.SOCK_STREAM)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(srv)
		if err := enforce(); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unixConnect(t.path("sock"), unix.SOCK_STREAM))
	}},
}

func init() {
	for _, c := range ceilings {
		for _, op := range netOps {
			c, op := c, op
			register(Case{Area: "downgrade", Name: fmt.Sprintf("ceiling_%d/net/%s", c, op.name),
				Want: withCeiling(c, deniedFrom(op.abi, op.errno)),
				Run: func(t *T) string {
					t.Env.Ceiling = c
					return op.run(t, func() error { return t.Enforce(maximalPolicy()) })
				}})
		}
	}
	// Unprivileged, Landlock requires no_new_privs: a library that leaves
	// it unset (KeepPrivileges) must fail there, and works as root.
	register(Case{Area: "downgrade", Name: "keep_privileges_needs_cap_sys_admin", Want: func(e Env) string {
		if e.LibABI() >= 1 && !e.Root {
			return "enforce failed: EPERM"
		}
		return OK
	}, Run: func(t *T) string {
		p := landlock.Policy{FS: landlock.FSReadFile, KeepPrivileges: true}
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return OK
	}})
}
