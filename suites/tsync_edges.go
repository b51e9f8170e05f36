package suites

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// TSYNC under competition and interruption (issue 14; coverage-map
// §3.12, net.2): two threads enforcing at once, a sibling blocked in a
// syscall, signals arriving during the enforcement, the layer limit
// reached on the caller or on a sibling, enforcement from a thread that
// is not the main thread, and threads created while it runs. Every case
// runs in a process of its own (Process): TSYNC reaches every thread.
//
// Not testable in a VM, or only in part, with the reason (coverage table):
//   - §3.1/§3.12 ENOMEM and EOVERFLOW of the TSYNC preparation: they need
//     an allocation failure (no fault injection in the Debian cloud
//     kernels) or more threads than a VM can hold.
//   - §3.12 the domain of the main thread when another thread enforces:
//     a Go program cannot run code on its main thread at will (any
//     goroutine may run there), so tsync/from_thread_other_than_main
//     checks the main thread's no_new_privs (which TSYNC must pass on
//     with the domain, /proc/<pid>/task/<tid>/status) and the domain on
//     threads it controls.
//   - §3.12 the selftests' 200 threads and signal storm: scaled down to
//     16 threads and a signalling thread, which under TCG already keep
//     the enforcement waiting for several scheduling rounds.
//   - §3.12 the logging configuration TSYNC carries: only audit records
//     show it (sec.6).

// fsWrite is the ruleset of cases that read /proc after enforcing: it
// leaves reading alone.
const fsWrite = uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)

func writeF(t *check.T) string { return check.Outcome(fixture.OpenWrite(t.Path("f"))) }

// threadNNP reads no_new_privs of every thread of the process from
// /proc/self/task/*/status: the caller's (tid self), the main thread's
// and how many of the others have it set.
func threadNNP(self int) (caller, main, others int, err error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, 0, err
	}
	pid := unix.Getpid()
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/status")
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited meanwhile
		}
		if err != nil {
			return 0, 0, 0, err
		}
		v := -1
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(l, "NoNewPrivs:"); ok {
				v, _ = strconv.Atoi(strings.TrimSpace(s))
			}
		}
		switch {
		case tid == self:
			caller = v
		case tid == pid:
			main = v
			if v == 1 {
				others++
			}
		default:
			if v == 1 {
				others++
			}
		}
	}
	return caller, main, others, nil
}

// privOrNNP sets no_new_privs on the calling thread unless root (a thread
// needs it, or CAP_SYS_ADMIN, to enforce).
func privOrNNP(t *check.T) error {
	if t.Env.Root {
		return nil
	}
	return fixture.SetNoNewPrivs()
}

// ruleless creates a ruleset that handles access and has no rule, and
// readies the calling thread to enforce it (privOrNNP; per thread, so
// siblings started before or after are alike); fail is the outcome to
// return when a step failed. The caller closes fd.
func ruleless(t *check.T, access uint64) (fd int, fail string) {
	fd, err := fixture.Create(fixture.Attr(8, access), 0)
	if err != nil {
		return -1, check.Outcome(err)
	}
	if err := privOrNNP(t); err != nil {
		unix.Close(fd)
		return -1, "prctl: " + check.Outcome(err)
	}
	return fd, ""
}

// stackToLimit enforces fd on the calling thread until the kernel refuses
// (E2BIG at the layer limit, 16 or 64: fixes.go) and returns the error.
func stackToLimit(fd int) error {
	for n := 0; n <= 70; n++ {
		if err := landlock.SysRestrictSelf(fd, 0); err != nil {
			return err
		}
	}
	return fmt.Errorf("no layer limit after 70 layers")
}

func tsyncCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "tsync", Name: name, Isolation: check.Process, Want: want, Run: run, Covers: []string{"§3.12", "net.2"}}
}

// concurrently gives the case's process enough Go processors for the
// threads racing the enforcement to run while it is in the kernel: with
// one vCPU Go has a single processor, held by the thread in the syscall
// until the runtime takes it back, and the racing threads would mostly
// wait for it. The case runs in a process of its own.
func concurrently() func() {
	old := runtime.GOMAXPROCS(3)
	return func() { runtime.GOMAXPROCS(old) }
}

const (
	tsyncRounds = 4
	maxSignals  = 128
)

