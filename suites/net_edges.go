package suites

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Edges of the TCP and UDP rights (issue 14; coverage-map §3.8, §3.9):
// layers, port 0, UNIX sockets meeting INET addresses and the reverse,
// addresses of the other family, IPv4-mapped IPv6 addresses, privileged
// ports, MPTCP and SCTP (erratum 1), TCP Fast Open, truncated UDP
// addresses and sendmmsg.
//
// Not testable in a VM, with the reason (coverage table):
//   - §3.8 SMC (also named by erratum 1): AF_SMC and IPPROTO_SMC are
//     modules in the Debian cloud kernels, and the VM loads only the
//     modules of kernels.GuestModules (overlay, sctp).
//   - §3.8 SCTP: a module in Debian (CONFIG_IP_SCTP=m), which the VM
//     loads from the kernel's own package before the suites; where it is
//     neither built in nor loaded (a bring-your-own kernel, a host) the
//     SCTP rows skip with the socket's errno as the reason.
//   - §3.8/§3.9 a kernel without CONFIG_IPV6 or CONFIG_INET: every
//     catalogue kernel has both (the IPv6 rows skip where ::1 is absent).
//   - §3.8 the network namespace and `ip` set-up of the selftests: the
//     agent brings lo up itself; cases use loopback and ports chosen by
//     the kernel, so no namespace is needed except for privileged ports.

// A layer is one policy enforced as a layer of its own.
type netLayer = func(x *fixture.NetFix) landlock.Policy

// stack lists the layers of a row; stack() is no layer at all.
func stack(ls ...netLayer) []netLayer { return append([]netLayer{}, ls...) }

// fsOnly is a layer handling a filesystem right only: it restricts no
// network action.
func fsOnly(*fixture.NetFix) landlock.Policy { return landlock.Policy{FS: landlock.FSReadFile} }

func bindFreeOp(x *fixture.NetFix) error    { return x.BindOn(x.Free) }
func connectSrvOp(x *fixture.NetFix) error  { return x.ConnectTo(x.Port) }
func sendSrvOp(x *fixture.NetFix) error     { return x.SendTo(x.Port) }
func bindEphemeral(x *fixture.NetFix) error { return x.BindOn(0) }

// tcpBindFree binds a TCP socket of the fixture's family to its free
// port: the companion of rows whose own socket is not TCP.
func tcpBindFree(x *fixture.NetFix) error {
	return fixture.BindOn(x.Family, unix.SOCK_STREAM, unix.IPPROTO_TCP, x.Free)
}

// tcpLayerRows: the most restrictive layer wins. A layer that handles
// the right and has no rule for the port denies it whatever the other
// layers grant; a layer that does not handle it restricts nothing.
func tcpLayerRows() []netRow {
	grantBind := pol(tcpBoth, onFree(tcpBind))
	denyBind := pol(tcpBoth, onOther(freeOf, tcpBind))
	grantConn := pol(tcpBoth, onServer(tcpConnect))
	denyConn := pol(tcpBoth, onOther(serverOf, tcpConnect))
	spread := stack(pol(tcpBind, onFree(tcpBind)), pol(tcpConnect, onServer(tcpConnect)), fsOnly)
	rows := []netRow{
		{name: "0_layers/bind", want: check.Allowed, layers: stack(), op: bindFreeOp},
		{name: "1_layer/bind_granted", want: check.Allowed, layers: stack(grantBind), op: bindFreeOp},
		{name: "1_layer/bind_denied", want: tcpDenied, layers: stack(denyBind), op: bindFreeOp},
		{name: "2_layers/bind_granted_by_both", want: check.Allowed, layers: stack(grantBind, grantBind), op: bindFreeOp},
		{name: "2_layers/bind_denied_by_second", want: tcpDenied, layers: stack(grantBind, denyBind), op: bindFreeOp},
		{name: "2_layers/bind_denied_by_first", want: tcpDenied, layers: stack(denyBind, grantBind), op: bindFreeOp},
		{name: "2_layers/bind_unhandled_by_second", want: check.Allowed, layers: stack(grantBind, pol(tcpConnect, onServer(tcpConnect))), op: bindFreeOp},
		{name: "3_layers/bind_granted_by_all", want: check.Allowed, layers: stack(grantBind, grantBind, grantBind), op: bindFreeOp},
		{name: "3_layers/bind_denied_by_middle", want: tcpDenied, layers: stack(grantBind, denyBind, grantBind), op: bindFreeOp},
		{name: "3_layers/bind_denied_by_last", want: tcpDenied, layers: stack(grantBind, grantBind, denyBind), op: bindFreeOp},
		// A rule for the port with another right does not grant bind.
		{name: "3_layers/bind_denied_by_connect_only_rule", want: tcpDenied,
			layers: stack(grantBind, pol(tcpBoth, onFree(tcpConnect)), grantBind), op: bindFreeOp},
		{name: "3_layers/bind_with_filesystem_only_layer", want: check.Allowed, layers: stack(grantBind, fsOnly, grantBind), op: bindFreeOp},
		{name: "2_layers/connect_denied_by_second", want: tcpDenied, layers: stack(grantConn, denyConn), op: connectSrvOp},
		{name: "3_layers/connect_granted_by_all", want: check.Allowed, layers: stack(grantConn, grantConn, grantConn), op: connectSrvOp},
		{name: "3_layers/connect_denied_by_last", want: tcpDenied, layers: stack(grantConn, grantConn, denyConn), op: connectSrvOp},
		// Each right handled and granted by a layer of its own: both
		// pass, and an ephemeral bind (no port-0 rule) is still denied.
		{name: "3_layers/rights_spread_bind", want: check.Allowed, layers: spread, op: bindFreeOp,
			companion: bindEphemeral, companionWant: tcpDenied},
		{name: "3_layers/rights_spread_connect", want: check.Allowed, layers: spread, op: connectSrvOp,
			companion: bindEphemeral, companionWant: tcpDenied},
	}
	for i := range rows {
		rows[i].name = "layers/" + rows[i].name
	}
	return rows
}

