package suites

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// bind(2) with an AF_UNSPEC address, for TCP and UDP alike. An IPv4
// socket takes AF_UNSPEC with INADDR_ANY as AF_INET (a bind to the
// port, which the bind right must allow); with any other address, or a
// short one, the stack refuses it and Landlock must give the same
// answer. An IPv6 socket refuses AF_UNSPEC whatever the address
// (net_edges.go: refusedOrEinval). The TCP rows that tcp.go has
// (any_address_checked, loopback_address_as_unsandboxed, IPv6) are not
// repeated here.

// unspecAny is an AF_UNSPEC address of length n with INADDR_ANY and the
// port.
func unspecAny(x *fixture.NetFix, port, n int) []byte {
	sa := x.Family.Raw(unix.AF_UNSPEC, port, n)
	clear(sa[4:min(8, n)])
	return sa
}

func bindRaw(sa func(x *fixture.NetFix) []byte) func(x *fixture.NetFix) error {
	return func(x *fixture.NetFix) error {
		return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawBind(fd, sa(x)) })
	}
}

// bindOtherOf binds the port next to the free one, which the rows'
// rules do not grant: the companion of rows whose rule allows the free
// port.
func bindOtherOf(x *fixture.NetFix) error { return x.BindOn(fixture.Other(x.Free)) }

const unspecUDPV4 = "bind(AF_UNSPEC) is taken as AF_INET only on an IPv4 socket; IPv6 has the refused_as_unsandboxed_or_einval row"

// unspecRows are written once for a protocol's bind right and its
// denial.
func unspecRows(bind, both landlock.AccessNet, denied func(check.Env) string) (v4 []netRow) {
	anyFree := bindRaw(func(x *fixture.NetFix) []byte { return unspecAny(x, x.Free, 16) })
	return []netRow{
		{name: "bind_af_unspec/any_address_allowed_by_rule", want: check.Allowed, policy: pol(both, onFree(bind)), covers: n1, op: anyFree},
		// One byte short of a sockaddr_in: EINVAL, also where the port is
		// allowed.
		{name: "bind_af_unspec/short_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
			policy: pol(both, onFree(bind)), companion: bindOtherOf, companionWant: denied,
			op: bindRaw(func(x *fixture.NetFix) []byte { return unspecAny(x, x.Free, 15) })},
	}
}

func init() {
	check.Build(func() {
		const mirror = "net_test.c:protocol.bind_unspec"
		stream, tcp := unix.SOCK_STREAM, unix.IPPROTO_TCP
		dgram, udp := unix.SOCK_DGRAM, unix.IPPROTO_UDP
		var cases []check.Case
		for _, r := range unspecRows(tcpBind, tcpBoth, tcpDenied) {
			r.omits = onlyOn(fixture.IPv4, unspecV4)
			cases = append(cases, r.caseFor("tcp", fixture.IPv4, stream, tcp))
		}
		udpRows := append(unspecRows(udpBind, udpBoth, udpDenied),
			netRow{name: "bind_af_unspec/any_address_checked", want: udpDenied, policy: pol(udpBoth, onOther(freeOf, udpBind)), covers: n1,
				op: bindRaw(func(x *fixture.NetFix) []byte { return unspecAny(x, x.Free, 16) })},
			netRow{name: "bind_af_unspec/loopback_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
				companion: bindFree, companionWant: udpDenied, policy: pol(udpBoth, onPort(0, udpBind)),
				op: bindRaw(func(x *fixture.NetFix) []byte { return x.Family.Raw(unix.AF_UNSPEC, x.Free, 16) })},
			// The rights of the other protocol do not apply: a domain
			// handling only TCP binds leaves a UDP bind(AF_UNSPEC) alone.
			netRow{name: "bind_af_unspec/any_address_unrestricted_by_tcp_bind", want: check.Allowed, policy: pol(tcpBind), covers: n1,
				op: bindRaw(func(x *fixture.NetFix) []byte { return unspecAny(x, x.Free, 16) })},
		)
		for _, r := range udpRows {
			r.omits = onlyOn(fixture.IPv4, unspecUDPV4)
			cases = append(cases, r.caseFor("udp", fixture.IPv4, dgram, udp))
		}
		cases = append(cases,
			netRow{name: "bind_af_unspec/any_address_unrestricted_by_udp_bind", want: check.Allowed, policy: pol(udpBind), covers: n1,
				omits: onlyOn(fixture.IPv4, unspecV4),
				op:    bindRaw(func(x *fixture.NetFix) []byte { return unspecAny(x, x.Free, 16) })}.caseFor("tcp", fixture.IPv4, stream, tcp),
			netRow{name: "bind_af_unspec/refused_as_unsandboxed_or_einval", want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
				policy: pol(udpBoth, onPort(0, udpBind)), companion: bindFree, companionWant: udpDenied,
				omits: onlyOn(fixture.IPv6, "IPv6 refuses bind(AF_UNSPEC) whatever the address; IPv4 has the bind_af_unspec rows of its own"),
				op:    bindRaw(func(x *fixture.NetFix) []byte { return x.Family.Raw(unix.AF_UNSPEC, x.Free, x.Family.FullLen()) })}.caseFor("udp", fixture.IPv6, dgram, udp),
		)
		for _, c := range cases {
			check.Register(c.Mirroring(mirror))
		}
	})
}
