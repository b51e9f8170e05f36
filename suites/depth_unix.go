package suites

import (
	"fmt"
	"strings"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// UNIX socket topologies for every socket type, under both restrictions
// of sec_sockets.go: the abstract-socket scope (ABI 6, EPERM) and
// RESOLVE_UNIX (ABI 9, EACCES). A client reaches a server whose socket
// was created in its own domain or a domain nested in it, and no other,
// unless (RESOLVE_UNIX only) a rule of each of its layers grants the
// right on the socket's directory. Each row places the server's creator
// relative to the client (the case thread):
//
//   - outside: created before the client's domain (denied);
//   - same: created in the client's domain (allowed);
//   - parent: created in the client's domain, which then nests another
//     layer (denied: the server is in the parent domain);
//   - child: created by a child process that nests its own layer under
//     the client's domain (allowed);
//   - sibling: created by such a child, after which the client nests a
//     layer of its own (denied: the two domains are siblings).
//
// The actions are connect for stream, datagram and seqpacket sockets and
// sendto on an unconnected datagram socket.

// unixOp is an action on a server address.
type unixOp struct {
	name string
	typ  int
	do   func(addr string) error
}

var unixOps = []unixOp{
	{"stream_connect", unix.SOCK_STREAM, func(a string) error { return fixture.UnixConnect(a, unix.SOCK_STREAM) }},
	{"dgram_connect", unix.SOCK_DGRAM, func(a string) error { return fixture.UnixConnect(a, unix.SOCK_DGRAM) }},
	{"dgram_sendto", unix.SOCK_DGRAM, fixture.UnixSendto},
	{"seqpacket_connect", unix.SOCK_SEQPACKET, func(a string) error { return fixture.UnixConnect(a, unix.SOCK_SEQPACKET) }},
}

// unixTopology is where the server's creator is.
type unixTopology struct {
	name    string
	reached bool // the documented outcome without a granting rule
}

var unixTopologies = []unixTopology{{"outside", false}, {"same", true}, {"parent", false}, {"child", true}, {"sibling", false}}

// typedChildServer starts a child forked from the case thread (so in its
// domain) that adds the layer of kind ("none": none) and serves a socket
// of typ at addr until stop.
func typedChildServer(t *check.T, kind string, typ int, addr string) (stop func(), err error) {
	var layer *landlock.Policy
	if p, ok := nestedPolicies[kind]; ok {
		layer = &p
	}
	return fixture.ServeUnixFromChild(t, layer, typ, addr)
}

// unixTopologyRun places the server, enforces pol on the case thread (as
// often as the topology needs) and runs op.
func unixTopologyRun(t *check.T, k sockKind, pol landlock.Policy, top string, op unixOp) string {
	addr := k.addr(t, "srv")
	enforce := func() string {
		if err := t.Enforce(pol); err != nil {
			return fixture.EnforceFailed(err)
		}
		return ""
	}
	switch top {
	case "outside":
		srv, err := fixture.UnixServer(addr, op.typ)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(srv)
		if o := enforce(); o != "" {
			return o
		}
	case "same", "parent":
		if o := enforce(); o != "" {
			return o
		}
		srv, err := fixture.UnixServer(addr, op.typ)
		if err != nil {
			return "server in the domain: " + check.Outcome(err)
		}
		defer unix.Close(srv)
		if top == "parent" {
			if o := enforce(); o != "" {
				return o
			}
		}
	case "child", "sibling":
		if o := enforce(); o != "" {
			return o
		}
		stop, err := typedChildServer(t, k.kind, op.typ, addr)
		if err != nil {
			return "child server failed: " + err.Error()
		}
		defer stop()
		if top == "sibling" {
			if o := enforce(); o != "" {
				return o
			}
		}
	default:
		panic("unknown topology " + top)
	}
	return check.Outcome(op.do(addr))
}

func init() {
	check.Build(func() {
		for _, k := range sockKinds {
			k := k
			mirror := func(op unixOp, granted bool) []string {
				if k.kind == "abstract" {
					return []string{"scoped_abstract_unix_test.c:scoped_domains.connect_to_parent", "scoped_abstract_unix_test.c:scoped_domains.connect_to_child"}
				}
				if op.name == "stream_connect" && !granted {
					return nil // the stream rows without a rule are covered by sec_sockets.go
				}
				fn := map[string]string{"stream_connect": "unix_stream_connect", "dgram_connect": "unix_dgram_connect",
					"dgram_sendto": "unix_dgram_sendmsg", "seqpacket_connect": "unix_seqpacket_connect"}[op.name]
				suffix := ""
				if granted {
					suffix = "_full"
				}
				return []string{"fs_test.c:scoped_domains." + fn + "_to_parent" + suffix, "fs_test.c:scoped_domains." + fn + "_to_child" + suffix}
			}
			for _, op := range unixOps {
				op := op
				for _, top := range unixTopologies {
					top := top
					want, verb := k.denied, "denied"
					if top.reached {
						want, verb = check.Allowed, "allowed"
					}
					c := k.caseOf("topology/"+op.name+"/"+top.name+"_"+verb, want, func(t *check.T) string {
						return unixTopologyRun(t, k, k.policy(), top.name, op)
					})
					c.Variants = []check.Variant{{Dim: check.DimSockType, Value: sockTypeName[op.typ]}, {Dim: check.DimTopology, Value: top.name}}
					check.Register(c.Mirroring(mirror(op, false)...))
				}
				if k.kind != "pathname" {
					continue
				}
				// A rule granting RESOLVE_UNIX on the case directory, in every
				// layer of the client: every topology reaches the server.
				for _, top := range unixTopologies {
					top := top
					c := k.caseOf("topology/"+op.name+"/"+top.name+"_allowed_by_rule", check.Allowed, func(t *check.T) string {
						return unixTopologyRun(t, k, resolvePolicy(t.Root()), top.name, op)
					})
					c.Variants = []check.Variant{{Dim: check.DimSockType, Value: sockTypeName[op.typ]}, {Dim: check.DimTopology, Value: top.name}}
					check.Register(c.Mirroring(mirror(op, true)...))
				}
			}
		}
	})
}

// Three generations of layers, each scoped for abstract sockets or not
// (a layer handling MAKE_DIR only), with the server created after 0 to 3
// of them and the client connecting after all three: the server is
// outside every layer added after it, so the connection is denied exactly
// when one of those is scoped (landlock.rst "IPC scoping"). Layers added
// before the server are shared by both and never deny.
func generationCases() []check.Case {
	scoped, unscoped := scopePolicy(scopeAbstract), landlock.Policy{FS: landlock.FSMakeDir}
	var out []check.Case
	for mask := 0; mask < 8; mask++ {
		var names []string
		var layers []landlock.Policy
		var isScoped []bool
		for i := 0; i < 3; i++ {
			s := mask&(1<<i) != 0
			isScoped = append(isScoped, s)
			if s {
				names, layers = append(names, "scoped"), append(layers, scoped)
			} else {
				names, layers = append(names, "unscoped"), append(layers, unscoped)
			}
		}
		for k := 0; k <= 3; k++ {
			denied := false
			for _, s := range isScoped[k:] {
				denied = denied || s
			}
			want, verb := check.Allowed, "allowed"
			if denied {
				want, verb = scopeDenied, "denied"
			}
			layers, k := layers, k
			name := fmt.Sprintf("abstract_unix/generations/%s/server_after_%d_%s", strings.Join(names, "_"), k, verb)
			out = append(out, check.Case{Area: "scope", Name: name, Want: want, Covers: []string{"§3.10", "§6.13", "sec.4"},
				Run: func(t *check.T) string {
					addr := abstractName()
					for i, l := range layers {
						if i == k {
							srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
							if err != nil {
								return "server: " + check.Outcome(err)
							}
							defer unix.Close(srv)
						}
						if err := t.Enforce(l); err != nil {
							return fixture.EnforceFailed(err)
						}
					}
					if k == len(layers) {
						srv, err := fixture.UnixServer(addr, unix.SOCK_STREAM)
						if err != nil {
							return "server: " + check.Outcome(err)
						}
						defer unix.Close(srv)
					}
					return check.Outcome(connectStream(addr))
				}}.Mirroring("scoped_abstract_unix_test.c:scoped_vs_unscoped.unix_scoping"))
		}
	}
	return out
}

func init() { check.Build(func() { check.Register(generationCases()...) }) }