// udpLayerRows: the same for UDP, where the autobind check of each layer
// that handles BIND_UDP comes on top of the destination check.
func udpLayerRows() []netRow {
	grantSend := pol(udpBoth, onServer(udpSend), onPort(0, udpBind))
	denyDest := pol(udpBoth, onOther(serverOf, udpSend), onPort(0, udpBind))
	grantBind := pol(udpBoth, onFree(udpBind))
	rows := []netRow{
		{name: "0_layers/sendto", want: check.Allowed, layers: stack(), op: sendSrvOp},
		{name: "1_layer/sendto_granted", want: check.Allowed, layers: stack(grantSend), op: sendSrvOp},
		{name: "2_layers/sendto_granted_by_both", want: check.Allowed, layers: stack(grantSend, grantSend), op: sendSrvOp},
		{name: "2_layers/sendto_destination_denied_by_second", want: udpDenied, layers: stack(grantSend, denyDest), op: sendSrvOp},
		{name: "2_layers/sendto_autobind_denied_by_second", want: udpDenied,
			layers: stack(grantSend, pol(udpBoth, onServer(udpSend))), op: sendSrvOp},
		// The second layer handles CONNECT_SEND_UDP only: it does not
		// check the autobind.
		{name: "2_layers/sendto_autobind_unhandled_by_second", want: check.Allowed,
			layers: stack(grantSend, pol(udpSend, onServer(udpSend))), op: sendSrvOp},
		{name: "3_layers/sendto_granted_by_all", want: check.Allowed, layers: stack(grantSend, grantSend, grantSend), op: sendSrvOp},
		{name: "3_layers/sendto_denied_by_middle", want: udpDenied, layers: stack(grantSend, denyDest, grantSend), op: sendSrvOp},
		// A TCP-only layer restricts no UDP action.
		{name: "3_layers/sendto_with_tcp_only_layer", want: check.Allowed, layers: stack(grantSend, pol(tcpBoth), grantSend), op: sendSrvOp,
			companion: tcpBindFree, companionWant: tcpDenied},
		{name: "2_layers/bind_denied_by_second", want: udpDenied,
			layers: stack(grantBind, pol(udpBoth, onOther(freeOf, udpBind))), op: bindFreeOp},
		{name: "3_layers/bind_granted_by_all", want: check.Allowed, layers: stack(grantBind, grantBind, grantBind), op: bindFreeOp},
	}
	for i := range rows {
		rows[i].name = "layers/" + rows[i].name
	}
	return rows
}

// connectZero connects a new socket of the fixture's kind to port 0.
func connectZero(x *fixture.NetFix) error { return x.ConnectTo(0) }

