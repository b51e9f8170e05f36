package suites

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Network actions. Every socket is created with an explicit protocol
// through x/sys: Go's net package may pick MPTCP, which Landlock's TCP
// rights do not cover (erratum 1). Loopback only.

type family struct {
	name string
	af   int
}

var (
	ipv4     = family{"ipv4", unix.AF_INET}
	ipv6     = family{"ipv6", unix.AF_INET6}
	families = []family{ipv4, ipv6}
)

func (f family) addr(port int) unix.Sockaddr {
	if f.af == unix.AF_INET6 {
		return &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}
	}
	return &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
}

func socket(f family, typ, proto int) (int, error) {
	return unix.Socket(f.af, typ|unix.SOCK_CLOEXEC, proto)
}

func tcpSocket(f family) (int, error) { return socket(f, unix.SOCK_STREAM, unix.IPPROTO_TCP) }
func udpSocket(f family) (int, error) { return socket(f, unix.SOCK_DGRAM, unix.IPPROTO_UDP) }

// boundPort returns the port the kernel gave fd.
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

// server is a listening TCP socket or a bound UDP socket on loopback,
// created before enforcement (outside the domain).
func server(f family, typ, proto int) (fd, port int, err error) {
	fd, err = socket(f, typ, proto)
	if err != nil {
		return -1, 0, err
	}
	if err = unix.Bind(fd, f.addr(0)); err == nil && typ == unix.SOCK_STREAM {
		err = unix.Listen(fd, 16)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, boundPort(fd), nil
}

// bindOn binds a new socket to port and closes it.
func bindOn(f family, typ, proto, port int) error {
	fd, err := socket(f, typ, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Bind(fd, f.addr(port))
}

// connectTo connects a new socket to port and closes it.
func connectTo(f family, typ, proto, port int) error {
	fd, err := socket(f, typ, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Connect(fd, f.addr(port))
}

// sendTo sends one datagram to port from a new unbound UDP socket.
func sendTo(f family, port int) error {
	fd, err := udpSocket(f)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, []byte("x"), 0, f.addr(port))
}

// rawSockaddrCall calls bind or connect with a hand-made address of the
// given family and length (to pass AF_UNSPEC and short addresses, which
// x/sys's typed sockaddrs cannot express).
func rawSockaddrCall(trap uintptr, fd int, family uint16, port int, length int) error {
	var raw [28]byte // large enough for sockaddr_in6
	*(*uint16)(unsafe.Pointer(&raw[0])) = family
	raw[2], raw[3] = byte(port>>8), byte(port) // network byte order
	_, _, e := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&raw[0])), uintptr(length))
	if e != 0 {
		return e
	}
	return nil
}

var (
	ipv6Once sync.Once
	ipv6Err  error
)

// noIPv6 is an environment skip: kernels built without IPv6.
func noIPv6(f family) func(Env) string {
	if f.af != unix.AF_INET6 {
		return nil
	}
	return func(Env) string {
		ipv6Once.Do(func() {
			fd, err := socket(ipv6, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err == nil {
				err = unix.Bind(fd, ipv6.addr(0))
				unix.Close(fd)
			}
			ipv6Err = err
		})
		if ipv6Err != nil {
			return "no IPv6 loopback in this kernel (" + Outcome(ipv6Err) + ")"
		}
		return ""
	}
}

// sleeper starts a child process outside any case domain that waits
// until killed: a target for signals and ptrace. It runs the tiny pause()
// program from the case directory. kill ends and reaps it; call it from
// outside the case's domain when the domain may not signal it.
func sleeper(t *T) (pid int, kill func(), err error) {
	path := t.path("pause")
	if err := os.WriteFile(path, tinyELF(pauseCode), 0o755); err != nil {
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

// sameAsUnsandboxed runs op before and after enforce and returns "ok" when
// both give the same outcome: for edge cases whose errno belongs to the
// network stack, not to Landlock (the documentation only promises that
// Landlock does not change them).
func sameAsUnsandboxed(t *T, enforce func() error, op func() error) string {
	before := Outcome(op())
	if err := enforce(); err != nil {
		return enforceFailed(err)
	}
	after := Outcome(op())
	if before == after {
		t.Logf("both %s", after)
		return OK
	}
	return fmt.Sprintf("sandboxed %s, unsandboxed %s", after, before)
}
