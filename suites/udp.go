package suites

import (
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// UDP (ABI 10): bind needs BIND_UDP; connect and sendto with an address
// need CONNECT_SEND_UDP on the destination port, plus BIND_UDP on port 0
// when the socket is not bound yet (autobind). Before ABI 10 the library
// drops the rights and UDP is unrestricted.

const udpRights = landlock.NetBindUDP | landlock.NetConnectSendUDP

var udpDenied = deniedFrom(10, "EACCES")

func udpPolicy(rules ...landlock.PortRule) landlock.Policy {
	p := landlock.Policy{Net: udpRights}
	for _, r := range rules {
		p.Rules = append(p.Rules, r)
	}
	return p
}

func port(n int, a landlock.AccessNet) landlock.PortRule {
	return landlock.PortRule{Port: uint64(n), Access: a}
}

func udpCases(f family) []Case {
	skip := noIPv6(f)
	dgram, udp := unix.SOCK_DGRAM, unix.IPPROTO_UDP
	c := func(name string, want func(Env) string, run func(t *T) string) Case {
		return Case{Area: "udp", Name: f.name + "/" + name, Skip: skip, Want: want, Run: run}
	}
	// withServer runs op against a UDP server outside the domain.
	withServer := func(t *T, rules func(port int) landlock.Policy, op func(port int) error) string {
		srv, p, err := server(f, dgram, udp)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(srv)
		if err := t.Enforce(rules(p)); err != nil {
			return enforceFailed(err)
		}
		return Outcome(op(p))
	}
	return []Case{
		c("bind/allowed_port", allowed, func(t *T) string {
			p, err := freePort(f, dgram, udp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(udpPolicy(port(p, landlock.NetBindUDP))); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, dgram, udp, p))
		}),
		c("bind/other_port_denied", udpDenied, func(t *T) string {
			p, err := freePort(f, dgram, udp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(udpPolicy(port(p+1, landlock.NetBindUDP))); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, dgram, udp, p))
		}),
		c("connect/allowed_with_autobind_rule", allowed, func(t *T) string {
			return withServer(t, func(p int) landlock.Policy {
				return udpPolicy(port(p, landlock.NetConnectSendUDP), port(0, landlock.NetBindUDP))
			}, func(p int) error { return connectTo(f, dgram, udp, p) })
		}),
		c("connect/other_port_denied", udpDenied, func(t *T) string {
			return withServer(t, func(p int) landlock.Policy {
				return udpPolicy(port(p+1, landlock.NetConnectSendUDP), port(0, landlock.NetBindUDP))
			}, func(p int) error { return connectTo(f, dgram, udp, p) })
		}),
		c("sendto/allowed_with_autobind_rule", allowed, func(t *T) string {
			return withServer(t, func(p int) landlock.Policy {
				return udpPolicy(port(p, landlock.NetConnectSendUDP), port(0, landlock.NetBindUDP))
			}, func(p int) error { return sendTo(f, p) })
		}),
		c("sendto/other_port_denied", udpDenied, func(t *T) string {
			return withServer(t, func(p int) landlock.Policy {
				return udpPolicy(port(p+1, landlock.NetConnectSendUDP), port(0, landlock.NetBindUDP))
			}, func(p int) error { return sendTo(f, p) })
		}),
		// Sending from an unbound socket binds it implicitly: without a
		// BIND_UDP rule on port 0 that is denied.
		c("sendto/autobind_denied_without_port_zero_rule", udpDenied, func(t *T) string {
			return withServer(t, func(p int) landlock.Policy {
				return udpPolicy(port(p, landlock.NetConnectSendUDP))
			}, func(p int) error { return sendTo(f, p) })
		}),
		c("send/socket_connected_before_enforcement_keeps_working", allowed, func(t *T) string {
			srv, p, err := server(f, dgram, udp)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			fd, err := udpSocket(f)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			if err := unix.Connect(fd, f.addr(p)); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(udpPolicy()); err != nil {
				return enforceFailed(err)
			}
			_, err = unix.Write(fd, []byte("x"))
			return Outcome(err)
		}),
		c("connect_af_unspec/not_restricted", allowed, func(t *T) string {
			fd, err := udpSocket(f)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			return sameAsUnsandboxed(t, func() error { return t.Enforce(udpPolicy()) }, func() error {
				return rawSockaddrCall(unix.SYS_CONNECT, fd, unix.AF_UNSPEC, 0, 16)
			})
		}),
		// UDP rights say nothing about stream sockets.
		c("tcp_bind_unaffected_by_udp_rights", allowed, func(t *T) string {
			if err := t.Enforce(udpPolicy()); err != nil {
				return enforceFailed(err)
			}
			return Outcome(bindOn(f, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
		}),
	}
}

func init() {
	for _, f := range families {
		register(udpCases(f)...)
	}
}

// IPv4 sendto with an AF_UNSPEC address is treated as AF_INET, so its
// port is checked like any other destination.
func init() {
	register(Case{Area: "udp", Name: "ipv4/sendto_af_unspec_checked_as_af_inet", Want: udpDenied, Run: func(t *T) string {
		srv, p, err := server(ipv4, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(srv)
		fd, err := udpSocket(ipv4)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(fd)
		if err := t.Enforce(udpPolicy(port(0, landlock.NetBindUDP), port(p+1, landlock.NetConnectSendUDP))); err != nil {
			return enforceFailed(err)
		}
		var raw [16]byte // sockaddr_in with sa_family AF_UNSPEC
		raw[2], raw[3] = byte(p>>8), byte(p)
		raw[4], raw[7] = 127, 1
		b := []byte("x")
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1, 0, uintptr(unsafe.Pointer(&raw[0])), 16)
		if e != 0 {
			return Outcome(e)
		}
		return OK
	}})
}