// tcpPortZeroRows: a port-0 rule is about ephemeral binds only. It is no
// wildcard for other ports, the CONNECT right on port 0 grants no
// ephemeral bind, and the port an ephemeral bind got needs its own rule
// to be connected to. connect() to port 0 itself is checked like any
// port (the stack refuses it).
var tcpPortZeroRows = []netRow{
	{name: "bind/port_zero_rule_is_no_wildcard", want: tcpDenied, covers: n1, policy: pol(tcpBoth, onPort(0, tcpBind)), op: bindFreeOp},
	{name: "bind/port_zero_connect_rule_does_not_allow_ephemeral", want: tcpDenied, covers: n1,
		policy: pol(tcpBoth, onPort(0, tcpConnect)), op: bindEphemeral},
	{name: "connect/to_port_zero_with_port_zero_rule_as_unsandboxed", want: unchanged, diff: true, covers: n1,
		policy: pol(tcpBoth, onPort(0, tcpConnect)), op: connectZero,
		companion: connectSrvOp, companionWant: tcpDenied},
	{name: "connect/to_port_zero_denied_without_rule", want: deniedOrStack(check.ABINet), diff: true, covers: n1,
		policy: pol(tcpBoth, onServer(tcpConnect)), op: connectZero},
	{name: "connect/to_port_bound_through_port_zero_rule_denied", want: tcpDenied, covers: n1,
		policy: pol(tcpBoth, onPort(0, tcpBoth)),
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				if err := unix.Bind(fd, x.Family.Addr(0)); err != nil {
					return fmt.Errorf("ephemeral bind: %w", err)
				}
				if err := unix.Listen(fd, 8); err != nil {
					return fmt.Errorf("listen: %w", err)
				}
				return x.ConnectTo(fixture.BoundPort(fd))
			})
		}},
}

var udpPortZeroRows = []netRow{
	{name: "bind/port_zero_rule_is_no_wildcard", want: udpDenied, covers: n1, policy: pol(udpBoth, onPort(0, udpBind)), op: bindFreeOp},
	// Only CONNECT_SEND_UDP is handled: no autobind check is involved.
	{name: "connect/to_port_zero_with_port_zero_rule_as_unsandboxed", want: unchanged, diff: true, covers: n1,
		policy: pol(udpSend, onPort(0, udpSend)), op: connectZero, companion: sendSrvOp, companionWant: udpDenied},
	{name: "connect/to_port_zero_denied_without_rule", want: deniedOrStack(check.ABIUDP), diff: true, covers: n1,
		policy: pol(udpSend, onServer(udpSend)), op: connectZero},
	{name: "sendto/port_zero_with_port_zero_rule_as_unsandboxed", want: unchanged, diff: true, covers: n1,
		policy: pol(udpSend, onPort(0, udpSend)), op: func(x *fixture.NetFix) error { return x.SendTo(0) },
		companion: sendSrvOp, companionWant: udpDenied},
	{name: "sendto/port_zero_denied_without_rule", want: deniedOrStack(check.ABIUDP), diff: true, covers: n1,
		policy: pol(udpSend, onServer(udpSend)), op: func(x *fixture.NetFix) error { return x.SendTo(0) }},
}

var n1 = []string{"net.1"}

// deniedOrStack is EACCES where the library's ABI has the right, else
// the network stack's own answer (a differential row: port 0 is refused
// by the stack in some calls, ECONNREFUSED or EINVAL).
func deniedOrStack(abi int) func(check.Env) string {
	return func(e check.Env) string {
		if e.LibABI() >= abi {
			return "EACCES"
		}
		return asUnsandboxed
	}
}

// unixRaw is a sockaddr_un naming a path nobody listens on.
func unixRaw() []byte {
	b := make([]byte, 110) // sizeof(struct sockaddr_un)
	binary.NativeEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], "/nonexistent/llconform.sock")
	return b
}

// onUnixSocket runs op on a new UNIX socket of type typ.
func onUnixSocket(typ int, op func(fd int) error) error {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return op(fd)
}

// refusedOrEinval: Landlock's TCP and UDP rights are about ports of
// addresses of the socket's family. The documentation promises nothing
// about an address of another family, which the network stack refuses
// (EINVAL or EAFNOSUPPORT): with the right handled Landlock may give
// the stack's answer or refuse the address itself with EINVAL, as 7.3
// and earlier kernels did for AF_UNSPEC binds (tcp.go). EACCES would
// mean a port of a foreign address was checked as the socket's own.
func refusedOrEinval(abi int) func(check.Env) string {
	return func(e check.Env) string {
		if e.LibABI() >= abi {
			return asUnsandboxed + "|EINVAL"
		}
		return asUnsandboxed
	}
}

