package suites

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Two network promises of the documentation that no test checked.
//
// landlock.h, struct landlock_net_port_attr: a rule for port 0 with the
// BIND right allows binding to an ephemeral port, which the kernel picks
// from the system's range "and, on a per-socket basis, with
// setsockopt(IP_LOCAL_PORT_RANGE)". The rows bind port 0 on a socket
// whose own range is a single free port: allowed, and the port is that
// one; binding that port explicitly (no rule for it) is denied.
//
// The UDP rights concern UDP sockets only (landlock.h: SOCK_DGRAM
// sockets of the UDP protocol): ICMP "ping" datagram sockets and raw
// sockets are outside them. A child in its own user and network
// namespaces (root there, so ping sockets can be allowed for its group
// and raw sockets opened) handles both UDP rights, grants none, and sends
// an ICMP echo from a ping socket and a UDP datagram from a raw socket;
// a UDP socket's send is the denied companion.

// localPortRange reports whether the kernel has the per-socket range
// (Linux 6.3).
var localPortRange = sync.OnceValue(func() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, 40000|40100<<16)
})

func noLocalPortRange(check.Env) string {
	if err := localPortRange(); err != nil {
		return "no per-socket IP_LOCAL_PORT_RANGE in this kernel (setsockopt: " + check.Outcome(err) + ")"
	}
	return ""
}

// portZeroInRange binds port 0 of a socket whose range is one free port
// p, under a domain whose only rule is BIND on port 0, then binds p
// explicitly from another socket.
func portZeroInRange(t *check.T, f fixture.Family, typ, proto int, bind landlock.AccessNet) string {
	p, err := fixture.FreePort(f, typ, proto)
	if err != nil {
		return check.SetupFailedf("free port: %s", check.Outcome(err))
	}
	fd, err := fixture.Socket(f, typ, proto)
	if err != nil {
		return check.SetupFailed(err)
	}
	open := true
	defer func() {
		if open {
			unix.Close(fd)
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, p|p<<16); err != nil {
		return check.SetupFailedf("IP_LOCAL_PORT_RANGE: %s", check.Outcome(err))
	}
	if err := t.Enforce(fixture.NetPolicy(bind, fixture.Allow(0, bind))); err != nil {
		return fixture.EnforceFailed(err)
	}
	eph := check.Outcome(unix.Bind(fd, f.Addr(0)))
	inRange := "no"
	if got := fixture.BoundPort(fd); got == p {
		inRange = "yes"
	} else {
		t.Logf("range %d-%d, bound %d", p, p, got)
	}
	unix.Close(fd) // frees p for the explicit bind
	open = false
	return pairs("ephemeral", eph, "in_range", inRange, "explicit", check.Outcome(fixture.BindOn(f, typ, proto, p)))
}

// pingChildEnv is the role of the namespace child of the ping/raw case.
const pingChildEnv = "LLCONFORM_PING_CHILD"

func init() {
	role.Register(pingChildEnv, func(spec string) int {
		fmt.Println(pingRawChild(spec))
		return 0
	})
}

// pingRawChild runs in its own user and network namespaces: it brings
// lo up, allows ping sockets for its group, enforces a domain handling
// both UDP rights without rules, and sends from a ping, a raw and a UDP
// socket.
func pingRawChild(spec string) string {
	fixture.LockThread() // the domain is the thread's; the process exits after
	ceiling, _ := strconv.Atoi(spec)
	if err := loUp(); err != nil {
		return check.SetupFailedf("lo up: %s", check.Outcome(err))
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 0"), 0); err != nil {
		return check.SetupFailedf("ping_group_range: %v", err)
	}
	ping, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return check.SetupFailedf("ping socket: %s", check.Outcome(err))
	}
	raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return check.SetupFailedf("raw socket: %s", check.Outcome(err))
	}
	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return check.SetupFailedf("udp socket: %s", check.Outcome(err))
	}
	cfg := landlock.Config{Mode: landlock.BestEffort, Threads: landlock.CurrentThread, MaxABI: ceiling}
	if _, err := fixture.NetPolicy(udpBoth).Enforce(cfg); err != nil {
		return fixture.EnforceFailed(err)
	}
	lo := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	// ICMP echo request: type 8, code 0; the kernel fills the checksum
	// and the identifier of a ping socket.
	echo := []byte{8, 0, 0, 0, 0, 0, 0, 1}
	// UDP header to port 9 (discard), length 8, no checksum.
	udpHdr := []byte{0x30, 0x39, 0, 9, 0, 8, 0, 0}
	return pairs("ping", check.Outcome(unix.Sendto(ping, echo, 0, lo)),
		"raw", check.Outcome(unix.Sendto(raw, udpHdr, 0, lo)),
		"udp", check.Outcome(unix.Sendto(udp, []byte("x"), 0, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}})))
}

// loUp sets IFF_UP on lo.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// inPingNetns runs the ping/raw child in new user and network namespaces.
func inPingNetns(ceiling int) string { return inOwnUserNetns(pingChildEnv, strconv.Itoa(ceiling)) }

func init() {
	check.Build(func() {
		for _, k := range []struct {
			area  string
			typ   int
			proto int
			bind  landlock.AccessNet
			abi   int
			cov   string
		}{
			{"tcp", unix.SOCK_STREAM, unix.IPPROTO_TCP, tcpBind, check.ABINet, "§3.8"},
			{"udp", unix.SOCK_DGRAM, unix.IPPROTO_UDP, udpBind, check.ABIUDP, "§3.9"},
		} {
			k := k
			for _, f := range fixture.Families {
				f := f
				check.Register(mirrored(check.Case{Area: k.area, Name: f.Name + "/bind/port_zero_rule_with_per_socket_port_range",
					Skip: skips(noIPv6(f), noLocalPortRange), Covers: []string{k.cov, "net.1"},
					Variants: netVariants(f, k.typ, k.proto),
					Want:     byLibABI(k.abi, "ephemeral=ok in_range=yes explicit=EACCES", "ephemeral=ok in_range=yes explicit=ok"),
					Run: func(t *check.T) string {
						return portZeroInRange(t, f, k.typ, k.proto, k.bind)
					}})...)
			}
		}
		check.Register(check.Case{Area: "udp", Name: "ipv4/ping_and_raw_sockets_outside_udp_rights", Isolation: check.Thread,
			Skip: noUserns, Covers: []string{"§3.9", "net.1"},
			Variants: []check.Variant{{Dim: check.DimFamily, Value: "ipv4"}},
			Omits: []check.Omission{{Dim: check.DimFamily, Values: []string{"ipv6"},
				Why: "the question is which sockets the UDP rights concern (sk_is_udp), not the family; ICMPv6 ping sockets behave alike"}},
			Want: byLibABI(check.ABIUDP, "ping=ok raw=ok udp=EACCES", "ping=ok raw=ok udp=ok"),
			Run:  func(t *check.T) string { return inPingNetns(t.Env.Ceiling) }})
	})
}
