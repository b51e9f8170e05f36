package adapter

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Library cases: one request (read-only and read-write directories, TCP
// and UDP ports, scopes, a requested ABI) enforced through a Landlock
// library by its adapter, then a set of probes whose outcomes show what
// the library really enforced. The expectation of each probe follows
// from what that library documents it enforces on the kernel's ABI (its
// Promise), so the same rows check llconform's own package, go-landlock
// and the kernel's reference sandboxer, on every kernel.
//
// To add a library: implement Library (an in-process adapter like
// lib_golandlock.go, or a process adapter around an external enforcer
// like lib_sandboxer.go, which execs the probes after enforcing), write
// its documented promises down in its Promise with references, and list
// it in libraries.

// Library is an adapter for one Landlock library.
type Library interface {
	Name() string
	Version() string
	// Ceilings are the requested ABIs the library can be asked for
	// (0: its newest).
	Ceilings() []int
	// Isolation the adapter needs for a case (a library that restricts
	// every thread needs a process of its own).
	Isolation() check.Isolation
	// Promise is what the library documents it does for a request of
	// ceiling c on the environment.
	Promise(e check.Env, c int) Promise
	// Run enforces the request and runs the probes after it, returning
	// the observation ("read_ro=ok write_ro=EACCES ...").
	Run(t *check.T, req LibRequest, probes []Probe) string
	// AllThreads says the adapter restricts every thread of the process
	// in this process (the all-thread rows run only then).
	AllThreads() bool
}

// Promise is a library's documented behaviour on one kernel.
type Promise struct {
	// ABI is the ABI the library enforces at: the rights of that ABI are
	// enforced, newer ones dropped; 0 is no sandbox at all.
	ABI int
	// Refuses says the library refuses to run the program at all (and
	// why, from its documentation).
	Refuses string
	// Note names a documented difference from the kernel's recipe that
	// shaped ABI or Refuses.
	Note string
	// RWRefer: the library's read-write trees grant REFER where the ABI
	// has it (the sandboxer's read-write set is every right).
	RWRefer bool
}

// LibRequest is what a library case asks for, in the vocabulary every
// library expresses: read-only and read-write directory trees, allowed
// ports, scopes, and the requested ABI (a ceiling).
type LibRequest struct {
	Ceiling              int
	RO, RW               []string
	TCPBind, TCPConnect  []int // nil: the right is not asked for
	UDPBind, UDPSendPort []int
	Scoped               bool
}

// Probe is one action after the enforcement, named for the observation.
// Probes are data (a kind and an argument) so that a process adapter can
// hand them to a fresh process; fn, set only by in-process rows, runs
// instead (on a thread the row prepared).
type Probe struct {
	Name, Kind, Arg string
	Fn              func() string
}

// runProbe performs a probe and names its outcome.
func runProbe(p Probe) string {
	switch p.Kind {
	case "read":
		return check.Outcome(fixture.OpenRead(p.Arg))
	case "write":
		return check.Outcome(fixture.OpenWrite(p.Arg))
	case "mkdir":
		return check.Outcome(unix.Mkdir(p.Arg, 0o755))
	case "truncate":
		return check.Outcome(unix.Truncate(p.Arg, 0))
	case "rename":
		from, to, _ := strings.Cut(p.Arg, "|")
		return check.Outcome(unix.Rename(from, to))
	case "bind_tcp":
		return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, atoi(p.Arg)))
	case "connect_tcp":
		return check.Outcome(fixture.ConnectTo(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, atoi(p.Arg)))
	case "bind_udp":
		return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_DGRAM, unix.IPPROTO_UDP, atoi(p.Arg)))
	case "connect_abstract":
		return check.Outcome(fixture.UnixConnect(p.Arg, unix.SOCK_STREAM))
	case "signal":
		return check.Outcome(unix.Kill(atoi(p.Arg), 0))
	case "no_new_privs":
		return fmt.Sprint(fixture.NoNewPrivs())
	}
	return "unknown probe " + p.Kind
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// observe runs probes in order and joins their outcomes.
func observe(probes []Probe) string {
	out := make([]string, len(probes))
	for i, p := range probes {
		if p.Fn != nil {
			out[i] = p.Name + "=" + p.Fn()
			continue
		}
		out[i] = p.Name + "=" + runProbe(p)
	}
	return strings.Join(out, " ")
}

// ProbesEnv hands probes to a process started by an external enforcer:
// the agent binary, run with it set, performs them and prints one
// outcome line (never exiting 1, an enforcer's failure code).
const ProbesEnv = "LLCONFORM_PROBES"

// outcomeLine prefixes the probes' observation on stdout.
const outcomeLine = "LLCONFORM-OUTCOME v1 "

func init() { role.Register(ProbesEnv, probesMain) }

// probesMain performs the probes of ProbesEnv and prints their outcome.
func probesMain(spec string) int {
	var probes []Probe
	if err := json.Unmarshal([]byte(spec), &probes); err != nil {
		fmt.Println(outcomeLine + "bad probes: " + err.Error())
		return 2
	}
	fmt.Println(outcomeLine + observe(probes))
	return 0
}

// libraries are the adapters, by name.
var libraries = map[string]Library{}

func addLibrary(l Library) { libraries[l.Name()] = l }

// Named returns the adapter of a library by name.
func Named(name string) (Library, bool) {
	l, ok := libraries[name]
	return l, ok
}

// LibraryNames lists the known libraries.
func LibraryNames() []string {
	var out []string
	for n := range libraries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LibraryVersion is "name version" of a known library.
func LibraryVersion(name string) string {
	if l, ok := libraries[name]; ok {
		return l.Name() + " " + l.Version()
	}
	return name
}

// exitStatus names how a process ended, for an enforcer that refused.
func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	if ee, ok := err.(interface{ Sys() any }); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return fmt.Sprintf("exit %d", ws.ExitStatus())
		}
	}
	return err.Error()
}