// tcpFamilyRows: UNIX sockets are no TCP sockets, whatever address they
// are given (the stack refuses an INET address); a TCP socket given a
// UNIX address or one of the other INET family is refused.
var tcpFamilyRows = []netRow{
	{name: "unix_stream_socket/connect_to_inet_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return onUnixSocket(unix.SOCK_STREAM, func(fd int) error { return fixture.RawConnect(fd, x.Family.FullAddr(x.Port)) })
		}},
	{name: "unix_stream_socket/bind_to_inet_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return onUnixSocket(unix.SOCK_STREAM, func(fd int) error { return fixture.RawBind(fd, x.Family.FullAddr(x.Free)) })
		}},
	{name: "inet_socket/connect_to_unix_address_refused", want: refusedOrEinval(check.ABINet), diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawConnect(fd, unixRaw()) })
		}},
	{name: "inet_socket/bind_to_unix_address_refused", want: refusedOrEinval(check.ABINet), diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawBind(fd, unixRaw()) })
		}},
	// The port of the foreign address is one the policy does not grant.
	{name: "other_family_address/connect_refused", want: refusedOrEinval(check.ABINet), diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawConnect(fd, x.Family.Other().FullAddr(x.Port)) })
		}},
	{name: "other_family_address/bind_refused", want: refusedOrEinval(check.ABINet), diff: true, covers: n1,
		policy: pol(tcpBoth), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawBind(fd, x.Family.Other().FullAddr(x.Free)) })
		}},
}

// udpFamilyRows are per family: an IPv6 UDP socket accepts an AF_INET
// destination (it sends to the IPv4 address; ipv6(7)), so there the
// foreign address is a real destination whose port the policy does not
// grant: refused by Landlock (EACCES, or EINVAL for the family), never
// sent. An IPv4 UDP socket refuses an AF_INET6 destination itself.
func udpFamilyRows(f fixture.Family) []netRow {
	foreign := func(op func(x *fixture.NetFix, fd int, sa []byte) error) func(x *fixture.NetFix) error {
		return func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				if x.Family.AF == unix.AF_INET6 { // whatever the bindv6only default
					if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
						return fmt.Errorf("IPV6_V6ONLY: %w", err)
					}
				}
				return op(x, fd, x.Family.Other().FullAddr(x.Port))
			})
		}
	}
	sendForeign := foreign(func(x *fixture.NetFix, fd int, sa []byte) error { return fixture.RawSendto(fd, sa, 0) })
	connectForeign := foreign(func(x *fixture.NetFix, fd int, sa []byte) error { return fixture.RawConnect(fd, sa) })
	rows := []netRow{
		{name: "unix_dgram_socket/sendto_inet_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBoth), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return onUnixSocket(unix.SOCK_DGRAM, func(fd int) error { return fixture.RawSendto(fd, x.Family.FullAddr(x.Port), 0) })
			}},
		{name: "unix_dgram_socket/connect_to_inet_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBoth), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return onUnixSocket(unix.SOCK_DGRAM, func(fd int) error { return fixture.RawConnect(fd, x.Family.FullAddr(x.Port)) })
			}},
		{name: "inet_socket/sendto_unix_address_refused", want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
			policy: pol(udpBoth, onPort(0, udpBind)), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawSendto(fd, unixRaw(), 0) })
			}},
		{name: "inet_socket/connect_to_unix_address_refused", want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
			policy: pol(udpBoth, onPort(0, udpBind)), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawConnect(fd, unixRaw()) })
			}},
		{name: "other_family_address/bind_refused", want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
			policy: pol(udpBoth), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawBind(fd, x.Family.Other().FullAddr(x.Free)) })
			}},
	}
	ungranted := pol(udpBoth, onPort(0, udpBind))
	if f.AF == unix.AF_INET6 {
		deniedOrEinval := func(e check.Env) string {
			if e.LibABI() >= check.ABIUDP {
				return "EACCES|EINVAL"
			}
			return check.OK
		}
		// A destination the policy grants is sent to: the
		// documentation excludes only AF_UNSPEC destinations for IPv6
		// UDP sockets (landlock.h, CONNECT_SEND_UDP notes).
		granted := pol(udpBoth, onServer(udpSend), onPort(0, udpBind))
		v6 := onlyOn(fixture.IPv6, "only a dual-stack IPv6 socket sends to an IPv4 address; IPv4 has the other_family_address rows")
		return append(rows,
			netRow{name: "ipv4_address/sendto_denied", omits: v6, want: deniedOrEinval, covers: n1, policy: ungranted, op: sendForeign},
			netRow{name: "ipv4_address/connect_denied", omits: v6, want: deniedOrEinval, covers: n1, policy: ungranted, op: connectForeign},
			netRow{name: "ipv4_address/sendto_granted_port", omits: v6, want: check.Allowed, covers: n1, policy: granted, op: sendForeign,
				companion: bindFreeOp, companionWant: udpDenied, deviate: udpForeignFamilyRefused},
			netRow{name: "ipv4_address/connect_granted_port", omits: v6, want: check.Allowed, covers: n1, policy: granted, op: connectForeign,
				companion: bindFreeOp, companionWant: udpDenied, deviate: udpForeignFamilyRefused})
	}
	v4 := onlyOn(fixture.IPv4, "an IPv4 socket refuses an IPv6 destination itself; IPv6 sends to an IPv4 one: the ipv4_address rows")
	return append(rows,
		netRow{name: "other_family_address/sendto_refused", omits: v4, want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
			policy: ungranted, companion: bindFreeOp, companionWant: udpDenied, op: sendForeign},
		netRow{name: "other_family_address/connect_refused", omits: v4, want: refusedOrEinval(check.ABIUDP), diff: true, covers: n1,
			policy: ungranted, companion: bindFreeOp, companionWant: udpDenied, op: connectForeign})
}

