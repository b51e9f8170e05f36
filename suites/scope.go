package suites

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Scopes (ABI 6): a domain cannot reach abstract UNIX sockets or signal
// processes outside it (EPERM); inside the domain everything stays
// allowed, pathname sockets are unaffected, and rules cannot re-allow a
// scope. Before ABI 6 the library drops the scopes.

var scopeDenied = deniedFrom(6, "EPERM")

// abstractName is a fresh abstract socket name ("@" prefix in x/sys).
func abstractName() string { return fmt.Sprintf("@llconform-%x", rand.Uint64()) }

func scopePolicy(s landlock.Scope) landlock.Policy { return landlock.Policy{Scoped: s} }

// withAbstractServer creates an abstract server outside the domain,
// enforces p and runs op on its name.
func withAbstractServer(t *T, typ int, p landlock.Policy, op func(name string) error) string {
	name := abstractName()
	srv, err := unixServer(name, typ)
	if err != nil {
		return "setup failed: " + Outcome(err)
	}
	defer unix.Close(srv)
	if err := t.Enforce(p); err != nil {
		return enforceFailed(err)
	}
	return Outcome(op(name))
}

// signalOutside signals (0) a process started before enforcement.
func signalOutside(t *T, p landlock.Policy) string {
	pid, kill, err := sleeper(t)
	if err != nil {
		return "setup failed: " + Outcome(err)
	}
	defer onOtherThread(func() string { kill(); return "" }) // the domain may not signal it
	if err := t.Enforce(p); err != nil {
		return enforceFailed(err)
	}
	return Outcome(unix.Kill(pid, 0))
}

func init() {
	abstract := scopePolicy(landlock.ScopeAbstractUnixSocket)
	register(
		Case{Area: "scope", Name: "abstract_unix/connect_outside_denied", Want: scopeDenied, Run: func(t *T) string {
			return withAbstractServer(t, unix.SOCK_STREAM, abstract, func(n string) error { return unixConnect(n, unix.SOCK_STREAM) })
		}},
		Case{Area: "scope", Name: "abstract_unix/sendto_outside_denied", Want: scopeDenied, Run: func(t *T) string {
			return withAbstractServer(t, unix.SOCK_DGRAM, abstract, unixSendto)
		}},
		Case{Area: "scope", Name: "abstract_unix/connect_same_domain_allowed", Want: allowed, Run: func(t *T) string {
			if err := t.Enforce(abstract); err != nil {
				return enforceFailed(err)
			}
			name := abstractName()
			srv, err := unixServer(name, unix.SOCK_STREAM)
			if err != nil {
				return "server in the domain: " + Outcome(err)
			}
			defer unix.Close(srv)
			return Outcome(unixConnect(name, unix.SOCK_STREAM))
		}},
		// A nested domain is scoped away from its parent's sockets too.
		Case{Area: "scope", Name: "abstract_unix/connect_from_nested_domain_to_parent_denied", Want: scopeDenied, Run: func(t *T) string {
			if err := t.Enforce(abstract); err != nil {
				return enforceFailed(err)
			}
			name := abstractName()
			srv, err := unixServer(name, unix.SOCK_STREAM)
			if err != nil {
				return "server in the domain: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(abstract); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unixConnect(name, unix.SOCK_STREAM))
		}},
		Case{Area: "scope", Name: "abstract_unix/pathname_socket_unaffected", Want: allowed, Run: func(t *T) string {
			srv, err := unixServer(t.path("sock"), unix.SOCK_STREAM)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(abstract); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unixConnect(t.path("sock"), unix.SOCK_STREAM))
		}},
		// Scopes have no rules: granting every filesystem right does not
		// re-allow an abstract socket outside the domain.
		Case{Area: "scope", Name: "abstract_unix/rules_cannot_reallow", Want: scopeDenied, Run: func(t *T) string {
			p := landlock.Policy{FS: allFS, Scoped: landlock.ScopeAbstractUnixSocket}
			p.AllowPath("/", allFS&^landlock.FSRefer)
			return withAbstractServer(t, unix.SOCK_STREAM, p, func(n string) error { return unixConnect(n, unix.SOCK_STREAM) })
		}},
		Case{Area: "scope", Name: "signal/to_process_outside_denied", Want: scopeDenied, Run: func(t *T) string {
			return signalOutside(t, scopePolicy(landlock.ScopeSignal))
		}},
		Case{Area: "scope", Name: "signal/unscoped_domain_allowed", Want: allowed, Run: func(t *T) string {
			return signalOutside(t, scopePolicy(landlock.ScopeAbstractUnixSocket))
		}},
		Case{Area: "scope", Name: "signal/to_own_thread_allowed", Want: allowed, Run: func(t *T) string {
			if err := t.Enforce(scopePolicy(landlock.ScopeSignal)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Tgkill(unix.Getpid(), unix.Gettid(), 0))
		}},
	)
}

// A server created by a nested domain (a child process that scoped itself
// further) is reachable from its parent domain.
func init() {
	probeActions["nested-abstract-server"] = func(name string) error {
		// The socket belongs to the domain of the thread that creates it.
		runtime.LockOSThread()
		if _, err := (landlock.Policy{Scoped: landlock.ScopeAbstractUnixSocket}).Enforce(landlock.Config{Threads: landlock.CurrentThread}); err != nil {
			return err
		}
		srv, err := unixServer(name, unix.SOCK_STREAM)
		if err != nil {
			return err
		}
		defer unix.Close(srv)
		fmt.Println("ready")
		var b [1]byte
		unix.Read(0, b[:]) // until the parent closes our stdin
		return nil
	}
	register(Case{Area: "scope", Name: "abstract_unix/connect_to_nested_domain_server_allowed", Want: allowed, Run: func(t *T) string {
		self, err := os.Executable()
		if err != nil {
			return "setup failed: " + err.Error()
		}
		if err := t.Enforce(scopePolicy(landlock.ScopeAbstractUnixSocket)); err != nil {
			return enforceFailed(err)
		}
		name := abstractName()
		cmd := exec.Command(self)
		cmd.Env = []string{ProbeEnv + "=nested-abstract-server:" + name}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return "setup failed: " + err.Error()
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return "setup failed: " + err.Error()
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil { // forked from this thread: the child starts in our domain
			return "probe failed: " + Outcome(err)
		}
		defer cmd.Wait()
		defer stdin.Close()
		line, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			return "nested server failed: " + strings.TrimSpace(line)
		}
		return Outcome(unixConnect(name, unix.SOCK_STREAM))
	}})
}