func init() {
	check.Build(func() {
		check.Register(mirrored(
			// Two threads enforce with TSYNC at the same instant, several
			// times: both calls succeed every time (neither may deadlock or
			// fail because the other is midway), and a third thread ends
			// up restricted.
			tsyncCase("competing/two_threads_at_once", tsyncWant(fmt.Sprintf("both ok in %d of %d rounds, sibling read=EACCES", tsyncRounds, tsyncRounds)),
				func(t *check.T) string {
					t.Files("f")
					fd, fail := ruleless(t, fsRead)
					if fail != "" {
						return fail
					}
					defer unix.Close(fd)
					on, stop := startSibling()
					defer stop()
					otherOn, otherStop := startSibling()
					defer otherStop()
					if o := otherOn(func() string { return check.Outcome(privOrNNP(t)) }); o != check.OK {
						return "prctl: " + o
					}
					defer concurrently()()
					ok := 0
					for i := 0; i < tsyncRounds; i++ {
						start := make(chan struct{})
						res := make(chan string, 1)
						go func() {
							res <- otherOn(func() string { <-start; return check.Outcome(landlock.SysRestrictSelf(fd, tsyncFlag)) })
						}()
						close(start)
						a := check.Outcome(landlock.SysRestrictSelf(fd, tsyncFlag))
						b := <-res
						if a != check.OK || b != check.OK {
							if a == b && i == 0 {
								return a // EINVAL before the TSYNC ABI
							}
							return fmt.Sprintf("round %d: A=%s B=%s", i+1, a, b)
						}
						ok++
					}
					return fmt.Sprintf("both ok in %d of %d rounds, sibling read=%s", ok, tsyncRounds, on(func() string { return readF(t) }))
				}),

			// A sibling blocked in read(2) on a pipe during the
			// enforcement: the call returns 0, the sibling's read is not
			// interrupted (no signal is delivered to it: it completes when
			// data arrives) and the sibling is restricted afterwards.
			tsyncCase("interrupted/sibling_blocked_in_syscall", tsyncWant("restrict=ok, sibling: read=1 byte, file=EACCES"),
				func(t *check.T) string {
					t.Files("f")
					var p [2]int
					if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
						return check.SetupFailedf("pipe: %s", check.Outcome(err))
					}
					defer unix.Close(p[0])
					defer unix.Close(p[1])
					tidc := make(chan int)
					done := make(chan string)
					go func() {
						fixture.LockThread()
						tidc <- unix.Gettid()
						buf := make([]byte, 1)
						n, err := unix.Read(p[0], buf)
						read := fmt.Sprintf("%d byte", n)
						if err != nil {
							read = check.Outcome(err)
						}
						done <- fmt.Sprintf("read=%s, file=%s", read, readF(t))
					}()
					tid := <-tidc
					if err := waitInSyscall(tid, unix.SYS_READ); err != nil {
						return check.SetupFailedf("%v", err)
					}
					fd, err := fixture.Create(fixture.Attr(8, fsRead), 0)
					if err != nil {
						return check.Outcome(err)
					}
					defer unix.Close(fd)
					rerr := fixture.Restrict(t, fd, tsyncFlag)
					unix.Write(p[1], []byte("x"))
					sib := <-done
					if rerr != nil {
						return check.Outcome(rerr)
					}
					return "restrict=ok, sibling: " + sib
				}),

			// Signals keep arriving at the enforcing thread and at 16
			// siblings while TSYNC waits for them: the wait is restarted,
			// never reported (the call returns 0), and every sibling ends
			// up restricted. The storm is bounded (maxSignals) so that the
			// case stays cheap under TCG; the detail says how many signals
			// arrived during the call.
			tsyncCase("interrupted/signals_during_enforcement", tsyncWant("restrict=ok, siblings denied 16 of 16"),
				func(t *check.T) string {
					t.Files("f")
					const n = 16
					ons := make([]func(func() string) string, n)
					tids := make([]int, n)
					for i := range ons {
						on, stop := startSibling()
						defer stop()
						ons[i] = on
						tids[i], _ = strconv.Atoi(on(func() string { return strconv.Itoa(unix.Gettid()) }))
					}
					fd, fail := ruleless(t, fsRead)
					if fail != "" {
						return fail
					}
					defer unix.Close(fd)
					defer concurrently()()
					self, pid := unix.Gettid(), unix.Getpid()
					var stopSig atomic.Bool
					var sent atomic.Int64
					var wg sync.WaitGroup
					wg.Add(1)
					go func() { // SIGURG: the Go runtime's own, harmless signal
						defer wg.Done()
						fixture.LockThread()
						for i := 0; !stopSig.Load() && i < maxSignals; i++ {
							target := self
							if i%2 == 1 {
								target = tids[(i/2)%n]
							}
							if unix.Tgkill(pid, target, unix.SIGURG) == nil {
								sent.Add(1)
							}
							unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
						}
					}()
					for sent.Load() < 4 && !stopSig.Load() {
						unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
					}
					before := sent.Load()
					rerr := landlock.SysRestrictSelf(fd, tsyncFlag)
					during := sent.Load() - before
					stopSig.Store(true)
					wg.Wait()
					t.Logf("%d signals sent during the enforcement", during)
					if rerr != nil {
						return check.Outcome(rerr)
					}
					denied := 0
					for _, on := range ons {
						if on(func() string { return readF(t) }) == "EACCES" {
							denied++
						}
					}
					return fmt.Sprintf("restrict=ok, siblings denied %d of %d", denied, n)
				}),

			// The caller is at the layer limit: TSYNC fails with E2BIG and
			// passes no_new_privs on to no thread. As root the
			// NO_NEW_PRIVS flag (ABI 11) asks for it and must leave it unset
			// everywhere; unprivileged the caller holds it (prctl) and TSYNC
			// must not give it to the siblings.
			tsyncCase("layer_limit/caller_at_limit_leaves_no_new_privs_unset", check.Sys(func(e check.Env) string {
				caller := 1
				if e.Root {
					caller = 0
				}
				errno := "E2BIG"
				switch {
				case e.ABI < check.ABITSync:
					errno = "EINVAL"
				case e.Root && e.ABI < check.ABINNPFlag:
					errno = "EINVAL" // the NO_NEW_PRIVS flag is unknown
				}
				return fmt.Sprintf("%s, no_new_privs: caller=%d others=0", errno, caller)
			}), func(t *check.T) string {
				fd, fail := ruleless(t, fsWrite) // /proc stays readable
				if fail != "" {
					return fail
				}
				defer unix.Close(fd)
				_, stop := startSibling()
				defer stop()
				if err := stackToLimit(fd); err != unix.E2BIG {
					return "stacking: " + check.Outcome(err)
				}
				flags := uint32(tsyncFlag)
				if t.Env.Root {
					flags |= nnpFlag
				}
				rerr := landlock.SysRestrictSelf(fd, flags)
				caller, _, others, err := threadNNP(unix.Gettid())
				if err != nil {
					return "reading /proc/self/task: " + check.Outcome(err)
				}
				return fmt.Sprintf("%s, no_new_privs: caller=%d others=%d", check.Outcome(rerr), caller, others)
			}),

			// A sibling is at the layer limit: TSYNC replaces its domain by
			// the caller's, whatever it held, so the call succeeds, the
			// sibling's own restriction (writes) is gone, the caller's
			// (reads) applies, and the sibling can stack layers again.
			tsyncCase("layer_limit/sibling_at_limit_overridden", tsyncWant("tsync=ok, sibling: read=EACCES write=ok, another layer=ok"),
				func(t *check.T) string {
					t.Files("f")
					on, stop := startSibling()
					defer stop()
					wfd, err := fixture.Create(fixture.Attr(8, uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)), 0)
					if err != nil {
						return check.Outcome(err)
					}
					defer unix.Close(wfd)
					if o := on(func() string {
						if err := privOrNNP(t); err != nil {
							return "prctl: " + check.Outcome(err)
						}
						return check.Outcome(stackToLimit(wfd))
					}); o != "E2BIG" {
						return "sibling stacking: " + o
					}
					fd, err := fixture.Create(fixture.Attr(8, fsRead), 0)
					if err != nil {
						return check.Outcome(err)
					}
					defer unix.Close(fd)
					if err := fixture.Restrict(t, fd, tsyncFlag); err != nil {
						return check.Outcome(err)
					}
					return "tsync=ok, sibling: " + on(func() string {
						return fmt.Sprintf("read=%s write=%s, another layer=%s", readF(t), check.Outcome(fixture.OpenWrite(t.Path("f"))),
							check.Outcome(landlock.SysRestrictSelf(fd, 0)))
					})
				}),

			// The enforcing thread is not the main thread (the thread group
			// leader): the main thread gets no_new_privs like every other
			// thread, and threads the case controls get the domain.
			tsyncCase("from_thread_other_than_main", tsyncWant("main thread no_new_privs 0 -> 1, threads without it: 0, sibling write=EACCES"),
				func(t *check.T) string {
					t.Files("f")
					run := func() string {
						on, stop := startSibling()
						defer stop()
						_, mainBefore, _, err := threadNNP(unix.Gettid())
						if err != nil {
							return "reading /proc/self/task: " + check.Outcome(err)
						}
						fd, err := fixture.Create(fixture.Attr(8, fsWrite), 0) // /proc stays readable
						if err != nil {
							return check.Outcome(err)
						}
						defer unix.Close(fd)
						if err := fixture.SetNoNewPrivs(); err != nil {
							return "prctl: " + check.Outcome(err)
						}
						if err := landlock.SysRestrictSelf(fd, tsyncFlag); err != nil {
							return check.Outcome(err)
						}
						without, mainAfter, err := threadsWithoutNNP()
						if err != nil {
							return "reading /proc/self/task: " + check.Outcome(err)
						}
						return fmt.Sprintf("main thread no_new_privs %d -> %d, threads without it: %d, sibling write=%s",
							mainBefore, mainAfter, without, on(func() string { return writeF(t) }))
					}
					if unix.Gettid() == unix.Getpid() {
						return fixture.OnOtherThread(run) // a new thread is never the leader
					}
					return run()
				}),

			// Threads are created continuously while TSYNC runs, in
			// several rounds: every thread that exists once the calls
			// returned, including those created during a call, is
			// restricted. Whether a thread's creation overlaps a call is
			// up to the scheduler; the detail says how many did.
			tsyncCase("threads_created_during_enforcement", tsyncWant("restrict=ok, unrestricted threads: 0"),
				func(t *check.T) string {
					t.Files("f")
					fd, fail := ruleless(t, fsRead)
					if fail != "" {
						return fail
					}
					defer unix.Close(fd)
					defer concurrently()()
					const max, rounds = 64, 4
					var (
						threads  []func(func() string) string
						stops    []func()
						count    atomic.Int64
						halt     atomic.Bool
						spawned  = make(chan struct{})
						finished = make(chan struct{})
					)
					go func() { // the spawner: a new locked thread per sibling
						defer close(finished)
						fixture.LockThread()
						for i := 0; i < max && !halt.Load(); i++ {
							on, stop := startSibling()
							threads, stops = append(threads, on), append(stops, stop)
							count.Add(1)
							if i == 2 {
								close(spawned)
							}
						}
					}()
					<-spawned
					var rerr error
					during := int64(0)
					for r := 0; r < rounds && rerr == nil; r++ {
						before := count.Load()
						rerr = landlock.SysRestrictSelf(fd, tsyncFlag)
						during += count.Load() - before
					}
					halt.Store(true)
					<-finished
					defer func() {
						for _, s := range stops {
							s()
						}
					}()
					t.Logf("%d threads created by the spawner, %d of them while an enforcement ran", len(threads), during)
					if rerr != nil {
						return check.Outcome(rerr)
					}
					free := 0
					for _, on := range threads {
						if on(func() string { return readF(t) }) != "EACCES" {
							free++
						}
					}
					return fmt.Sprintf("restrict=ok, unrestricted threads: %d", free)
				}),
		)...)
	})
}

// threadsWithoutNNP counts the threads of the process without
// no_new_privs and reads the main thread's.
func threadsWithoutNNP() (without, main int, err error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, err
	}
	pid := strconv.Itoa(unix.Getpid())
	for _, e := range ents {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/status")
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited meanwhile
		}
		if err != nil {
			return 0, 0, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(l, "NoNewPrivs:"); ok {
				v := strings.TrimSpace(s)
				if v != "1" {
					without++
				}
				if e.Name() == pid {
					main, _ = strconv.Atoi(v)
				}
			}
		}
	}
	return without, main, nil
}

// waitInSyscall waits until thread tid is blocked in syscall nr, as
// /proc/self/task/<tid>/syscall shows it (an observable state, not a
// delay). It gives up after a bounded number of scheduling rounds.
func waitInSyscall(tid int, nr uintptr) error {
	path := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	want := strconv.Itoa(int(nr)) + " "
	for i := 0; i < 100000; i++ {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(b), want) {
			return nil
		}
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	return fmt.Errorf("thread %d never blocked in syscall %d", tid, nr)
}
