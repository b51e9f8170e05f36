package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The rows every library runs (library.go): each builds its fixture
// outside any domain, asks for a policy in the common vocabulary, and
// names what each probe must observe for a library enforcing ABI abi.

// reparentRW is the outcome of a rename between two read-write trees.
func reparentRW(p Promise) string {
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
			build: func(t *check.T, c int) (LibRequest, []Probe, func(), error) {
				t.Files("ro/f", "rw/f", "rw/g", "out/f")
				t.Mkdirs("rw2")
				req := LibRequest{RO: []string{t.Path("ro")}, RW: []string{t.Path("rw"), t.Path("rw2")}}
				return req, []Probe{
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
			want: func(p Promise, e check.Env) string {
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
			build: func(t *check.T, c int) (LibRequest, []Probe, func(), error) {
				f, err := newLibNet(unix.SOCK_STREAM, unix.IPPROTO_TCP)
				if err != nil {
					return LibRequest{}, nil, f.close, err
				}
				req := LibRequest{TCPBind: []int{f.free}, TCPConnect: []int{f.port}}
				return req, []Probe{
					{Name: "bind_allowed", Kind: "bind_tcp", Arg: fmt.Sprint(f.free)},
					{Name: "bind_ephemeral", Kind: "bind_tcp", Arg: "0"},
					{Name: "connect_allowed", Kind: "connect_tcp", Arg: fmt.Sprint(f.port)},
					{Name: "connect_other", Kind: "connect_tcp", Arg: fmt.Sprint(f.other)},
				}, f.close, nil
			},
			want: func(p Promise, e check.Env) string {
				abi := p.ABI
				return probeList("bind_allowed=ok", "bind_ephemeral="+denied(abi, check.ABINet, "EACCES"),
					"connect_allowed=ok", "connect_other="+denied(abi, check.ABINet, "EACCES"))
			}},
		// UDP: one port allowed for bind.
		libraryCase{name: "udp", covers: []string{"§3.9"},
			build: func(t *check.T, c int) (LibRequest, []Probe, func(), error) {
				f, err := newLibNet(unix.SOCK_DGRAM, unix.IPPROTO_UDP)
				if err != nil {
					return LibRequest{}, nil, f.close, err
				}
				req := LibRequest{UDPBind: []int{f.free}}
				return req, []Probe{
					{Name: "bind_allowed", Kind: "bind_udp", Arg: fmt.Sprint(f.free)},
					{Name: "bind_ephemeral", Kind: "bind_udp", Arg: "0"},
				}, f.close, nil
			},
			want: func(p Promise, e check.Env) string {
				abi := p.ABI
				return probeList("bind_allowed=ok", "bind_ephemeral="+denied(abi, check.ABIUDP, "EACCES"))
			}},
		// Every thread: a locked OS thread and plain goroutines started
		// before the enforcement are restricted after it.
		libraryCase{name: "all_threads", covers: []string{"§6.6"}, allThreads: true,
			build: func(t *check.T, c int) (LibRequest, []Probe, func(), error) {
				t.Files("f")
				t.Mkdirs("elsewhere")
				on, stop := startSibling()
				goroutinesRead := parkedReaders(goroutines, t.Path("f"))
				onThread := func(f func() string) func() string { return func() string { return on(f) } }
				req := LibRequest{RO: []string{t.Path("elsewhere")}, TCPBind: []int{}}
				return req, []Probe{
					{Name: "thread_read", fn: onThread(func() string { return check.Outcome(fixture.OpenRead(t.Path("f"))) })},
					{Name: "thread_bind", fn: onThread(func() string {
						return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
					})},
					{Name: "thread_no_new_privs", fn: onThread(func() string { return fmt.Sprint(fixture.NoNewPrivs()) })},
					{Name: "goroutines_read", fn: goroutinesRead},
				}, stop, nil
			},
			want: func(p Promise, e check.Env) string {
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
			build: func(t *check.T, c int) (LibRequest, []Probe, func(), error) {
				name := abstractName()
				srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
				if err != nil {
					return LibRequest{}, nil, nil, err
				}
				// A library may restrict the whole process: the target must
				// end without a signal from it (it exits when its stdin
				// closes).
				pid, stop, err := readerProcess(t.Root())
				if err != nil {
					unix.Close(srv)
					return LibRequest{}, nil, nil, err
				}
				cleanup := func() { stop(); unix.Close(srv) }
				return LibRequest{Scoped: true}, []Probe{
					{Name: "connect_abstract_outside", Kind: "connect_abstract", Arg: name},
					{Name: "signal_outside", Kind: "signal", Arg: fmt.Sprint(pid)},
				}, cleanup, nil
			},
			want: func(p Promise, e check.Env) string {
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
