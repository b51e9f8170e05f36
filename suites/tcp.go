package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// TCP bind and connect (ABI 4): a denied port gives EACCES; before ABI 4
// the library drops the rights and TCP is unrestricted.

const tcpRights = landlock.NetBindTCP | landlock.NetConnectTCP

var tcpDenied = deniedFrom(4, "EACCES")

// tcpPolicy handles both TCP rights and allows grant on port.
func tcpPolicy(port int, grant landlock.AccessNet) landlock.Policy {
	p := landlock.Policy{Net: tcpRights}
	if grant != 0 {
		p.AllowPort(uint16(port), grant)
	}
	return p
}

func tcpCases(f family) []Case {
	skip := noIPv6(f)
	c := func(name string, want func(Env) string, run func(t *T) string) Case {
		return Case{Area: "tcp", Name: f.name + "/" + name, Skip: skip, Want: want, Run: run}
	}
	stream, tcp := unix.SOCK_STREAM, unix.IPPROTO_TCP
	return []Case{
		c("bind/allowed_port", allowed, func(t *T) string {
			port, err := freePort(f, stream, tcp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(tcpPolicy(port, landlock.NetBindTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, stream, tcp, port))
		}),
		c("bind/other_port_denied", tcpDenied, func(t *T) string {
			port, err := freePort(f, stream, tcp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(tcpPolicy(port+1, landlock.NetBindTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, stream, tcp, port))
		}),
		c("bind/port_zero_rule_allows_ephemeral", allowed, func(t *T) string {
			if err := t.Enforce(tcpPolicy(0, landlock.NetBindTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, stream, tcp, 0))
		}),
		c("bind/ephemeral_denied_without_port_zero_rule", tcpDenied, func(t *T) string {
			if err := t.Enforce(tcpPolicy(1, landlock.NetBindTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, stream, tcp, 0))
		}),
		c("connect/allowed_port", allowed, func(t *T) string {
			srv, port, err := server(f, stream, tcp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(tcpPolicy(port, landlock.NetConnectTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(connectTo(f, stream, tcp, port))
		}),
		c("connect/other_port_denied", tcpDenied, func(t *T) string {
			srv, port, err := server(f, stream, tcp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(tcpPolicy(port+1, landlock.NetConnectTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(connectTo(f, stream, tcp, port))
		}),
		// connect(AF_UNSPEC) disconnects and is always allowed.
		c("connect_af_unspec/not_restricted", allowed, func(t *T) string {
			fd, err := tcpSocket(f)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			return sameAsUnsandboxed(t, func() error { return t.Enforce(tcpPolicy(0, 0)) }, func() error {
				return rawSockaddrCall(unix.SYS_CONNECT, fd, unix.AF_UNSPEC, 0, 16)
			})
		}),
		// A truncated address is refused by the network stack (EINVAL)
		// with or without a domain; Landlock must not turn it into a
		// different answer.
		c("bind/short_address_same_as_unsandboxed", allowed, func(t *T) string {
			fd, err := tcpSocket(f)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			return sameAsUnsandboxed(t, func() error { return t.Enforce(tcpPolicy(0, 0)) }, func() error {
				return rawSockaddrCall(unix.SYS_BIND, fd, uint16(f.af), 1, 8)
			})
		}),
	}
}

func init() {
	for _, f := range families {
		register(tcpCases(f)...)
	}
	register(
		// IPv4 bind(AF_UNSPEC, INADDR_ANY) is treated as AF_INET and checked.
		Case{Area: "tcp", Name: "ipv4/bind_af_unspec_any_address_checked", Want: tcpDenied, Run: func(t *T) string {
			port, err := freePort(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			fd, err := tcpSocket(ipv4)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			if err := t.Enforce(tcpPolicy(port+1, landlock.NetBindTCP)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(rawSockaddrCall(unix.SYS_BIND, fd, unix.AF_UNSPEC, port, 16))
		}},
		// On IPv6, bind(AF_UNSPEC) is refused; which errno changed across
		// implementations (EINVAL before the UDP rework, EAFNOSUPPORT in 7.3).
		Case{Area: "tcp", Name: "ipv6/bind_af_unspec_refused", Skip: noIPv6(ipv6), Want: func(e Env) string {
			if e.LibABI() >= 4 {
				return "EINVAL|EAFNOSUPPORT"
			}
			return "EAFNOSUPPORT"
		}, Run: func(t *T) string {
			fd, err := tcpSocket(ipv6)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			if err := t.Enforce(tcpPolicy(0, 0)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(rawSockaddrCall(unix.SYS_BIND, fd, unix.AF_UNSPEC, 1, 28))
		}},
	)
}