// udpForeignFamilyRefused: where UDP rights exist, a kernel refusing an
// AF_INET destination on a dual-stack IPv6 socket (catalogued in fixes.go).
func udpForeignFamilyRefused(e check.Env) []check.Deviation {
	if e.LibABI() < check.ABIUDP {
		return nil
	}
	return check.ChangeUDPv6ForeignFamily.Observed("EINVAL; restriction " + udpDenied(e))(e)
}

// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1): an IPv6 socket reaching
// the IPv4 fixture. The port is checked like any other: the rights are
// about ports, whatever the address.
var mappedV4 = fixture.Family{Name: "ipv6_mapped_ipv4", AF: unix.AF_INET}

func mappedAddr(port int) unix.Sockaddr {
	return &unix.SockaddrInet6{Port: port, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
}

// onDualStack runs op on a new IPv6 socket that accepts IPv4-mapped
// addresses whatever the system's bindv6only default.
func onDualStack(x *fixture.NetFix, op func(fd int) error) error {
	return fixture.WithSocket(fixture.IPv6, x.Typ, x.Proto, func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fmt.Errorf("IPV6_V6ONLY: %w", err)
		}
		return op(fd)
	})
}

func mappedConnect(x *fixture.NetFix) error {
	return onDualStack(x, func(fd int) error { return fixture.ConnectFresh(fd, mappedAddr(x.Port)) })
}
func mappedBind(x *fixture.NetFix) error {
	return onDualStack(x, func(fd int) error { return unix.Bind(fd, mappedAddr(x.Free)) })
}
func mappedSendto(x *fixture.NetFix) error {
	return onDualStack(x, func(fd int) error { return unix.Sendto(fd, []byte("x"), 0, mappedAddr(x.Port)) })
}

var ipv6Skip = noIPv6(fixture.IPv6)

// mappedOnly: the mapped rows are their own family value.
var mappedOnly = []check.Omission{{Dim: check.DimFamily, Values: []string{"ipv4", "ipv6"},
	Why: "an IPv4-mapped address exists only on a dual-stack IPv6 socket; the plain families have rows of their own"}}

var tcpMappedRows = []netRow{
	{name: "connect/allowed_port", want: check.Allowed, skip: ipv6Skip, covers: n1, policy: pol(tcpBoth, onServer(tcpConnect)), op: mappedConnect},
	{name: "connect/other_port_denied", want: tcpDenied, skip: ipv6Skip, covers: n1, policy: pol(tcpBoth, onOther(serverOf, tcpConnect)), op: mappedConnect},
	{name: "bind/allowed_port", want: check.Allowed, skip: ipv6Skip, covers: n1, policy: pol(tcpBoth, onFree(tcpBind)), op: mappedBind},
	{name: "bind/other_port_denied", want: tcpDenied, skip: ipv6Skip, covers: n1, policy: pol(tcpBoth, onOther(freeOf, tcpBind)), op: mappedBind},
}

var udpMappedRows = []netRow{
	{name: "sendto/allowed_port", want: check.Allowed, skip: ipv6Skip, covers: n1,
		policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)), op: mappedSendto},
	{name: "sendto/other_port_denied", want: udpDenied, skip: ipv6Skip, covers: n1,
		policy: pol(udpBoth, onOther(serverOf, udpSend), onPort(0, udpBind)), op: mappedSendto},
	{name: "connect/other_port_denied", want: udpDenied, skip: ipv6Skip, covers: n1,
		policy: pol(udpBoth, onOther(serverOf, udpSend), onPort(0, udpBind)), op: mappedConnect},
	{name: "bind/allowed_port", want: check.Allowed, skip: ipv6Skip, covers: n1, policy: pol(udpBoth, onFree(udpBind)), op: mappedBind},
	{name: "bind/other_port_denied", want: udpDenied, skip: ipv6Skip, covers: n1, policy: pol(udpBoth, onOther(freeOf, udpBind)), op: mappedBind},
}

