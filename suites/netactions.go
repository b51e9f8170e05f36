package suites

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
)

// Network and process actions shared by the tcp, udp, scope, resolveunix,
// ptrace, errata and downgrade suites. Every socket is created with an
// explicit protocol through x/sys: Go's net package may pick MPTCP, which
// Landlock's TCP rights do not cover (erratum 1). Loopback only; ports
// come from binding port 0 before enforcement.

type family struct {
	name string
	af   int
}

var (
	ipv4     = family{"ipv4", unix.AF_INET}
	ipv6     = family{"ipv6", unix.AF_INET6}
	families = []family{ipv4, ipv6}
)

// addr is the loopback address of the family at port.
func (f family) addr(port int) unix.Sockaddr {
	if f.af == unix.AF_INET6 {
		return &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}
	}
	return &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
}

// raw is a hand-made sockaddr in the family's layout with any sa_family,
// the loopback address, port and length: AF_UNSPEC and truncated
// addresses cannot be expressed with x/sys's typed sockaddrs.
func (f family) raw(saFamily uint16, port, length int) []byte {
	b := make([]byte, 28) // sizeof(struct sockaddr_in6)
	binary.NativeEndian.PutUint16(b, saFamily)
	binary.BigEndian.PutUint16(b[2:], uint16(port))
	if f.af == unix.AF_INET6 {
		b[8+15] = 1 // sin6_addr = ::1
	} else {
		copy(b[4:], []byte{127, 0, 0, 1})
	}
	return b[:length]
}

// fullLen is the length of the family's sockaddr.
func (f family) fullLen() int {
	if f.af == unix.AF_INET6 {
		return 28
	}
	return 16
}

