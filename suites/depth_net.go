package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Port rules that meet in one ruleset, and layers that handle more rights
// than the one before them (landlock.rst "Network flags"; landlock.h,
// struct landlock_net_port_attr). Two rules for the same port in one
// ruleset are merged: the port gets the rights of both. A layer that
// handles a right the layers before it did not restricts it from then on,
// for every port it has no rule for, while what the earlier layers grant
// stays granted where it grants it too.

// connectFreeOp connects to the fixture's free port, where nothing
// listens: ECONNREFUSED when Landlock lets it through.
func connectFreeOp(x *fixture.NetFix) error { return x.ConnectTo(x.Free) }

// tcpOverlapRows returns the rows and, for each, the selftest function
// it mirrors.
func tcpOverlapRows() ([]netRow, []string) {
	const overlap, expand = "net_test.c:tcp_layers.ruleset_overlap", "net_test.c:tcp_layers.ruleset_expand"
	mirrors := []string{overlap, overlap, overlap, expand, expand, expand}
	rows := []netRow{
		// BIND from the first rule, CONNECT from the second, both on the
		// free port: binding it is allowed; an ephemeral bind is not.
		{name: "1_layer/overlapping_rules_grant_bind_of_first", want: check.Allowed,
			policy: pol(tcpBoth, onFree(tcpBind), onFree(tcpConnect)), op: bindFreeOp,
			companion: bindEphemeral, companionWant: tcpDenied},
		// The same rules, the other way round, on the server's port:
		// connecting is granted by the second rule; binding the free port
		// (no rule) is denied.
		{name: "1_layer/overlapping_rules_grant_connect_of_second", want: check.Allowed,
			policy: pol(tcpBoth, onServer(tcpBind), onServer(tcpConnect)), op: connectSrvOp,
			companion: bindFreeOp, companionWant: tcpDenied},
		// Two layers that each merge the same two rules: still both.
		{name: "2_layers/overlapping_rules_in_both_grant_connect", want: check.Allowed,
			layers: stack(pol(tcpBoth, onServer(tcpConnect), onServer(tcpBind)), pol(tcpBoth, onServer(tcpBind), onServer(tcpConnect))),
			op:     connectSrvOp, companion: connectFreeOp, companionWant: tcpDeniedOr("ECONNREFUSED")},
		// The second layer handles CONNECT, which the first did not: a
		// connection to the port it grants passes, one to another port is
		// denied (EACCES, not the network's ECONNREFUSED).
		{name: "2_layers/expand_connect_granted_by_second", want: check.Allowed,
			layers: stack(pol(tcpBind, onFree(tcpBind)), pol(tcpBoth, onFree(tcpBind), onServer(tcpConnect))),
			op:     connectSrvOp, companion: connectFreeOp, companionWant: tcpDeniedOr("ECONNREFUSED")},
		// What the first layer grants stays granted only where the second
		// grants it too: bind on the free port passes both.
		{name: "2_layers/expand_bind_still_granted", want: check.Allowed,
			layers: stack(pol(tcpBind, onFree(tcpBind)), pol(tcpBoth, onFree(tcpBind), onServer(tcpConnect))),
			op:     bindFreeOp, companion: bindEphemeral, companionWant: tcpDenied},
		// A third layer handling both with a rule merged from two: both
		// rights still pass on their ports.
		{name: "3_layers/expand_then_overlap_connect", want: check.Allowed,
			layers: stack(pol(tcpBind, onFree(tcpBind)), pol(tcpBoth, onFree(tcpBind), onServer(tcpConnect)),
				pol(tcpBoth, onServer(tcpConnect), onFree(tcpBind))),
			op: connectSrvOp, companion: connectFreeOp, companionWant: tcpDeniedOr("ECONNREFUSED")},
	}
	for i := range rows {
		rows[i].name = "layers/" + rows[i].name
		rows[i].covers = []string{"net.1"}
	}
	return rows, mirrors
}

func init() {
	check.Build(func() {
		for _, f := range fixture.Families {
			rows, mirrors := tcpOverlapRows()
			for i, r := range rows {
				check.Register(r.caseFor("tcp", f, unix.SOCK_STREAM, unix.IPPROTO_TCP).Mirroring(mirrors[i]))
			}
		}
	})
}