// Privileged ports. The system refuses ports below
// net.ipv4.ip_unprivileged_port_start (1024) without
// CAP_NET_BIND_SERVICE with EACCES, the errno of a Landlock denial too.
// A rule grants no capability: unprivileged, a granted privileged port
// gives the system's answer (differential). Landlock's own EACCES is
// separated where the system allows the port: as root (needRoot rows)
// and, for every user, in a user and network namespace of the case's
// own (net_userns.go).
func privilegedRows(denied func(check.Env) string, bind, other landlock.AccessNet) []netRow {
	privOp := func(x *fixture.NetFix) error { return x.BindOn(x.Priv) }
	return []netRow{
		{name: "bind/privileged_port_rule_grants_no_capability", want: unchanged, diff: true, covers: n1,
			prep: anyPrivilegedPort, policy: func(x *fixture.NetFix) landlock.Policy {
				return fixture.NetPolicy(bind|other, fixture.Allow(x.Priv, bind))
			},
			op: privOp, companion: bindFreeOp, companionWant: denied},
		{name: "bind/privileged_port_denied_without_rule", want: denied, covers: n1, skip: check.NeedRoot("CAP_NET_BIND_SERVICE"),
			prep: privilegedPort, policy: pol(bind|other, onFree(bind)), op: privOp},
	}
}

// anyPrivilegedPort is a free privileged port for root; unprivileged, a
// privileged port the system refuses to bind anyway (whether it is in use
// does not matter to a differential row).
func anyPrivilegedPort(x *fixture.NetFix) error {
	if os.Geteuid() == 0 {
		return privilegedPort(x)
	}
	x.Priv = 1023
	return nil
}

// Erratum 1: TCP rights restrict TCP sockets only, not MPTCP or SCTP
// stream sockets. Fixed kernels leave them alone; a kernel whose errata
// mask lacks the fix and denies them is "known". The companion binds a
// TCP socket, which the same policy must deny.
func protoRows(proto string) []netRow {
	unfixed := check.UnfixedErratum(1, "EACCES; restriction EACCES")
	cov := []string{"net.1", "§6.4"}
	return []netRow{
		{name: proto + "/bind_not_restricted_by_tcp_rights", want: check.Allowed, covers: cov, deviate: unfixed,
			policy: pol(tcpBoth), op: bindFreeOp, companion: tcpBindFree, companionWant: tcpDenied},
		{name: proto + "/connect_not_restricted_by_tcp_rights", want: check.Allowed, covers: cov, deviate: unfixed,
			policy: pol(tcpBoth), op: connectSrvOp, companion: tcpBindFree, companionWant: tcpDenied},
	}
}

// noProto is an environment skip: the kernel cannot create a stream
// socket of the protocol in the family (not built in, IPv6 support of
// the protocol missing, or a module the VM did not load).
func noProto(f fixture.Family, proto int, name string) func(check.Env) string {
	return func(check.Env) string {
		fd, err := unix.Socket(f.AF, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Sprintf("no %s over %s in this kernel (socket: %s): not built in, and no module loaded (a catalog kernel's header lists the modules the VM loaded)", name, f.Name, check.Outcome(err))
		}
		unix.Close(fd)
		return ""
	}
}

// TCP Fast Open beyond sendto: sendmsg takes the same path, a granted
// port gives the unsandboxed answer, TCP_FASTOPEN_CONNECT defers the SYN
// but goes through connect(), and an address given to a connected socket
// is ignored by TCP (nothing is connected, so nothing is checked).
var tcpFastOpenRows = []netRow{
	{name: "sendto_fastopen/allowed_port_as_unsandboxed", want: unchanged, diff: true, covers: []string{"net.1", "§6.10"},
		policy: pol(tcpBoth, onServer(tcpConnect)), companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				return unix.Sendto(fd, []byte("x"), unix.MSG_FASTOPEN, x.Family.Addr(x.Port))
			})
		}},
	{name: "sendmsg_fastopen/checked_as_connect", diff: true, policy: pol(tcpConnect), covers: []string{"net.1", "§6.10"},
		want:    tcpDeniedOr(asUnsandboxed),
		deviate: fastOpenUnchecked,
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				_, err := unix.SendmsgN(fd, []byte("x"), nil, x.Family.Addr(x.Port), unix.MSG_FASTOPEN)
				return err
			})
		}},
	{name: "fastopen_connect_sockopt/checked_as_connect", want: tcpDenied, covers: n1, policy: pol(tcpConnect),
		op: func(x *fixture.NetFix) error {
			return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error {
				if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); err != nil {
					return fmt.Errorf("TCP_FASTOPEN_CONNECT: %w", err)
				}
				return unix.Connect(fd, x.Family.Addr(x.Port))
			})
		}},
	{name: "send/address_ignored_on_connection_established_before", want: check.Allowed, covers: n1, policy: pol(tcpBoth),
		companion: bindFreeOp, companionWant: tcpDenied,
		op: func(x *fixture.NetFix) error { return unix.Sendto(x.Conn, []byte("x"), 0, x.Family.Addr(x.Free)) }},
}