func sockaddrCall(trap uintptr, fd int, sa []byte) error {
	_, _, e := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

func rawBind(fd int, sa []byte) error    { return sockaddrCall(unix.SYS_BIND, fd, sa) }
func rawConnect(fd int, sa []byte) error { return sockaddrCall(unix.SYS_CONNECT, fd, sa) }

// rawSendto sends one byte to a hand-made address.
func rawSendto(fd int, sa []byte, flags int) error {
	msg := []byte("x")
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), 1,
		uintptr(flags), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

func socket(f family, typ, proto int) (int, error) {
	return unix.Socket(f.af, typ|unix.SOCK_CLOEXEC, proto)
}

// boundPort returns the local port of fd.
func boundPort(fd int) int {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// freePort finds a port that is free now, by binding port 0 and closing.
func freePort(f family, typ, proto int) (int, error) {
	fd, err := socket(f, typ, proto)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, f.addr(0)); err != nil {
		return 0, err
	}
	return boundPort(fd), nil
}

// server is a listening TCP (or bound UDP) socket on an ephemeral
// loopback port.
func server(f family, typ, proto int) (fd, port int, err error) {
	fd, err = socket(f, typ, proto)
	if err != nil {
		return -1, 0, err
	}
	if err = unix.Bind(fd, f.addr(0)); err == nil && typ == unix.SOCK_STREAM {
		err = unix.Listen(fd, 64)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, boundPort(fd), nil
}

// withSocket runs op on a new socket and closes it.
func withSocket(f family, typ, proto int, op func(fd int) error) error {
	fd, err := socket(f, typ, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return op(fd)
}

// bindOn binds a new socket to port.
func bindOn(f family, typ, proto, port int) error {
	return withSocket(f, typ, proto, func(fd int) error { return unix.Bind(fd, f.addr(port)) })
}

// connectTo connects a new socket to port.
func connectTo(f family, typ, proto, port int) error {
	return withSocket(f, typ, proto, func(fd int) error { return connectFresh(fd, f.addr(port)) })
}

// connectFresh connects a socket nobody else has connected. A blocking
// connect that a signal interrupts (Go preempts a thread with SIGURG, and
// under TCG an SCTP or TCP handshake is long) is restarted by the kernel,
// and the restarted call finds the association the first one made:
// EISCONN, which for a fresh socket means connected. The restart goes
// through Landlock's check again (security_socket_connect precedes every
// attempt), so a denial still shows as EACCES. Seen once: arm64 6.18,
// SCTP, in the unprivileged pass.
func connectFresh(fd int, sa unix.Sockaddr) error {
	if err := unix.Connect(fd, sa); err != unix.EISCONN {
		return err
	}
	return nil
}

// sendTo sends one datagram to port from a new unbound UDP socket.
func sendTo(f family, port int) error {
	return withSocket(f, unix.SOCK_DGRAM, unix.IPPROTO_UDP, func(fd int) error {
		return unix.Sendto(fd, []byte("x"), 0, f.addr(port))
	})
}

// other is a port different from p, for rules that must not match it.
func other(p int) int { return p ^ 1 }

// netFix is what a network case sets up before enforcement, outside any
// domain: a server, a free port, a socket bound to an ephemeral port and
// a socket connected to the server.
type netFix struct {
	f                family
	typ, proto       int
	srv, port        int // the server and its port
	free             int // a port nobody uses
	bound, boundPort int // a socket bound before enforcement
	conn             int // a socket connected to the server before enforcement
	priv             int // a free privileged port, found by prep
	closers          []int
	setupErr         error
	setupErrWhat     string
}

func newNetFix(f family, typ, proto int) *netFix {
	x := &netFix{f: f, typ: typ, proto: proto, srv: -1, bound: -1, conn: -1}
	fail := func(what string, err error) *netFix {
		if x.setupErr == nil {
			x.setupErr, x.setupErrWhat = err, what
		}
		return x
	}
	var err error
	if x.srv, x.port, err = server(f, typ, proto); err != nil {
		return fail("server", err)
	}
	x.closers = append(x.closers, x.srv)
	if x.bound, err = socket(f, typ, proto); err != nil {
		return fail("socket", err)
	}
	x.closers = append(x.closers, x.bound)
	if err = unix.Bind(x.bound, f.addr(0)); err != nil {
		return fail("bind", err)
	}
	x.boundPort = boundPort(x.bound)
	if x.conn, err = socket(f, typ, proto); err != nil {
		return fail("socket", err)
	}
	x.closers = append(x.closers, x.conn)
	if err = connectFresh(x.conn, f.addr(x.port)); err != nil {
		return fail("connect", err)
	}
	// The free port is chosen last, once every setup socket holds its
	// port: a port chosen earlier (bind 0, close) could be handed out
	// again to a later bind(0) of the setup. It must differ from the
	// setup's ports, and its two bytes must differ so that the
	// byte-swapped port is another port (the endianness case).
	owned := map[int]bool{x.port: true, x.boundPort: true, boundPort(x.conn): true}
	for i := 0; i < 16 && (x.free == 0 || owned[x.free] || swap16(x.free) == x.free); i++ {
		if x.free, err = freePort(f, typ, proto); err != nil {
			return fail("free port", err)
		}
	}
	if owned[x.free] || swap16(x.free) == x.free {
		return fail("free port", fmt.Errorf("no usable free port after 16 tries (last %d)", x.free))
	}
	return x
}

// The actions on the fixture's kind of socket.
func (x *netFix) bindOn(port int) error    { return bindOn(x.f, x.typ, x.proto, port) }
func (x *netFix) connectTo(port int) error { return connectTo(x.f, x.typ, x.proto, port) }
func (x *netFix) sendTo(port int) error    { return sendTo(x.f, port) }

// swap16 is port in the other byte order.
func swap16(port int) int { return int(port>>8&0xff | port&0xff<<8) }

func (x *netFix) close() {
	for _, fd := range x.closers {
		unix.Close(fd)
	}
}

// netPolicy handles the given rights and allows the port rules.
func netPolicy(handled landlock.AccessNet, rules ...landlock.PortRule) landlock.Policy {
	p := landlock.Policy{Net: handled}
	for _, r := range rules {
		p.Rules = append(p.Rules, r)
	}
	return p
}

// allow is a port rule.
func allow(port int, a landlock.AccessNet) landlock.PortRule {
	return landlock.PortRule{Port: uint64(port), Access: a}
}

// asUnsandboxed is the observed outcome of a differential case whose
// sandboxed result equals the unsandboxed one on the same kernel.
const asUnsandboxed = "as unsandboxed"

// unchanged expects a differential case to match the unsandboxed result.
func unchanged(check.Env) string { return asUnsandboxed }

// netRow is one network case: a policy built from the fixture, and an
// action run after enforcement. A differential row runs the action once
// before enforcing as the baseline: for edge cases whose errno belongs to
// the network stack and changed across kernels, the documentation only
// promises what Landlock adds.
type netRow struct {
	name   string
	want   func(check.Env) string
	policy func(x *netFix) landlock.Policy
	op     func(x *netFix) error
	diff   bool
	// deviate judges known deviations (Case.Deviate).
	deviate func(check.Env) []check.Deviation
	// companion is a second action after the enforcement that the
	// policy must deny: on a differential row (or a row whose action the
	// policy must leave alone) it shows the restriction is in force, so
	// that a domain ignoring the address entirely cannot pass as "as
	// unsandboxed". companionWant is its expectation.
	companion     func(x *netFix) error
	companionWant func(check.Env) string
	skip          func(check.Env) string
	// feature and shows tag a row that shows a right allowed or denied.
	feature string
	shows   check.Behaviour
	// prep finishes the fixture before enforcement.
	prep func(x *netFix) error
	// layers, when set, replaces policy: each policy is enforced in turn
	// as a layer of its own (none at all for an empty, non-nil list).
	layers []func(x *netFix) landlock.Policy
	// covers names the coverage items of the row (Case.Covers), on top of
	// the area's own.
	covers []string
	// omits says which families (or other values) the row leaves out, and
	// why (Case.Omits).
	omits []check.Omission
}

func (r netRow) run(t *check.T, f family, typ, proto int) string {
	x := newNetFix(f, typ, proto)
	defer x.close()
	if x.setupErr != nil {
		return check.SetupFailedf("%s: %s", x.setupErrWhat, check.Outcome(x.setupErr))
	}
	if r.prep != nil {
		if err := r.prep(x); err != nil {
			return check.SetupFailed(err)
		}
	}
	var before string
	if r.diff {
		before = check.Outcome(r.op(x))
	}
	layers := r.layers
	if layers == nil {
		layers = []func(x *netFix) landlock.Policy{r.policy}
	}
	for _, l := range layers {
		if err := t.Enforce(l(x)); err != nil {
			return enforceFailed(err)
		}
	}
	after := check.Outcome(r.op(x))
	if r.diff {
		t.Logf("unsandboxed %s, sandboxed %s", before, after)
		if after == before {
			after = asUnsandboxed
		}
	}
	if r.companion != nil {
		after += "; restriction " + check.Outcome(r.companion(x))
	}
	return after
}

// withCompanion expects a differential outcome and, after it, the
// companion's denial.
func withCompanion(want, companion func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		var out []string
		for _, w := range strings.Split(want(e), "|") {
			out = append(out, w+"; restriction "+companion(e))
		}
		return strings.Join(out, "|")
	}
}

// netCases turns rows into cases of area for each family.
func netCases(area string, typ, proto int, rows []netRow) []check.Case {
	var out []check.Case
	for _, f := range families {
		for _, r := range rows {
			f, r := f, r
			out = append(out, r.caseFor(area, f, typ, proto))
		}
	}
	return out
}

func (r netRow) caseFor(area string, f family, typ, proto int) check.Case {
	want := r.want
	if r.companion != nil {
		want = withCompanion(r.want, r.companionWant)
	}
	var covers []string
	if c, ok := areaCoverage[area]; ok {
		covers = append(covers, c)
	}
	covers = append(covers, r.covers...)
	return check.Case{Area: area, Name: f.name + "/" + r.name, Skip: skips(noIPv6(f), r.skip), Want: want,
		Deviate: r.deviate, Feature: r.feature, Shows: r.shows, Covers: covers, Omits: r.omits,
		Variants: netVariants(f, typ, proto),
		Run:      func(t *check.T) string { return r.run(t, f, typ, proto) }}
}

// netVariants names the family, socket type and protocol of a network case.
func netVariants(f family, typ, proto int) []check.Variant {
	return []check.Variant{{Dim: check.DimFamily, Value: f.name}, {Dim: check.DimSockType, Value: sockTypeName[typ]}, {Dim: check.DimProtocol, Value: protoName[proto]}}
}

var (
	sockTypeName = map[int]string{unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram", unix.SOCK_SEQPACKET: "seqpacket"}
	protoName    = map[int]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp", unix.IPPROTO_MPTCP: "mptcp", unix.IPPROTO_SCTP: "sctp"}
)

// onlyOn is the omission of a row written for one family: why the other
// has no row of this name.
func onlyOn(f family, why string) []check.Omission {
	other := ipv6
	if f == ipv6 {
		other = ipv4
	}
	return []check.Omission{{Dim: check.DimFamily, Values: []string{other.name}, Why: why}}
}

// areaCoverage is the coverage item every network row of an area checks.
var areaCoverage = map[string]string{"tcp": "§3.8", "udp": "§3.9"}

// skips combines skip functions; nil ones are ignored.
func skips(fs ...func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		for _, f := range fs {
			if f == nil {
				continue
			}
			if why := f(e); why != "" {
				return why
			}
		}
		return ""
	}
}

var ipv6Check = sync.OnceValue(func() error {
	return withSocket(ipv6, unix.SOCK_STREAM, unix.IPPROTO_TCP, func(fd int) error { return unix.Bind(fd, ipv6.addr(0)) })
})

// noIPv6 is an environment skip: kernels built without IPv6, or without
// an IPv6 loopback address.
func noIPv6(f family) func(check.Env) string {
	if f.af != unix.AF_INET6 {
		return nil
	}
	return func(check.Env) string {
		if err := ipv6Check(); err != nil {
			return "no IPv6 loopback in this kernel (" + check.Outcome(err) + ")"
		}
		return ""
	}
}

// sleeper starts a child process that lives for a few seconds: a target
// for signals and ptrace. It inherits the calling thread's domain (Go
// forks from the calling thread). kill ends it; call it from a thread
// that may signal the child.
func sleeper(t *check.T) (pid int, kill func(), err error) { return sleeperIn(t.Root()) }

// sleeperIn runs a tiny pause() program written into dir, not a second Go
// runtime: much cheaper to start under TCG.
func sleeperIn(dir string) (pid int, kill func(), err error) {
	path := filepath.Join(dir, "pause")
	if err := os.WriteFile(path, tinyasm.PauseProgram(), 0o755); err != nil {
		return 0, nil, err
	}
	pid, err = syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		return 0, nil, err
	}
	return pid, func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}, nil
}

// killFromOutside ends a sleeper from a thread outside the case's domain.
func killFromOutside(kill func()) { onOtherThread(func() string { kill(); return "" }) }

// siblingThread starts a locked OS thread that waits, and returns its tid
// and a function that ends it.
func siblingThread() (tid int, stop func()) {
	tidc := make(chan int)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tidc <- unix.Gettid()
		<-done
	}()
	return <-tidc, func() { close(done) }
}

// yamaPtraceScope reads Yama's ptrace_scope, -1 without Yama.
func yamaPtraceScope() int {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
