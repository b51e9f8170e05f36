package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The rows every library runs (library.go): each builds its fixture
// outside any domain, asks for a policy in the common vocabulary, and
// names what each probe must observe for a library enforcing ABI abi.

// reparentRW is the outcome of a rename between two read-write trees.
func reparentRW(p adapter.Promise) string {
	if p.RWRefer && p.ABI >= check.ABIRefer {
		return check.OK
	}
	return denied(p.ABI, check.ABILandlock, "EXDEV")
}

// probeList joins "name=outcome" pairs in probe order.
func probeList(pairs ...string) string { return strings.Join(pairs, " ") }

func init() {
	addLibraryRows(
		// Read-only and read-write trees, and everything else denied.
		// Reparenting between read-write trees is EXDEV wherever there is
		// a sandbox, unless the library's read-write set grants REFER
		// (the sandboxer's, from the REFER ABI; own and go-landlock's
		// RWDirs have no REFER).
		libraryCase{name: "fs", covers: []string{"§3.2", "§3.3"},
			build: func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error) {
				t.Files("ro/f", "rw/f", "rw/g", "out/f")
				t.Mkdirs("rw2")
				req := adapter.LibRequest{RO: []string{t.Path("ro")}, RW: []string{t.Path("rw"), t.Path("rw2")}}
				return req, []adapter.Probe{
					{Name: "read_ro", Kind: "read", Arg: t.Path("ro/f")},
					{Name: "write_ro", Kind: "write", Arg: t.Path("ro/f")},
					{Name: "write_rw", Kind: "write", Arg: t.Path("rw/f")},
					{Name: "read_outside", Kind: "read", Arg: t.Path("out/f")},
					{Name: "mkdir_rw", Kind: "mkdir", Arg: t.Path("rw/d")},
					{Name: "mkdir_ro", Kind: "mkdir", Arg: t.Path("ro/d")},
					{Name: "truncate_ro", Kind: "truncate", Arg: t.Path("ro/f")},
					{Name: "rename_rw_to_rw2", Kind: "rename", Arg: t.Path("rw/g") + "|" + t.Path("rw2/g")},
					{Name: "no_new_privs", Kind: "no_new_privs", Arg: ""},
				}, nil, nil
			},
			want: func(p adapter.Promise, e check.Env) string {
				abi := p.ABI
				nnp := 0
				if abi >= check.ABILandlock {
					nnp = 1
				}
				return probeList("read_ro=ok", "write_ro="+denied(abi, check.ABILandlock, "EACCES"), "write_rw=ok",
					"read_outside="+denied(abi, check.ABILandlock, "EACCES"), "mkdir_rw=ok", "mkdir_ro="+denied(abi, check.ABILandlock, "EACCES"),
					"truncate_ro="+denied(abi, check.ABITruncate, "EACCES"), "rename_rw_to_rw2="+reparentRW(p),
					fmt.Sprintf("no_new_privs=%d", nnp))
			}},
		// TCP: one port allowed for bind and one for connect.
		libraryCase{name: "tcp", covers: []string{"§3.8"},
			build: func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error) {
				f, err := newLibNet(unix.SOCK_STREAM, unix.IPPROTO_TCP)
				if err != nil {
					return adapter.LibRequest{}, nil, f.close, err
				}
				req := adapter.LibRequest{TCPBind: []int{f.free}, TCPConnect: []int{f.port}}
				return req, []adapter.Probe{
					{Name: "bind_allowed", Kind: "bind_tcp", Arg: fmt.Sprint(f.free)},
					{Name: "bind_ephemeral", Kind: "bind_tcp", Arg: "0"},
					{Name: "connect_allowed", Kind: "connect_tcp", Arg: fmt.Sprint(f.port)},
					{Name: "connect_other", Kind: "connect_tcp", Arg: fmt.Sprint(f.other)},
				}, f.close, nil
			},
			want: func(p adapter.Promise, e check.Env) string {
				abi := p.ABI
				return probeList("bind_allowed=ok", "bind_ephemeral="+denied(abi, check.ABINet, "EACCES"),
					"connect_allowed=ok", "connect_other="+denied(abi, check.ABINet, "EACCES"))
			}},
		// UDP: one port allowed for bind.
		libraryCase{name: "udp", covers: []string{"§3.9"},
			build: func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error) {
				f, err := newLibNet(unix.SOCK_DGRAM, unix.IPPROTO_UDP)
				if err != nil {
					return adapter.LibRequest{}, nil, f.close, err
				}
				req := adapter.LibRequest{UDPBind: []int{f.free}}
				return req, []adapter.Probe{
					{Name: "bind_allowed", Kind: "bind_udp", Arg: fmt.Sprint(f.free)},
					{Name: "bind_ephemeral", Kind: "bind_udp", Arg: "0"},
				}, f.close, nil
			},
			want: func(p adapter.Promise, e check.Env) string {
				abi := p.ABI
				return probeList("bind_allowed=ok", "bind_ephemeral="+denied(abi, check.ABIUDP, "EACCES"))
			}},
		// Every thread: a locked OS thread and plain goroutines started
		// before the enforcement are restricted after it.
		libraryCase{name: "all_threads", covers: []string{"§6.6"}, allThreads: true,
			build: func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error) {
				t.Files("f")
				t.Mkdirs("elsewhere")
				on, stop := startSibling()
				goroutinesRead := parkedReaders(goroutines, t.Path("f"))
				onThread := func(f func() string) func() string { return func() string { return on(f) } }
				req := adapter.LibRequest{RO: []string{t.Path("elsewhere")}, TCPBind: []int{}}
				return req, []adapter.Probe{
					{Name: "thread_read", Fn: onThread(func() string { return check.Outcome(fixture.OpenRead(t.Path("f"))) })},
					{Name: "thread_bind", Fn: onThread(func() string {
						return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
					})},
					{Name: "thread_no_new_privs", Fn: onThread(func() string { return fmt.Sprint(fixture.NoNewPrivs()) })},
					{Name: "goroutines_read", Fn: goroutinesRead},
				}, stop, nil
			},
			want: func(p adapter.Promise, e check.Env) string {
				abi := p.ABI
				nnp := 0
				if abi >= check.ABILandlock {
					nnp = 1
				}
				return probeList("thread_read="+denied(abi, check.ABILandlock, "EACCES"), "thread_bind="+denied(abi, check.ABINet, "EACCES"),
					fmt.Sprintf("thread_no_new_privs=%d", nnp), "goroutines_read="+denied(abi, check.ABILandlock, "EACCES"))
			}},
		// Scopes: an abstract socket and a process outside the domain.
		libraryCase{name: "scope", covers: []string{"§3.10"},
			build: func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error) {
				name := abstractName()
				srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
				if err != nil {
					return adapter.LibRequest{}, nil, nil, err
				}
				// A library may restrict the whole process: the target must
				// end without a signal from it (it exits when its stdin
				// closes).
				pid, stop, err := readerProcess(t.Root())
				if err != nil {
					unix.Close(srv)
					return adapter.LibRequest{}, nil, nil, err
				}
				cleanup := func() { stop(); unix.Close(srv) }
				return adapter.LibRequest{Scoped: true}, []adapter.Probe{
					{Name: "connect_abstract_outside", Kind: "connect_abstract", Arg: name},
					{Name: "signal_outside", Kind: "signal", Arg: fmt.Sprint(pid)},
				}, cleanup, nil
			},
			want: func(p adapter.Promise, e check.Env) string {
				abi := p.ABI
				return probeList("connect_abstract_outside="+denied(abi, check.ABIScoped, "EPERM"), "signal_outside="+denied(abi, check.ABIScoped, "EPERM"))
			}},
	)
}

