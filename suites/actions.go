package suites

import (
	"fmt"
	"os"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
)

// Shared actions and fixtures, written once for every suite.

// enforceFailed is the observed outcome when enforcement itself failed.
func enforceFailed(err error) string { return "enforce failed: " + check.Outcome(err) }

func openClose(path string, flags int) error {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func openRead(path string) error  { return openClose(path, unix.O_RDONLY) }
func openWrite(path string) error { return openClose(path, unix.O_WRONLY) }

// readDir opens a directory and lists it.
func readDir(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	_, err = unix.Getdents(fd, buf)
	return err
}

func mknod(path string, mode uint32, major, minor uint32) error {
	return unix.Mknod(path, mode|0o600, int(unix.Mkdev(major, minor)))
}

// writeExecutable writes the exit(0) program at path.
func writeExecutable(path string) error { return os.WriteFile(path, tinyasm.ExitProgram(), 0o755) }

// execute runs path from the calling thread (the child inherits the
// thread's domain) and returns the execve error, if any.
func execute(path string) error {
	pid, err := syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		return err
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("%s: exit status %v", path, ws)
	}
	return nil
}

// unixServer creates a listening pathname (or abstract, "@name") UNIX
// socket of the given type and returns its fd.
func unixServer(addr string, typ int) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if typ != unix.SOCK_DGRAM {
		if err := unix.Listen(fd, 8); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// unixDial returns a new socket of the given type connected to addr.
func unixDial(addr string, typ int) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: addr}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// unixPair is a UNIX socket fixture: a server of typ bound at addr and
// a client connected to it, both made now (before any enforcement) and
// closed with the case. A failed step makes the case broken (T.setup).
func unixPair(t *check.T, addr string, typ int) (srv, cli int) {
	srv, err := unixServer(addr, typ)
	t.Setup("UNIX server", err)
	cli, err = unixDial(addr, typ)
	t.Setup("UNIX client", err)
	t.Cleanup(func() {
		unix.Close(srv)
		unix.Close(cli)
	})
	return srv, cli
}

// unixConnect connects a new socket of the given type to addr.
func unixConnect(addr string, typ int) error {
	fd, err := unixDial(addr, typ)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// unixSendto sends one datagram to addr from a new unconnected socket.
func unixSendto(addr string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrUnix{Name: addr})
}

// setNoNewPrivs sets no_new_privs on the calling thread: raw cases need it
// to enforce without CAP_SYS_ADMIN.
func setNoNewPrivs() error { return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }

// noNewPrivs reads the calling thread's no_new_privs bit.
func noNewPrivs() int {
	v, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	return v
}
