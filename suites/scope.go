package suites

import (
	"fmt"
	"math/rand/v2"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Scopes (ABI 6, landlock.rst "IPC scoping"): a domain cannot connect or
// send (unconnected) to an abstract UNIX socket created outside it, nor
// signal a process outside it (EPERM); the same or a nested domain stays
// reachable, a socket connected before is not restricted, pathname
// sockets are unaffected, and no rule re-allows a scope. Before ABI 6 the
// library drops the scopes.

var scopeDenied = check.DeniedFrom(check.ABIScoped, "EPERM")

const (
	scopeAbstract = landlock.ScopeAbstractUnixSocket
	scopeSignal   = landlock.ScopeSignal
)

// abstractName is a fresh abstract socket name ("@" prefix in x/sys).
func abstractName() string { return fmt.Sprintf("@llconform-%x", rand.Uint64()) }

func scopePolicy(s landlock.Scope) landlock.Policy { return landlock.Policy{Scoped: s} }

// withAbstractServer creates an abstract server outside the domain,
// enforces p and runs op on its name.
func withAbstractServer(t *check.T, typ int, p landlock.Policy, op func(name string) error) string {
	name := abstractName()
	srv, err := fixture.UnixServer(name, typ)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(srv)
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(op(name))
}

// serverInside enforces p, creates an abstract server inside the domain
// and runs op on its name.
func serverInside(t *check.T, typ int, p landlock.Policy, op func(name string) error) string {
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	name := abstractName()
	srv, err := fixture.UnixServer(name, typ)
	if err != nil {
		return "server in the domain: " + check.Outcome(err)
	}
	defer unix.Close(srv)
	return check.Outcome(op(name))
}

// connectedBefore connects a socket of typ to an abstract server before
// enforcing p, then sends on it.
func connectedBefore(t *check.T, typ int, p landlock.Policy) string {
	_, fd := fixture.UnixPair(t, abstractName(), typ)
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	_, err := unix.Write(fd, []byte("x"))
	return check.Outcome(err)
}

// signalOutside signals (0) a process started before enforcement.
func signalOutside(t *check.T, p landlock.Policy) string {
	pid, kill, err := fixture.Sleeper(t)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer fixture.KillFromOutside(kill) // the domain may not signal it
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(unix.Kill(pid, 0))
}

func connectStream(n string) error { return fixture.UnixConnect(n, unix.SOCK_STREAM) }
func connectSeqpacket(n string) error {
	return fixture.UnixConnect(n, unix.SOCK_SEQPACKET)
}

func scopeCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "scope", Name: name, Want: want, Run: run, Covers: abstractCovers}
}

// signalCase is a signal-scope case. Every probe sends signal 0, which
// delivers nothing, to a separate process or to this process's own
// threads, so a thread of its own is isolation enough.
func signalCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "scope", Name: name, Want: want, Run: run, Covers: signalCovers}
}

var abstractCovers = []string{"§3.10", "§6.13", "sec.4"}

// The scope policies of the rows below.
var (
	abstractScoped = scopePolicy(scopeAbstract)
	signalScoped   = scopePolicy(scopeSignal)
)

