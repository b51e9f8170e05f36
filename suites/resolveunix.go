package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// RESOLVE_UNIX (ABI 9): connecting or sending to a pathname UNIX socket
// whose server is outside the domain needs the right (EACCES otherwise);
// rules on the socket or a parent grant it; servers created inside the
// domain stay reachable; abstract sockets are not concerned.

var resolveDenied = deniedFrom(9, "EACCES")

func resolvePolicy(t *T, grantOn string) landlock.Policy {
	p := landlock.Policy{FS: landlock.FSResolveUnix}
	if grantOn != "" {
		p.AllowPath(grantOn, landlock.FSResolveUnix)
	}
	return p
}

// withPathServer creates a pathname server outside the domain at dir/sock.
func withPathServer(t *T, typ int, grantOn func(t *T) string, op func(path string) error) string {
	t.mkdirs("d")
	path := t.path("d", "sock")
	srv, err := unixServer(path, typ)
	if err != nil {
		return "setup failed: " + Outcome(err)
	}
	defer unix.Close(srv)
	if err := t.Enforce(resolvePolicy(t, grantOn(t))); err != nil {
		return enforceFailed(err)
	}
	return Outcome(op(path))
}

func init() {
	none := func(*T) string { return "" }
	stream := func(p string) error { return unixConnect(p, unix.SOCK_STREAM) }
	register(
		Case{Area: "resolveunix", Name: "stream_connect_outside_denied", Want: resolveDenied, Run: func(t *T) string {
			return withPathServer(t, unix.SOCK_STREAM, none, stream)
		}},
		Case{Area: "resolveunix", Name: "dgram_sendto_outside_denied", Want: resolveDenied, Run: func(t *T) string {
			return withPathServer(t, unix.SOCK_DGRAM, none, unixSendto)
		}},
		Case{Area: "resolveunix", Name: "allowed_by_rule_on_socket", Want: allowed, Run: func(t *T) string {
			return withPathServer(t, unix.SOCK_STREAM, func(t *T) string { return t.path("d", "sock") }, stream)
		}},
		Case{Area: "resolveunix", Name: "allowed_by_rule_on_parent", Want: allowed, Run: func(t *T) string {
			return withPathServer(t, unix.SOCK_STREAM, func(t *T) string { return t.Dir }, stream)
		}},
		Case{Area: "resolveunix", Name: "server_inside_domain_reachable", Want: allowed, Run: func(t *T) string {
			// MAKE_SOCK is not handled, so the domain may bind its own server.
			if err := t.Enforce(resolvePolicy(t, "")); err != nil {
				return enforceFailed(err)
			}
			srv, err := unixServer(t.path("inside.sock"), unix.SOCK_STREAM)
			if err != nil {
				return "server in the domain: " + Outcome(err)
			}
			defer unix.Close(srv)
			return Outcome(stream(t.path("inside.sock")))
		}},
		Case{Area: "resolveunix", Name: "abstract_socket_unaffected", Want: allowed, Run: func(t *T) string {
			return withAbstractServer(t, unix.SOCK_STREAM, resolvePolicy(t, ""), func(n string) error { return unixConnect(n, unix.SOCK_STREAM) })
		}},
	)
}