// UDP with truncated addresses. The stack refuses them (EINVAL). With
// only BIND_UDP handled and no port-0 rule, the first datagram of an
// unbound socket would autobind, which the domain denies: Landlock may
// refuse it (EACCES) before the stack looks at the address, or leave the
// refusal to the stack; it must not let it through. With a port-0 rule
// the autobind is granted and the stack's answer stays.
func udpTruncatedRows() []netRow {
	truncSend := func(x *fixture.NetFix) error {
		return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawSendto(fd, x.ShortAddr(x.Port), 0) })
	}
	return []netRow{
		{name: "sendto_truncated_address/only_bind_handled_without_port_zero_rule", diff: true, covers: n1,
			policy: pol(udpBind), op: truncSend, companion: bindFreeOp, companionWant: udpDenied,
			want: func(e check.Env) string {
				if e.LibABI() >= check.ABIUDP {
					return "EACCES|" + asUnsandboxed
				}
				return asUnsandboxed
			}},
		{name: "sendto_truncated_address/only_bind_handled_with_port_zero_rule", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBind, onPort(0, udpBind)), op: truncSend, companion: bindFreeOp, companionWant: udpDenied},
		{name: "sendto_truncated_address/both_handled_destination_granted", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)), op: truncSend, companion: bindFreeOp, companionWant: udpDenied},
		{name: "bind/truncated_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBoth, onPort(0, udpBind)), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawBind(fd, x.ShortAddr(x.Free)) })
			}},
		{name: "connect/truncated_address_as_unsandboxed", want: unchanged, diff: true, covers: n1,
			policy: pol(udpBoth, onServer(udpSend), onPort(0, udpBind)), companion: bindFreeOp, companionWant: udpDenied,
			op: func(x *fixture.NetFix) error {
				return fixture.WithSocket(x.Family, x.Typ, x.Proto, func(fd int) error { return fixture.RawConnect(fd, x.ShortAddr(x.Port)) })
			}},
	}
}

