// Package matrix is the host side of a run: it turns kernels into
// targets, boots them in QEMU at most Parallel at a time, reads each
// guest's result stream, judges every boot (complete, broken,
// interrupted), retries a broken boot once, and returns one results.Run.
package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/agent/protocol"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
)

// Target is one kernel of a matrix run.
type Target struct {
	Name           string
	Image          string // kernel image (bzImage) path
	Cmdline        string // kernel command-line additions of the catalog entry
	ExpectedStatus landlock.State
	ExpectedABI    *int
	Package        string
	PackageVersion string
	SHA256         string // of the image
	DownloadMS     int64  // 0 when it came from the cache
}

// TargetOf turns a fetched kernel into a target.
func TargetOf(k kernels.Kernel) Target {
	t := Target{Name: k.Name, Image: k.Image, Cmdline: k.Cmdline, ExpectedStatus: k.ExpectedStatus,
		ExpectedABI: k.ExpectedABI, Package: k.Package, PackageVersion: k.Version, SHA256: k.ImageSHA256}
	if !k.Cached {
		t.DownloadMS = k.Download.Milliseconds()
	}
	return t
}

// Config is how a matrix runs.
type Config struct {
	Settings protocol.Settings // what the agent runs
	Parallel int               // VMs at a time; default 1
	MemoryMB int               // guest memory; default 512
	Timeout  time.Duration     // per boot; default 5 minutes
	OutDir   string            // run directory (console logs, reports)
	Args     []string          // the command line, for the record
	Progress Progress          // live progress, optional
}

// Run boots every target and collects one run document; kernels keep
// their order. After a cancel no new VM starts, and the run says so.
func Run(ctx context.Context, cfg Config, targets []Target) (*results.Run, error) {
	if err := vm.CheckQEMU(); err != nil {
		return nil, err
	}
	guestArgs, err := cfg.Settings.Cmdline()
	if err != nil {
		return nil, err
	}
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	if err := os.MkdirAll(filepath.Join(cfg.OutDir, "console"), 0o755); err != nil {
		return nil, err
	}
	initramfs, err := vm.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	b := &booter{cfg: cfg, guestArgs: guestArgs, initramfs: initramfs, accel: vm.Accel()}
	if b.cfg.Progress == nil {
		b.cfg.Progress = func(Event) {}
	}
	started := time.Now()
	out := make([]results.KernelRun, len(targets))
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{} // taken here, so that kernels start in catalog order
		wg.Add(1)
		go func(i int, t Target) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = b.kernel(ctx, t)
		}(i, t)
	}
	wg.Wait()
	run := results.NewRun(started, cfg.Args, out)
	run.Incomplete = ctx.Err() != nil
	return run, nil
}

type booter struct {
	cfg       Config
	guestArgs string
	initramfs string
	accel     string
}

// kernel runs one target: a boot, and one retry when it broke.
func (b *booter) kernel(ctx context.Context, t Target) results.KernelRun {
	kr := results.KernelRun{Name: t.Name, Env: b.hostEnv(t), Status: results.StatusNotRun}
	if ctx.Err() != nil {
		kr.Reason = "the run was interrupted before this kernel started"
		b.cfg.Progress(Event{Kernel: t.Name, State: StateNotRun})
		return kr
	}
	start := time.Now()
	var last *attempt
	for n := 1; n <= 2; n++ {
		if last != nil {
			// The earlier attempt keeps what it delivered.
			kr.Attempts[len(kr.Attempts)-1].Cases = last.stream.Cases
		}
		a := b.boot(ctx, t, n)
		kr.Attempts = append(kr.Attempts, a.record)
		last = a
		if a.record.Status != results.StatusBroken || ctx.Err() != nil {
			break
		}
	}
	kr.Timings.DownloadMS = t.DownloadMS
	kr.Timings.WallMS = time.Since(start).Milliseconds()
	kr.Status, kr.Reason = last.record.Status, last.record.Reason
	kr.Timings.BootMS, kr.Timings.SuitesMS = last.bootMS, last.suitesMS
	if s := last.stream; s != nil {
		if s.Header != nil {
			kr.Env = mergeEnv(*s.Header, kr.Env)
		}
		kr.Cases = s.Cases
	}
	kr.Flags = flags(t, kr)
	if c, ok := catalogCase(t, kr); ok {
		kr.Cases = append(kr.Cases, c)
	}
	b.cfg.Progress(Event{Kernel: t.Name, State: State(kr.Status)})
	return kr
}

// hostEnv is what the host knows of a target before it boots.
func (b *booter) hostEnv(t Target) results.Env {
	return results.Env{Kernel: t.Name, Package: t.Package, PackageVersion: t.PackageVersion, SHA256: t.SHA256,
		ExpectedABI: t.ExpectedABI, Accel: b.accel}
}

