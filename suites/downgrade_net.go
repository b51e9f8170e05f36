package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The library's downgrade path for network rights and scopes, for every
// ABI ceiling and for the kernel's own ABI: the maximal best-effort policy
// denies each operation exactly when the effective ABI has the right or
// scope (TCP 4, scopes 6, RESOLVE_UNIX 9, UDP 10, stated here, not taken
// from the library).

// netOp sets up outside the domain, calls enforce, and acts.
type netOp struct {
	name      string
	abi       int
	errno     string
	isolation check.Isolation
	run       func(t *check.T, enforce func() error) string
}

// afterEnforce runs op after enforce, for operations needing no setup.
func afterEnforce(enforce func() error, op func() error) string {
	if err := enforce(); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(op())
}

// withServerOf runs op against a loopback server created before enforce.
func withServerOf(typ, proto int, enforce func() error, op func(port int) error) string {
	srv, port, err := fixture.Server(fixture.IPv4, typ, proto)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(srv)
	return afterEnforce(enforce, func() error { return op(port) })
}

var netOps = []netOp{
	{"tcp_bind", 4, "EACCES", check.Thread, func(t *check.T, enforce func() error) string {
		return afterEnforce(enforce, func() error { return fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0) })
	}},
	{"tcp_connect", 4, "EACCES", check.Thread, func(t *check.T, enforce func() error) string {
		return withServerOf(unix.SOCK_STREAM, unix.IPPROTO_TCP, enforce, func(port int) error {
			return fixture.ConnectTo(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, port)
		})
	}},
	{"udp_bind", 10, "EACCES", check.Thread, func(t *check.T, enforce func() error) string {
		return afterEnforce(enforce, func() error { return fixture.BindOn(fixture.IPv4, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 0) })
	}},
	{"udp_sendto", 10, "EACCES", check.Thread, func(t *check.T, enforce func() error) string {
		return withServerOf(unix.SOCK_DGRAM, unix.IPPROTO_UDP, enforce, func(port int) error { return fixture.SendTo(fixture.IPv4, port) })
	}},
	{"abstract_unix_connect_outside", 6, "EPERM", check.Thread, func(t *check.T, enforce func() error) string {
		name := abstractName()
		srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(srv)
		return afterEnforce(enforce, func() error { return connectStream(name) })
	}},
	{"signal_outside", 6, "EPERM", check.Thread, func(t *check.T, enforce func() error) string {
		pid, kill, err := fixture.Sleeper(t)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer fixture.KillFromOutside(kill)
		return afterEnforce(enforce, func() error { return unix.Kill(pid, 0) })
	}},
	{"resolve_unix_connect_outside", 9, "EACCES", check.Thread, func(t *check.T, enforce func() error) string {
		srv, err := fixture.UnixServer(t.Path("sock"), unix.SOCK_STREAM)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(srv)
		return afterEnforce(enforce, func() error { return connectStream(t.Path("sock")) })
	}},
}

func init() {
	check.Build(func() { // ceiling 0 is the kernel's own ABI (or the run's ceiling, if any).
		for _, c := range append([]int{0}, check.Ceilings...) {
			prefix := fmt.Sprintf("ceiling_%d/net/", c)
			if c == 0 {
				prefix = "no_ceiling/net/"
			}
			for _, op := range netOps {
				c, op := c, op
				want := check.DeniedFrom(op.abi, op.errno)
				if c > 0 {
					want = withCeiling(c, want)
				}
				check.Register(check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Redundant: check.ClampedCeiling(c), Name: prefix + op.name, Isolation: op.isolation, Want: want,
					Run: func(t *check.T) string {
						if c > 0 {
							t.Env.Ceiling = c
						}
						return op.run(t, func() error { return t.Enforce(maximalPolicy()) })
					}})
			}
		}
		// Unprivileged, Landlock requires no_new_privs: a policy that keeps
		// privileges (the library leaves no_new_privs unset) must fail with
		// EPERM, and works as root (CAP_SYS_ADMIN). Without Landlock the
		// library enforces nothing and reports no error.
		check.Register(check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Name: "keep_privileges_needs_cap_sys_admin", Want: func(e check.Env) string {
			if e.LibABI() >= check.ABILandlock && !e.Root {
				return "enforce failed: EPERM"
			}
			return check.OK
		}, Run: func(t *check.T) string {
			p := landlock.Policy{FS: landlock.FSReadFile, KeepPrivileges: true}
			if err := t.Enforce(p); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.OK
		}})
	})
}