// scopeCases makes the abstract-socket and signal rows; init registers them.
func scopeCases() []check.Case {
	return []check.Case{
		scopeCase("abstract_unix/stream_connect_outside_denied", scopeDenied, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_STREAM, abstractScoped, connectStream)
		}).Showing("scope/abstract_unix_socket", check.ShowsDenied),
		scopeCase("abstract_unix/seqpacket_connect_outside_denied", scopeDenied, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_SEQPACKET, abstractScoped, connectSeqpacket)
		}),
		scopeCase("abstract_unix/dgram_connect_outside_denied", scopeDenied, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_DGRAM, abstractScoped, func(n string) error { return fixture.UnixConnect(n, unix.SOCK_DGRAM) })
		}),
		// sendto on an unconnected datagram socket is an implicit connect.
		scopeCase("abstract_unix/dgram_sendto_outside_denied", scopeDenied, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_DGRAM, abstractScoped, fixture.UnixSendto)
		}),
		// A socket connected before enforcement is not restricted, for
		// datagram and stream sockets alike.
		scopeCase("abstract_unix/stream_send_on_socket_connected_before_allowed", check.Allowed, func(t *check.T) string {
			return connectedBefore(t, unix.SOCK_STREAM, abstractScoped)
		}),
		scopeCase("abstract_unix/dgram_send_on_socket_connected_before_allowed", check.Allowed, func(t *check.T) string {
			return connectedBefore(t, unix.SOCK_DGRAM, abstractScoped)
		}),
		scopeCase("abstract_unix/stream_connect_same_domain_allowed", check.Allowed, func(t *check.T) string {
			return serverInside(t, unix.SOCK_STREAM, abstractScoped, connectStream)
		}).Showing("scope/abstract_unix_socket", check.ShowsAllowed),
		scopeCase("abstract_unix/dgram_sendto_same_domain_allowed", check.Allowed, func(t *check.T) string {
			return serverInside(t, unix.SOCK_DGRAM, abstractScoped, fixture.UnixSendto)
		}),
		// A nested domain is scoped away from its parent domain's sockets.
		scopeCase("abstract_unix/connect_from_nested_domain_to_parent_denied", scopeDenied, func(t *check.T) string {
			if err := t.Enforce(abstractScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			return withAbstractServer(t, unix.SOCK_STREAM, abstractScoped, connectStream)
		}),
		// The domain of the socket's creator counts, not the binder's: a
		// socket created before enforcement and bound inside the domain is
		// still outside.
		scopeCase("abstract_unix/socket_created_outside_bound_inside_denied", scopeDenied, func(t *check.T) string {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(fd)
			if err := t.Enforce(abstractScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			name := abstractName()
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
				return "bind in the domain: " + check.Outcome(err)
			}
			if err := unix.Listen(fd, 8); err != nil {
				return "listen in the domain: " + check.Outcome(err)
			}
			return check.Outcome(connectStream(name))
		}),
		scopeCase("abstract_unix/pathname_socket_unaffected", check.Allowed, func(t *check.T) string {
			srv, err := fixture.UnixServer(t.Path("sock"), unix.SOCK_STREAM)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(abstractScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(connectStream(t.Path("sock")))
		}),
		scopeCase("abstract_unix/signal_scope_does_not_restrict_sockets", check.Allowed, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_STREAM, signalScoped, connectStream)
		}),
		// Scopes have no rules: granting every filesystem and network right
		// does not re-allow an abstractScoped socket outside the domain.
		scopeCase("abstract_unix/rules_cannot_reallow", scopeDenied, func(t *check.T) string {
			return withAbstractServer(t, unix.SOCK_STREAM, grantEverything(scopeAbstract), connectStream)
		}),

		signalCase("signal/to_process_outside_denied", scopeDenied, func(t *check.T) string {
			return signalOutside(t, signalScoped)
		}).Showing("scope/signal", check.ShowsDenied),
		signalCase("signal/abstract_scope_does_not_restrict_signals", check.Allowed, func(t *check.T) string {
			return signalOutside(t, abstractScoped)
		}),
		signalCase("signal/rules_cannot_reallow", scopeDenied, func(t *check.T) string {
			return signalOutside(t, grantEverything(scopeSignal))
		}),
		// A child forked from the domain is in it.
		signalCase("signal/to_child_created_inside_allowed", check.Allowed, func(t *check.T) string {
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			pid, kill, err := fixture.Sleeper(t)
			if err != nil {
				return "child in the domain: " + check.Outcome(err)
			}
			defer kill()
			return check.Outcome(unix.Kill(pid, 0))
		}).Showing("scope/signal", check.ShowsAllowed),
		signalCase("signal/to_own_thread_allowed", check.Allowed, func(t *check.T) string {
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(unix.Tgkill(unix.Getpid(), unix.Gettid(), 0))
		}),
		// Threads of one process may always signal each other (erratum 2):
		// a sibling thread outside the domain, and the process itself
		// (whose leader thread is outside the domain).
		signalCase("signal/to_sibling_thread_outside_domain", check.Allowed, func(t *check.T) string {
			tid, stop := fixture.SiblingThread()
			defer stop()
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(unix.Tgkill(unix.Getpid(), tid, 0))
		}).Deviating(check.UnfixedErratum(2, "EPERM")),
		signalCase("signal/to_own_process", check.Allowed, func(t *check.T) string {
			if err := t.Enforce(signalScoped); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(unix.Kill(unix.Getpid(), 0))
		}).Deviating(check.UnfixedErratum(2, "EPERM")),
	}
}

func init() { check.Build(func() { check.Register(mirrored(scopeCases()...)...) }) }

// grantEverything handles and grants every filesystem and network right
// beneath / and on every port used here, plus the scope s.
func grantEverything(s landlock.Scope) landlock.Policy {
	p := landlock.Policy{FS: check.AllFS, Net: tcpBoth | udpBoth, Scoped: s}
	p.AllowPath("/", check.AllFS&^landlock.FSRefer)
	p.AllowPort(0, tcpBoth|udpBoth)
	return p
}

// A server created in a nested domain is reachable from its parent
// domain (landlock.rst: "the same or a nested Landlock domain"). The
// nested domain is a child process forked from the case thread, which
// scopes itself further and serves until its stdin closes.
var nestedPolicies = map[string]landlock.Policy{
	"abstract": scopePolicy(scopeAbstract),
	"pathname": resolvePolicy(),
}

// nestedServer enforces the kind's policy, starts a child that nests a
// domain and serves at addr, and connects to it.
func nestedServer(t *check.T, kind, addr string) string {
	if err := t.Enforce(nestedPolicies[kind]); err != nil {
		return fixture.EnforceFailed(err)
	}
	stop, err := childServer(t, kind, addr)
	if err != nil {
		return "nested server failed: " + err.Error()
	}
	defer stop()
	return check.Outcome(connectStream(addr))
}

// childServer starts a child forked from the case thread (so in its
// domain now) that adds the layer of nest ("none": no layer) and serves a
// stream socket at addr until stop.
func childServer(t *check.T, nest, addr string) (stop func(), err error) {
	return typedChildServer(t, nest, unix.SOCK_STREAM, addr)
}

func init() {
	check.Build(func() {
		check.Register(scopeCase("abstract_unix/connect_to_server_of_nested_domain_allowed", check.Allowed, func(t *check.T) string {
			return nestedServer(t, "abstract", abstractName())
		}))
	})
}
