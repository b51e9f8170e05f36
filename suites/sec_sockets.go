package suites

import (
	"fmt"
	"os"
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// UNIX socket topologies shared by the abstract-socket scope (ABI 6,
// EPERM) and RESOLVE_UNIX (ABI 9, EACCES): both reach servers whose
// socket was created in the same or a nested domain, and refuse the
// others; sockets connected before, and socketpairs, are not concerned.
// The domain that counts is the one of the process that created the
// server's socket.

// sockKind is one of the two restrictions.
type sockKind struct {
	kind    string // nestedPolicies key
	area    string
	prefix  string
	policy  func() landlock.Policy
	denied  func(check.Env) string
	addr    func(t *check.T, name string) string
	covers  []string
	feature string
}

var sockKinds = []sockKind{
	{"abstract", "scope", "abstract_unix/", func() landlock.Policy { return abstractScoped }, scopeDenied,
		func(*check.T, string) string { return abstractName() }, []string{"§3.10", "§6.13", "sec.4"}, ""},
	{"pathname", "resolveunix", "", func() landlock.Policy { return resolvePolicy() }, resolveDenied,
		func(t *check.T, name string) string { return t.Path(name + ".sock") }, []string{"§3.10", "§6.13", "sec.5"}, ""},
}

func (k sockKind) caseOf(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: k.area, Name: k.prefix + name, Want: want, Covers: k.covers, Run: run}
}

