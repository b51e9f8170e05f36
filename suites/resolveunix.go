package suites

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// RESOLVE_UNIX (ABI 9, landlock.h): connect(2) and sendmsg(2) with an
// explicit address to a pathname UNIX socket whose server was created
// outside the domain need the right (EACCES otherwise, unlike the abstract
// scope's EPERM); a rule on the socket or a parent directory grants it;
// servers created in the same domain stay reachable; sockets connected
// before are not concerned; abstract sockets are not concerned. Before
// ABI 9 the library drops the right.

var resolveDenied = check.DeniedFrom(check.ABIResolveUnix, "EACCES")

var resolveCovers = []string{"§3.10", "§6.13", "sec.5"}

// resolvePolicy handles RESOLVE_UNIX and grants it beneath the paths.
func resolvePolicy(grantOn ...string) landlock.Policy {
	p := landlock.Policy{FS: landlock.FSResolveUnix}
	for _, g := range grantOn {
		p.AllowPath(g, landlock.FSResolveUnix)
	}
	return p
}

// pathServerCase creates a server of typ at d/sock outside the domain,
// enforces the policy and runs op on the socket path.
func pathServerCase(name string, want func(check.Env) string, typ int, policy func(t *check.T) landlock.Policy, op func(path string) error) check.Case {
	return check.Case{Area: "resolveunix", Name: name, Want: want, Covers: resolveCovers, Run: func(t *check.T) string {
		t.Mkdirs("d", "elsewhere")
		path := t.Path("d", "sock")
		srv, err := fixture.UnixServer(path, typ)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(srv)
		if err := t.Enforce(policy(t)); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(op(path))
	}}
}

func grantOn(names ...string) func(t *check.T) landlock.Policy {
	return func(t *check.T) landlock.Policy {
		var paths []string
		for _, n := range names {
			paths = append(paths, t.Path(n))
		}
		return resolvePolicy(paths...)
	}
}

func init() {
	check.Build(func() {
		stream, dgram, seqpacket := unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET
		connect := func(typ int) func(string) error { return func(p string) error { return fixture.UnixConnect(p, typ) } }
		noRule := grantOn()
		check.Register(mirrored(
			pathServerCase("stream_connect_outside_denied", resolveDenied, stream, noRule, connect(stream)),
			pathServerCase("seqpacket_connect_outside_denied", resolveDenied, seqpacket, noRule, connect(seqpacket)),
			pathServerCase("dgram_connect_outside_denied", resolveDenied, dgram, noRule, connect(dgram)),
			pathServerCase("dgram_sendto_outside_denied", resolveDenied, dgram, noRule, fixture.UnixSendto),
			pathServerCase("allowed_by_rule_on_socket", check.Allowed, stream, grantOn("d/sock"), connect(stream)),
			pathServerCase("allowed_by_rule_on_parent", check.Allowed, stream, grantOn("d"), connect(stream)),
			pathServerCase("allowed_by_rule_on_ancestor", check.Allowed, stream, grantOn("."), connect(stream)),
			pathServerCase("dgram_sendto_allowed_by_rule", check.Allowed, dgram, grantOn("d"), fixture.UnixSendto),
			pathServerCase("rule_on_other_directory_does_not_allow", resolveDenied, stream, grantOn("elsewhere"), connect(stream)),
			// Other filesystem rights do not concern socket lookups.
			pathServerCase("other_fs_rights_do_not_restrict", check.Allowed, stream, func(*check.T) landlock.Policy {
				return landlock.Policy{FS: landlock.FSReadFile | landlock.FSWriteFile}
			}, connect(stream)),
			// The abstract scope and RESOLVE_UNIX are independent.
			pathServerCase("abstract_scope_does_not_restrict", check.Allowed, stream, func(*check.T) landlock.Policy {
				return scopePolicy(scopeAbstract)
			}, connect(stream)),

			check.Case{Area: "resolveunix", Covers: resolveCovers, Name: "dgram_send_on_socket_connected_before_allowed", Want: check.Allowed, Run: func(t *check.T) string {
				_, fd := fixture.UnixPair(t, t.Path("sock"), dgram)
				if err := t.Enforce(resolvePolicy()); err != nil {
					return fixture.EnforceFailed(err)
				}
				_, err := unix.Write(fd, []byte("x"))
				return check.Outcome(err)
			}},
			// MAKE_SOCK is not handled, so the domain may bind its own server.
			check.Case{Area: "resolveunix", Covers: resolveCovers, Name: "server_created_in_same_domain_reachable", Want: check.Allowed, Run: func(t *check.T) string {
				if err := t.Enforce(resolvePolicy()); err != nil {
					return fixture.EnforceFailed(err)
				}
				srv, err := fixture.UnixServer(t.Path("inside.sock"), stream)
				if err != nil {
					return "server in the domain: " + check.Outcome(err)
				}
				defer unix.Close(srv)
				return check.Outcome(fixture.UnixConnect(t.Path("inside.sock"), stream))
			}},
			// A server of the parent domain is outside a nested domain.
			check.Case{Area: "resolveunix", Covers: resolveCovers, Name: "server_of_parent_domain_denied_from_nested_domain", Want: resolveDenied, Run: func(t *check.T) string {
				if err := t.Enforce(resolvePolicy()); err != nil {
					return fixture.EnforceFailed(err)
				}
				srv, err := fixture.UnixServer(t.Path("parent.sock"), stream)
				if err != nil {
					return "server in the domain: " + check.Outcome(err)
				}
				defer unix.Close(srv)
				if err := t.Enforce(resolvePolicy()); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.UnixConnect(t.Path("parent.sock"), stream))
			}},
			check.Case{Area: "resolveunix", Covers: resolveCovers, Name: "server_of_nested_domain_reachable", Want: check.Allowed, Run: func(t *check.T) string {
				return nestedServer(t, "pathname", t.Path("nested.sock"))
			}},
			check.Case{Area: "resolveunix", Covers: resolveCovers, Name: "abstract_socket_unaffected", Want: check.Allowed, Run: func(t *check.T) string {
				return withAbstractServer(t, stream, resolvePolicy(), connectStream)
			}},
		)...)
	})
}