// readerProcess starts the read program with a pipe as its stdin; stop
// closes the pipe and reaps it, with no signal (which a scoped domain of
// this whole process could not send).
func readerProcess(dir string) (pid int, stop func(), err error) {
	path := filepath.Join(dir, "reader")
	if err := os.WriteFile(path, tinyasm.ReadProgram(), 0o755); err != nil {
		return 0, nil, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, nil, err
	}
	pid, err = syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: []string{}, Files: []uintptr{uintptr(p[0])}})
	unix.Close(p[0])
	if err != nil {
		unix.Close(p[1])
		return 0, nil, err
	}
	return pid, func() {
		unix.Close(p[1])
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}, nil
}

// libNet is a network fixture: a server, a second server no rule names,
// and a free port chosen after both hold theirs.
type libNet struct {
	fds               []int
	port, other, free int
}

func newLibNet(typ, proto int) (*libNet, error) {
	f := &libNet{}
	for _, p := range []*int{&f.port, &f.other} {
		fd, port, err := fixture.Server(fixture.IPv4, typ, proto)
		if err != nil {
			return f, err
		}
		f.fds = append(f.fds, fd)
		*p = port
	}
	for i := 0; i < 16 && (f.free == 0 || f.free == f.port || f.free == f.other); i++ {
		var err error
		if f.free, err = fixture.FreePort(fixture.IPv4, typ, proto); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (f *libNet) close() {
	for _, fd := range f.fds {
		unix.Close(fd)
	}
}

// libraryCase is one library row: a request built on a fixture, probes,
// and the expected outcome of each probe for an enforcing ABI.
type libraryCase struct {
	name   string
	covers []string
	// build sets up the fixture (outside any domain) and returns the
	// request and the probes; cleanup undoes what must not outlive it.
	build func(t *check.T, c int) (adapter.LibRequest, []adapter.Probe, func(), error)
	// want is the expected observation for a library that promises p
	// (p.ABI 0: no sandbox).
	want func(p adapter.Promise, e check.Env) string
	// allThreads: only for adapters that restrict every thread.
	allThreads bool
}

var libraryRows []libraryCase

func addLibraryRows(rs ...libraryCase) { libraryRows = append(libraryRows, rs...) }

// LibraryCases returns the library cases for one library, one per row
// and ceiling the library accepts; ceilings that clamp to the kernel's ABI
// are Redundant but for the clamp check (clampedCeiling).
func LibraryCases(name string) []check.Case {
	l, ok := adapter.Named(name)
	if !ok {
		return nil
	}
	var out []check.Case
	for _, c := range l.Ceilings() {
		for _, r := range libraryRows {
			if r.allThreads && !l.AllThreads() {
				continue
			}
			out = append(out, r.caseFor(l, c))
		}
	}
	return out
}

func ceilingName(c int) string {
	if c == 0 {
		return "newest"
	}
	return fmt.Sprintf("ceiling_%d", c)
}

func (r libraryCase) caseFor(l adapter.Library, c int) check.Case {
	want := func(e check.Env) string {
		p := l.Promise(e, c)
		if p.Refuses != "" {
			return "refused"
		}
		return r.want(p, e)
	}
	return check.Case{Area: "library", Name: ceilingName(c) + "/" + r.name, Library: l.Name(), Isolation: l.Isolation(), Redundant: check.ClampedCeiling(c),
		Covers: append([]string{"§6.1"}, r.covers...), Want: want,
		Run: func(t *check.T) string {
			req, probes, cleanup, err := r.build(t, c)
			if cleanup != nil {
				defer cleanup()
			}
			if err != nil {
				return check.SetupFailedf("%v", err)
			}
			req.Ceiling = c
			if p := l.Promise(t.Env, c); p.Note != "" {
				t.Logf("%s: %s", l.Name(), p.Note)
			}
			return l.Run(t, req, probes)
		}}
}

// denied is errno where the library's ABI has the right, ok otherwise.
func denied(abi, right int, errno string) string {
	if abi >= right {
		return errno
	}
	return check.OK
}
