package suites

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// UDP (ABI 10): bind needs BIND_UDP on the port; connect and sendto with
// an explicit address need CONNECT_SEND_UDP on the remote port, plus
// BIND_UDP on port 0 when the socket is not bound yet (autobind, checked
// only when BIND_UDP is handled). Sockets bound or connected before
// enforcement keep working; connect(AF_UNSPEC) is always allowed; TCP and
// UDP rights are independent. Before ABI 10 the library drops the rights
// and UDP is unrestricted (landlock.rst "UDP bind, connect and send*
// (ABI < 10)", the notes of landlock.h on autobind and AF_UNSPEC).

var udpDenied = check.DeniedFrom(check.ABIUDP, "EACCES")

const (
	udpBind = landlock.NetBindUDP
	udpSend = landlock.NetConnectSendUDP
	udpBoth = udpBind | udpSend
)

var udpRows = []netRow{
	{name: "bind/allowed_port", want: check.Allowed, feature: "net/bind_udp", shows: check.ShowsAllowed, policy: pol(udpBoth, onFree(udpBind)),
		op: func(x *fixture.NetFix) error { return x.BindOn(x.Free) }},
	{name: "bind/other_port_denied", want: udpDenied, feature: "net/bind_udp", shows: check.ShowsDenied, policy: pol(udpBoth, onOther(freeOf, udpBind)),
		op: func(x *fixture.NetFix) error { return x.BindOn(x.Free) }},
	{name: "bind/connect_send_rule_does_not_allow_bind", want: udpDenied, policy: pol(udpBoth, onFree(udpSend)),
		op: func(x *fixture.NetFix) error { return x.BindOn(x.Free) }},
	{name: "bind/port_zero_rule_allows_ephemeral", want: check.Allowed, policy: pol(udpBoth, onPort(0, udpBind)),
		op: func(x *fixture.NetFix) error { return x.BindOn(0) }},
	{name: "bind/ephemeral_denied_without_port_zero_rule", want: udpDenied, policy: pol(udpBoth, onFree(udpBind)),
		op: func(x *fixture.NetFix) error { return x.BindOn(0) }},

	{name: "connect/allowed_with_port_zero_rule", want: check.Allowed, policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)),
		op: func(x *fixture.NetFix) error { return x.ConnectTo(x.Port) }},
	{name: "connect/other_port_denied", want: udpDenied, policy: pol(udpBoth, onOther(serverOf, udpSend), onPort(0, udpBind)),
		op: func(x *fixture.NetFix) error { return x.ConnectTo(x.Port) }},
	// Connecting an unbound socket binds it to an ephemeral port.
	{name: "connect/autobind_denied_without_port_zero_rule", want: udpDenied, policy: pol(udpBoth, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return x.ConnectTo(x.Port) }},
	{name: "connect/autobind_unchecked_when_bind_not_handled", want: check.Allowed, policy: pol(udpSend, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return x.ConnectTo(x.Port) }},
	{name: "connect/socket_bound_before_enforcement", want: check.Allowed, policy: pol(udpBoth, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return unix.Connect(x.Bound, x.Family.Addr(x.Port)) }},
	{name: "connect/after_bind_to_allowed_port", want: check.Allowed, policy: pol(udpBoth, onServer(udpSend), onFree(udpBind)),
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				if err := unix.Bind(fd, x.Family.Addr(x.Free)); err != nil {
					return err
				}
				return unix.Connect(fd, x.Family.Addr(x.Port))
			})
		}},

	{name: "sendto/allowed_with_port_zero_rule", want: check.Allowed, feature: "net/connect_send_udp", shows: check.ShowsAllowed, policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)),
		op: func(x *fixture.NetFix) error { return x.SendTo(x.Port) }},
	{name: "sendto/other_port_denied", want: udpDenied, feature: "net/connect_send_udp", shows: check.ShowsDenied, policy: pol(udpBoth, onOther(serverOf, udpSend), onPort(0, udpBind)),
		op: func(x *fixture.NetFix) error { return x.SendTo(x.Port) }},
	// A first datagram from an unbound socket binds it implicitly.
	{name: "sendto/autobind_denied_without_port_zero_rule", want: udpDenied, policy: pol(udpBoth, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return x.SendTo(x.Port) }},
	{name: "sendto/from_socket_bound_before_enforcement", want: check.Allowed, policy: pol(udpBoth, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return unix.Sendto(x.Bound, []byte("x"), 0, x.Family.Addr(x.Port)) }},
	// An explicit address is checked even on a connected socket.
	{name: "sendto/explicit_address_on_connected_socket_checked", want: udpDenied, policy: pol(udpBoth, onServer(udpSend)),
		op: func(x *fixture.NetFix) error { return unix.Sendto(x.Conn, []byte("x"), 0, x.Family.Addr(x.BoundPort)) }},
	{name: "send/socket_connected_before_enforcement", want: check.Allowed, policy: pol(udpBoth),
		op: func(x *fixture.NetFix) error { _, err := unix.Write(x.Conn, []byte("x")); return err }},

	// connect(AF_UNSPEC) clears the peer; it is always allowed and does
	// not autobind.
	{name: "connect_af_unspec/clears_peer_allowed", want: check.Allowed, policy: pol(udpBoth),
		op: func(x *fixture.NetFix) error {
			return fixture.RawConnect(x.Conn, x.Family.Raw(unix.AF_UNSPEC, 0, x.Family.FullLen()))
		}},
	{name: "connect_af_unspec/unbound_socket_allowed", want: check.Allowed, policy: pol(udpBoth),
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawConnect(fd, x.Family.Raw(unix.AF_UNSPEC, 0, x.Family.FullLen())) })
		}},

	{name: "stream_sockets_unaffected_by_udp_rights", want: check.Allowed, policy: pol(udpBoth),
		op: func(x *fixture.NetFix) error { return fixture.BindOn(x.Family, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0) }},
	{name: "unaffected_by_tcp_rights", want: check.Allowed, policy: pol(tcpBoth),
		op: func(x *fixture.NetFix) error {
			if err := x.BindOn(0); err != nil {
				return err
			}
			return x.SendTo(x.Port)
		}},
}

