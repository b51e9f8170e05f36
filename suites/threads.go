package suites

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// All-thread enforcement by the library: in a Go program goroutines run on
// every thread, so a library that restricts only the calling thread (or
// drops the TSYNC flag) leaves the sandbox open. Each case starts a locked
// OS thread and plain goroutines BEFORE a default Enforce (every thread),
// then checks each of them: a filesystem right, a TCP right and
// no_new_privs. The default path is TSYNC from its ABI on; a ceiling below
// it forces the pre-TSYNC path on a TSYNC kernel.

// goroutines is how many plain goroutines are parked before enforcement.
const goroutines = 8

// cgoThreads reports whether this binary links the cgo runtime, where Go
// refuses syscall.AllThreadsSyscall: the library documents that it then
// fails with ErrCgoThreads when the kernel has no TSYNC (the agent is
// built with CGO_ENABLED=0; a plain `go test` may not be).
var cgoThreads = sync.OnceValue(func() bool {
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_GETPID, 0, 0, 0) // the same answer on every thread
	return e == unix.ENOTSUP
})

// parkedReaders starts n plain goroutines that wait, then each read path
// once released; read releases them and returns their distinct outcomes
// ("EACCES", or "EACCES,ok" when they differ).
func parkedReaders(n int, path string) (read func() string) {
	release := make(chan struct{})
	done := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			<-release
			done <- check.Outcome(fixture.OpenRead(path))
		}()
	}
	return func() string {
		close(release)
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			seen[<-done] = true
		}
		var out []string
		for o := range seen {
			out = append(out, o)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
}

func allThreadsCase(name string, ceiling func(check.Env) int) check.Case {
	libABI := func(e check.Env) int {
		e.Ceiling = ceiling(e)
		return e.LibABI()
	}
	return check.Case{Area: "downgrade", Name: "all_threads/" + name, Isolation: check.Process, Covers: []string{"§6.1", "§6.6"},
		Want: func(e check.Env) string {
			abi := libABI(e)
			if abi >= check.ABILandlock && abi < check.ABITSync && cgoThreads() {
				return "enforce failed: ErrCgoThreads"
			}
			read, bind, nnp := check.OK, check.OK, 0
			if abi >= check.ABILandlock {
				read, nnp = "EACCES", 1
			}
			if abi >= check.ABINet {
				bind = "EACCES"
			}
			return fmt.Sprintf("thread: read=%s bind=%s no_new_privs=%d; goroutines: read=%s", read, bind, nnp, read)
		},
		Run: func(t *check.T) string {
			t.Files("f")
			on, stop := startSibling()
			defer stop()
			readers := parkedReaders(goroutines, t.Path("f"))
			p := landlock.Policy{FS: landlock.FSReadFile, Net: landlock.NetBindTCP}
			r, err := p.Enforce(landlock.Config{Mode: landlock.BestEffort, MaxABI: ceiling(t.Env)})
			if err != nil {
				readers()
				if errors.Is(err, landlock.ErrCgoThreads) {
					return "enforce failed: ErrCgoThreads"
				}
				return fixture.EnforceFailed(err)
			}
			t.Logf("library: %s at effective ABI %d, %s", r.State, r.ABI, r.Threads)
			thread := on(func() string {
				return fmt.Sprintf("read=%s bind=%s no_new_privs=%d", check.Outcome(fixture.OpenRead(t.Path("f"))),
					check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0)), fixture.NoNewPrivs())
			})
			return fmt.Sprintf("thread: %s; goroutines: read=%s", thread, readers())
		}}
}

func init() {
	check.Build(func() {
		check.Register(
			// The library's default: TSYNC where the kernel has it.
			allThreadsCase("default", func(e check.Env) int { return e.Ceiling }),
			// A ceiling just below TSYNC forces the pre-TSYNC path even on a
			// kernel that has TSYNC.
			allThreadsCase("below_tsync_abi", func(e check.Env) int {
				if e.Ceiling > 0 && e.Ceiling < check.ABITSync {
					return e.Ceiling
				}
				return check.ABITSync - 1
			}),
		)
	})
}