// attempt is one boot, judged.
type attempt struct {
	record           results.Attempt
	stream           *protocol.Stream
	bootMS, suitesMS int64
}

func (b *booter) boot(ctx context.Context, t Target, n int) *attempt {
	log := filepath.Join("console", safeName(t.Name)+".log")
	if n > 1 {
		log = filepath.Join("console", fmt.Sprintf("%s.attempt%d.log", safeName(t.Name), n))
	}
	spec := vm.Spec{Kernel: t.Image, Initramfs: b.initramfs, Cmdline: strings.TrimSpace(t.Cmdline + " " + b.guestArgs),
		MemoryMB: b.cfg.MemoryMB, Timeout: b.cfg.Timeout, ConsoleLog: filepath.Join(b.cfg.OutDir, log), Accel: b.accel}
	a := &attempt{stream: &protocol.Stream{}, record: results.Attempt{ConsoleLog: log}}
	live := newLiveCount(t.Name, b.cfg.Progress)
	b.cfg.Progress(Event{Kernel: t.Name, State: StateBooting, Attempt: n})
	var headerAt, doneAt time.Time
	boot, err := vm.Run(ctx, spec, func(line []byte) {
		ev, ok := a.stream.Add(line)
		if !ok {
			return
		}
		switch ev.Type {
		case protocol.EventHeader:
			headerAt = time.Now()
		case protocol.EventDone:
			doneAt = time.Now()
		}
		live.event(ev)
	})
	if err != nil {
		a.record.Status, a.record.Reason = results.StatusBroken, err.Error()
		if ctx.Err() != nil {
			a.record.Status, a.record.Reason = results.StatusInterrupted, "the run was interrupted"
		}
		return a
	}
	if !headerAt.IsZero() {
		a.bootMS = headerAt.Sub(boot.Started).Milliseconds()
		if !doneAt.IsZero() {
			a.suitesMS = doneAt.Sub(headerAt).Milliseconds()
		}
	}
	a.record.BootMS, a.record.WallMS = a.bootMS, boot.Wall.Milliseconds()
	a.record.ConsoleTail = boot.ConsoleTail
	a.record.Status, a.record.Reason = judge(a.stream, boot, b.cfg.Timeout)
	return a
}

// judge decides how a boot ended. Anything short of a complete stream
// from a quiet kernel is broken, never complete.
func judge(s *protocol.Stream, b *vm.Boot, timeout time.Duration) (results.Status, string) {
	switch {
	case b.Cancelled:
		return results.StatusInterrupted, fmt.Sprintf("the run was interrupted after %d cases", len(s.Cases))
	case b.Trouble != "":
		return results.StatusBroken, "guest kernel trouble: " + b.Trouble
	case b.TimedOut:
		return results.StatusBroken, fmt.Sprintf("timed out after %v (killed) with %d cases received", timeout, len(s.Cases))
	}
	if ok, why := s.Complete(); !ok {
		if b.Exit != "" {
			why += "; qemu " + b.Exit
		}
		if b.Stderr != "" {
			why += "; qemu: " + b.Stderr
		}
		return results.StatusBroken, why
	}
	return results.StatusComplete, ""
}

// catalogCase checks the kernel's Landlock state and ABI against what its
// catalog entry (or --expect-abi) promises.
func catalogCase(t Target, kr results.KernelRun) (results.Case, bool) {
	return results.StateCase(t.ExpectedStatus, t.ExpectedABI, kr.Env)
}

// mergeEnv adds the host-side facts to the guest's header.
func mergeEnv(guest, host results.Env) results.Env {
	guest.Kernel = host.Kernel
	guest.Package, guest.PackageVersion, guest.SHA256 = host.Package, host.PackageVersion, host.SHA256
	guest.ExpectedABI, guest.Accel = host.ExpectedABI, host.Accel
	return guest
}

// flags names the kernel-level anomalies: a kernel that reports another
// Landlock state or ABI than its catalog entry, or an ABI newer than the
// suites know.
func flags(t Target, kr results.KernelRun) []string {
	var f []string
	if kr.Env.LandlockStatus == "" {
		return nil
	}
	if t.ExpectedStatus != "" && t.ExpectedStatus != kr.Env.LandlockStatus {
		f = append(f, fmt.Sprintf("Landlock status mismatch: catalog expects %s, kernel reports %s", t.ExpectedStatus, kr.Env.LandlockStatus))
	}
	if e := t.ExpectedABI; e != nil && kr.Env.LandlockStatus == landlock.Enabled && *e != kr.Env.ABI {
		f = append(f, fmt.Sprintf("ABI mismatch: catalog expects %d, kernel reports %d", *e, kr.Env.ABI))
	}
	if kr.Env.ABI > landlock.NewestABI {
		f = append(f, fmt.Sprintf("newer ABI %d: only the cases of ABI ≤ %d exist, not fully covered", kr.Env.ABI, landlock.NewestABI))
	}
	return f
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}