func init() {
	check.Build(func() {
		dgram, udp := unix.SOCK_DGRAM, unix.IPPROTO_UDP
		check.Register(mirrored(netCases("udp", dgram, udp, udpRows)...)...)
		const udpUnspecV4 = "only IPv4 takes an AF_UNSPEC destination as AF_INET; IPv6 has the refused_when_connect_send_handled row"
		// sendto(AF_UNSPEC) from a socket bound before enforcement.
		sendUnspec := func(x *fixture.NetFix) error {
			return fixture.RawSendto(x.Bound, x.Family.Raw(unix.AF_UNSPEC, x.Port, x.Family.FullLen()), 0)
		}
		check.Register(mirrored(
			// IPv4 takes an AF_UNSPEC destination as AF_INET: its port is
			// checked like any other.
			netRow{name: "sendto_af_unspec/checked_as_af_inet_denied", want: udpDenied, covers: n1, omits: onlyOn(fixture.IPv4, udpUnspecV4),
				policy: pol(udpBoth, onOther(serverOf, udpSend)), op: sendUnspec}.caseFor("udp", fixture.IPv4, dgram, udp),
			netRow{name: "sendto_af_unspec/checked_as_af_inet_allowed", want: check.Allowed, covers: n1, omits: onlyOn(fixture.IPv4, udpUnspecV4),
				policy: pol(udpBoth, onServer(udpSend)), op: sendUnspec}.caseFor("udp", fixture.IPv4, dgram, udp),
			// "Sending datagrams to an AF_UNSPEC destination address family is
			// not supported for IPv6 UDP sockets" once CONNECT_SEND_UDP is
			// handled (landlock.h): EACCES even to an allowed port. Without
			// the right, whatever the stack answers.
			netRow{name: "sendto_af_unspec/refused_when_connect_send_handled", diff: true, covers: n1,
				omits: onlyOn(fixture.IPv6, "IPv4 takes an AF_UNSPEC destination as AF_INET: the checked_as_af_inet rows"),
				want: func(e check.Env) string {
					if e.LibABI() >= check.ABIUDP {
						return "EACCES"
					}
					return asUnsandboxed
				},
				policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)), op: sendUnspec}.caseFor("udp", fixture.IPv6, dgram, udp),
		)...)
	})
}