// sendmmsg sends one datagram per destination from the socket bound
// before enforcement (no autobind involved) and reports how many were
// sent, or the error of the first, and how many the server received.
// Each message is checked on its own: sendmmsg stops at the first denied
// destination and reports the ones sent before it.
func sendmmsg(x *fixture.NetFix, ports ...int) string {
	addrs := make([][]byte, len(ports))
	msgs := make([]unix.Mmsghdr, len(ports))
	payload := []byte("x")
	iov := unix.Iovec{Base: &payload[0]}
	iov.SetLen(1)
	for i, p := range ports {
		addrs[i] = x.Family.FullAddr(p)
		msgs[i].Hdr.Name = &addrs[i][0]
		msgs[i].Hdr.Namelen = uint32(len(addrs[i]))
		msgs[i].Hdr.Iov = &iov
		msgs[i].Hdr.SetIovlen(1)
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(x.Bound), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	sent := fmt.Sprintf("sent %d of %d", n, len(ports))
	if e != 0 {
		sent = check.Outcome(e)
	}
	// Loopback delivery may finish after the call returns (a slow guest's
	// softirq work goes to ksoftirqd): a last datagram to the granted
	// server port marks the end, and what the server holds is counted up
	// to it, then whatever else is already there.
	end := []byte("e")
	marked := unix.Sendto(x.Bound, end, 0, x.Family.Addr(x.Port)) == nil
	if marked {
		unix.SetsockoptTimeval(x.Srv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	}
	got := 0
	buf := make([]byte, 8)
	for {
		flags := unix.MSG_DONTWAIT
		if marked {
			flags = 0
		}
		n, _, err := unix.Recvfrom(x.Srv, buf, flags)
		if err != nil {
			break
		}
		if marked && n == 1 && buf[0] == end[0] {
			marked = false // the rest is a drain of what is already there
			continue
		}
		got++
	}
	return fmt.Sprintf("%s, server got %d", sent, got)
}

// mmsgRow is a sendmmsg case: destinations from the fixture, the policy
// granting the server's port, and the outcome on each side of abiUDP.
type mmsgRow struct {
	name          string
	dests         func(x *fixture.NetFix) []int
	with, without string
}

var mmsgRows = []mmsgRow{
	{"sendmmsg/all_destinations_granted", func(x *fixture.NetFix) []int { return []int{x.Port, x.Port} },
		"sent 2 of 2, server got 2", "sent 2 of 2, server got 2"},
	{"sendmmsg/stops_at_denied_destination", func(x *fixture.NetFix) []int { return []int{x.Port, x.Free, x.Port} },
		"sent 1 of 3, server got 1", "sent 3 of 3, server got 2"},
	{"sendmmsg/first_destination_denied", func(x *fixture.NetFix) []int { return []int{x.Free, x.Port} },
		"EACCES, server got 0", "sent 2 of 2, server got 1"},
}

func (r mmsgRow) caseFor(f fixture.Family) check.Case {
	return check.Case{Area: "udp", Name: f.Name + "/" + r.name, Skip: noIPv6(f), Covers: []string{"§3.9", "net.1"},
		Variants: netVariants(f, unix.SOCK_DGRAM, unix.IPPROTO_UDP),
		Want: func(e check.Env) string {
			if e.LibABI() >= check.ABIUDP {
				return r.with
			}
			return r.without
		},
		Run: func(t *check.T) string {
			x := fixture.NewNetFix(f, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
			defer x.Close()
			if x.SetupErr != nil {
				return check.SetupFailedf("%s: %s", x.SetupErrWhat, check.Outcome(x.SetupErr))
			}
			if err := t.Enforce(fixture.NetPolicy(udpBoth, fixture.Allow(x.Port, udpSend))); err != nil {
				return fixture.EnforceFailed(err)
			}
			return sendmmsg(x, r.dests(x)...)
		}}
}

func init() {
	check.Build(func() {
		stream, tcp := unix.SOCK_STREAM, unix.IPPROTO_TCP
		dgram, udp := unix.SOCK_DGRAM, unix.IPPROTO_UDP
		for _, f := range fixture.Families {
			for _, r := range tcpLayerRows() {
				r.covers = n1
				check.Register(mirrored(r.caseFor("tcp", f, stream, tcp))...)
			}
			for _, r := range udpLayerRows() {
				r.covers = n1
				check.Register(r.caseFor("udp", f, dgram, udp))
			}
		}
		check.Register(mirrored(netCases("tcp", stream, tcp, tcpPortZeroRows)...)...)
		check.Register(mirrored(netCases("udp", dgram, udp, udpPortZeroRows)...)...)
		check.Register(mirrored(netCases("tcp", stream, tcp, tcpFamilyRows)...)...)
		for _, f := range fixture.Families {
			for _, r := range udpFamilyRows(f) {
				check.Register(mirrored(r.caseFor("udp", f, dgram, udp))...)
			}
		}
		for _, r := range tcpMappedRows {
			r.omits = mappedOnly
			check.Register(r.caseFor("tcp", mappedV4, stream, tcp))
		}
		for _, r := range udpMappedRows {
			r.omits = mappedOnly
			check.Register(mirrored(r.caseFor("udp", mappedV4, dgram, udp))...)
		}
		check.Register(mirrored(netCases("tcp", stream, tcp, privilegedRows(tcpDenied, tcpBind, tcpConnect))...)...)
		check.Register(mirrored(netCases("udp", dgram, udp, privilegedRows(udpDenied, udpBind, udpSend))...)...)
		for _, p := range []struct {
			name  string
			proto int
		}{{"mptcp", unix.IPPROTO_MPTCP}, {"sctp", unix.IPPROTO_SCTP}} {
			for _, f := range fixture.Families {
				for _, r := range protoRows(p.name) {
					r.skip = noProto(f, p.proto, p.name)
					check.Register(mirrored(r.caseFor("tcp", f, stream, p.proto))...)
				}
			}
		}
		check.Register(mirrored(netCases("tcp", stream, tcp, tcpFastOpenRows)...)...)
		check.Register(mirrored(netCases("udp", dgram, udp, udpTruncatedRows())...)...)
		for _, f := range fixture.Families {
			for _, r := range mmsgRows {
				check.Register(mirrored(r.caseFor(f))...)
			}
		}
	})
}