// threadServer is a stream server created on a thread of its own that
// first enforces p (nil: none).
func threadServer(p *landlock.Policy, t *check.T, addr string) (stop func(), err error) {
	ready := make(chan error)
	done := make(chan struct{})
	go func() {
		fixture.LockThread() // never unlocked: the thread and its domain die with it
		if p != nil {
			if err := t.Enforce(*p); err != nil {
				ready <- err
				return
			}
		}
		srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
		if err != nil {
			ready <- err
			return
		}
		ready <- nil
		<-done
		unix.Close(srv)
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return func() { close(done) }, nil
}

// passFD sends fd over SCM_RIGHTS from a thread outside any domain and
// returns the received copy.
func passFD(fd int) (int, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	if o := fixture.OnOtherThread(func() string {
		return check.Outcome(unix.Sendmsg(pair[0], []byte{0}, unix.UnixRights(fd), nil, 0))
	}); o != check.OK {
		return -1, fmt.Errorf("sendmsg: %s", o)
	}
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(pair[1], make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("no fd received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("no fd received")
	}
	return fds[0], nil
}

func init() {
	check.Build(func() {
		for _, k := range sockKinds {
			k := k
			pol := k.policy()
			check.Register(mirrored(
				// Two sibling domains under a common one: the server's child
				// adds its own layer after it was forked, the case thread then
				// adds another.
				k.caseOf("server_of_sibling_domain_denied", k.denied, func(t *check.T) string {
					addr := k.addr(t, "sibling")
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					stop, err := childServer(t, k.kind, addr)
					if err != nil {
						return "child server failed: " + err.Error()
					}
					defer stop()
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(connectStream(addr))
				}),
				// Two domains with no common one: a thread of this process
				// serves from its own domain.
				k.caseOf("server_of_unrelated_domain_denied", k.denied, func(t *check.T) string {
					addr := k.addr(t, "unrelated")
					stop, err := threadServer(&pol, t, addr)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer stop()
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(connectStream(addr))
				}),
				// A process forked after the enforcement is in the domain,
				// both ways.
				k.caseOf("server_of_child_forked_in_domain_allowed", check.Allowed, func(t *check.T) string {
					addr := k.addr(t, "forked")
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					stop, err := childServer(t, "none", addr)
					if err != nil {
						return "child server failed: " + err.Error()
					}
					defer stop()
					return check.Outcome(connectStream(addr))
				}),
				k.caseOf("child_forked_in_domain_reaches_parent_server_allowed", check.Allowed, func(t *check.T) string {
					addr := k.addr(t, "parent")
					self, err := os.Executable()
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
					if err != nil {
						return "server in the domain: " + check.Outcome(err)
					}
					defer unix.Close(srv)
					return fixture.Probe(self, "connect-stream", addr)
				}),
				// A socket created outside and passed in over SCM_RIGHTS:
				// connecting it from the domain is the domain's connect...
				k.caseOf("unconnected_socket_passed_in_denied", k.denied, func(t *check.T) string {
					addr := k.addr(t, "passed")
					srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(srv)
					fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(fd)
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					in, err := passFD(fd)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					defer unix.Close(in)
					return check.Outcome(unix.Connect(in, &unix.SockaddrUnix{Name: addr}))
				}),
				// ...while one connected outside keeps working.
				k.caseOf("connected_socket_passed_in_allowed", check.Allowed, func(t *check.T) string {
					addr := k.addr(t, "passed")
					srv, err := fixture.UnixServer(addr, unix.SOCK_DGRAM)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(srv)
					fd, err := fixture.UnixDial(addr, unix.SOCK_DGRAM)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(fd)
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					in, err := passFD(fd)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					defer unix.Close(in)
					_, err = unix.Write(in, []byte("x"))
					return check.Outcome(err)
				}),
				// Unnamed sockets have no address to resolve.
				k.caseOf("socketpair_created_outside_unaffected", check.Allowed, func(t *check.T) string {
					sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(sp[0])
					defer unix.Close(sp[1])
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					_, err = unix.Write(sp[0], []byte("x"))
					return check.Outcome(err)
				}),
				k.caseOf("socketpair_created_inside_unaffected", check.Allowed, func(t *check.T) string {
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						return "socketpair: " + check.Outcome(err)
					}
					defer unix.Close(sp[0])
					defer unix.Close(sp[1])
					_, err = unix.Write(sp[0], []byte("x"))
					return check.Outcome(err)
				}),
				// A datagram socket sending to its own address: created and
				// bound outside it is outside; created inside it is not.
				k.caseOf("send_to_own_address_of_socket_created_outside_denied", k.denied, func(t *check.T) string {
					addr := k.addr(t, "self")
					fd, err := fixture.UnixServer(addr, unix.SOCK_DGRAM)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(fd)
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrUnix{Name: addr}))
				}),
				k.caseOf("send_to_own_address_of_socket_created_inside_allowed", check.Allowed, func(t *check.T) string {
					addr := k.addr(t, "self")
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					fd, err := fixture.UnixServer(addr, unix.SOCK_DGRAM)
					if err != nil {
						return "socket in the domain: " + check.Outcome(err)
					}
					defer unix.Close(fd)
					return check.Outcome(unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrUnix{Name: addr}))
				}),
				// An explicit address on a connected datagram socket is
				// checked like an unconnected send.
				k.caseOf("sendto_other_address_on_connected_socket_denied", k.denied, func(t *check.T) string {
					peer, other := k.addr(t, "peer"), k.addr(t, "other")
					_, fd := fixture.UnixPair(t, peer, unix.SOCK_DGRAM)
					b, err := fixture.UnixServer(other, unix.SOCK_DGRAM)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(b)
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrUnix{Name: other}))
				}),
				k.caseOf("seqpacket_connect_same_domain_allowed", check.Allowed, func(t *check.T) string {
					addr := k.addr(t, "seq")
					if err := t.Enforce(pol); err != nil {
						return fixture.EnforceFailed(err)
					}
					srv, err := fixture.UnixServer(addr, unix.SOCK_SEQPACKET)
					if err != nil {
						return "server in the domain: " + check.Outcome(err)
					}
					defer unix.Close(srv)
					return check.Outcome(connectSeqpacket(addr))
				}),
			)...)
		}

		// A nested layer that does not restrict the kind leaves its parent
		// domain's servers reachable: the parent's layer is the same domain.
		abstract, pathname := sockKinds[0], sockKinds[1]
		check.Register(
			abstract.caseOf("connect_from_unscoped_nested_domain_to_parent_allowed", check.Allowed, func(t *check.T) string {
				if err := t.Enforce(abstractScoped); err != nil {
					return fixture.EnforceFailed(err)
				}
				return serverThenNest(t, abstractName(), landlock.Policy{FS: landlock.FSMakeDir})
			}),
			pathname.caseOf("server_of_parent_reachable_from_nested_layer_not_handling_it", check.Allowed, func(t *check.T) string {
				addr := t.Path("parent.sock")
				if err := t.Enforce(resolvePolicy()); err != nil {
					return fixture.EnforceFailed(err)
				}
				return serverThenNest(t, addr, landlock.Policy{FS: landlock.FSMakeDir})
			}),
			// The autobind name of an unbound datagram socket is abstract.
			abstract.caseOf("autobound_socket_created_outside_denied", scopeDenied, func(t *check.T) string {
				fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				// bind with only the family: the kernel picks an abstract name.
				fam := uint16(unix.AF_UNIX)
				if _, _, e := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&fam)), 2); e != 0 {
					return check.SetupFailedf("autobind: %s", check.Outcome(e))
				}
				sa, err := unix.Getsockname(fd)
				if err != nil {
					return check.SetupFailed(err)
				}
				name := sa.(*unix.SockaddrUnix).Name
				if err := t.Enforce(abstractScoped); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.UnixSendto(name))
			}),
		)
		// A socket created outside and bound inside is still a server
		// created outside (the abstract twin is in scope.go).
		check.Register(pathname.caseOf("socket_created_outside_bound_inside_denied", resolveDenied, func(t *check.T) string {
			dir := t.Root()
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(fd)
			if err := t.Enforce(resolvePolicy()); err != nil {
				return fixture.EnforceFailed(err)
			}
			addr := dir + "/bound-inside.sock"
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
				return "bind in the domain: " + check.Outcome(err)
			}
			if err := unix.Listen(fd, 8); err != nil {
				return "listen in the domain: " + check.Outcome(err)
			}
			return check.Outcome(connectStream(addr))
		}))
	})
}

// serverThenNest serves at addr from the case thread's current domain,
// adds the layer p and connects.
func serverThenNest(t *check.T, addr string, p landlock.Policy) string {
	srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
	if err != nil {
		return "server in the domain: " + check.Outcome(err)
	}
	defer unix.Close(srv)
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(connectStream(addr))
}

func init() {
	fixture.ProbeActions["connect-stream"] = connectStream
}
