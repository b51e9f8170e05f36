package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/llconform/llconform/results"
)

// Target is one kernel of a matrix run.
type Target struct {
	Name           string
	Image          string // kernel image (bzImage) path
	Cmdline        string // kernel command line additions
	Host           results.Env
	ExpectedStatus string // "enabled", "disabled" or "absent"; "" when unknown
	DownloadMS     int64
}

// Attempt is one boot of a target, as the VM layer reports it.
type Attempt struct {
	Stream      *results.Stream
	Status      string // "complete" or "broken"
	Reason      string
	ConsoleLog  string // path relative to the run directory
	ConsoleTail string
	Boot        time.Duration
	Suites      time.Duration
	Wall        time.Duration
}

// BootFunc boots a target with the agent, calling onEvent for every
// stream event as it arrives, and returns every attempt (a broken first
// boot is retried once by the VM layer).
type BootFunc func(ctx context.Context, t Target, onEvent func(results.Event)) ([]Attempt, error)

// Progress receives live matrix progress; total is 0 until the agent has
// announced its planned case count.
type Progress func(kernel, state string, done, total, pass, fail int)

// NewestKnownABI is the newest Landlock ABI these suites cover.
const NewestKnownABI = 11

// Matrix boots every target, at most parallel at a time, and collects one
// results.Run. Kernels keep their order in the run.
func Matrix(ctx context.Context, targets []Target, parallel int, boot BootFunc, progress Progress) []results.KernelRun {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]results.KernelRun, len(targets))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{} // taken here, so that kernels start in catalog order
		wg.Add(1)
		go func(i int, t Target) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = runTarget(ctx, t, boot, progress)
		}(i, t)
	}
	wg.Wait()
	return out
}

func runTarget(ctx context.Context, t Target, boot BootFunc, progress Progress) results.KernelRun {
	if progress == nil {
		progress = func(string, string, int, int, int, int) {}
	}
	var mu sync.Mutex
	done, total, pass, fail := 0, 0, 0, 0
	progress(t.Name, "booting", 0, 0, 0, 0)
	onEvent := func(ev results.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Type {
		case results.EventHeader:
			done, pass, fail = 0, 0, 0
			total = ev.Env.PlannedCases
			progress(t.Name, "running", 0, total, 0, 0)
		case results.EventCase:
			done++
			switch ev.Case.Verdict {
			case results.Pass:
				pass++
			case results.Fail, results.Broken:
				fail++
			}
			progress(t.Name, "running", done, total, pass, fail)
		}
	}
	start := time.Now()
	attempts, err := boot(ctx, t, onEvent)
	kr := results.KernelRun{Name: t.Name, Env: t.Host, Status: "broken"}
	kr.Env.Kernel = t.Name
	kr.Timings.DownloadMS = t.DownloadMS
	kr.Timings.WallMS = time.Since(start).Milliseconds()
	if err != nil {
		kr.Reason = err.Error()
		progress(t.Name, "broken", done, total, pass, fail)
		return kr
	}
	for _, a := range attempts {
		kr.Attempts = append(kr.Attempts, results.Attempt{Status: a.Status, Reason: a.Reason, ConsoleLog: a.ConsoleLog,
			ConsoleTail: a.ConsoleTail, BootMS: a.Boot.Milliseconds(), WallMS: a.Wall.Milliseconds()})
	}
	if len(attempts) == 0 {
		kr.Reason = "the VM layer returned no attempt"
		return kr
	}
	last := attempts[len(attempts)-1]
	kr.Status, kr.Reason = last.Status, last.Reason
	kr.Timings.BootMS, kr.Timings.SuitesMS = last.Boot.Milliseconds(), last.Suites.Milliseconds()
	if s := last.Stream; s != nil {
		if s.Header != nil {
			kr.Env = mergeEnv(*s.Header, t.Host)
			kr.Env.Kernel = t.Name
		}
		kr.Cases = s.Cases
	}
	kr.Flags = flags(t, kr)
	if c, ok := catalogCase(t, kr); ok {
		kr.Cases = append(kr.Cases, c)
	}
	state := "done"
	if kr.Status != "complete" {
		state = "broken"
	}
	progress(t.Name, state, done, total, pass, fail)
	return kr
}

// catalogCase checks the kernel's Landlock state and ABI against what its
// catalog entry promises, as a case of its own so that a mismatch is a
// failing cell, not a footnote.
func catalogCase(t Target, kr results.KernelRun) (results.Case, bool) {
	if t.ExpectedStatus == "" || kr.Env.LandlockStatus == "" {
		return results.Case{}, false
	}
	describe := func(status string, abi *int) string {
		if status == results.StatusEnabled && abi != nil {
			return fmt.Sprintf("enabled ABI %d", *abi)
		}
		return status
	}
	var abi *int
	if t.Host.ExpectedABI != nil {
		abi = &kr.Env.ABI
	}
	c := results.Case{Area: "base", Name: "catalog/landlock_state_and_abi", Priv: "host",
		Expected: describe(t.ExpectedStatus, t.Host.ExpectedABI), Observed: describe(kr.Env.LandlockStatus, abi)}
	c.Verdict = results.Pass
	if c.Expected != c.Observed {
		c.Verdict = results.Fail
		c.Detail = "the kernel does not report what its catalog entry promises"
	}
	return c, true
}

// mergeEnv adds the host-side facts to the guest's header.
func mergeEnv(guest, host results.Env) results.Env {
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
	if e := t.Host.ExpectedABI; e != nil && kr.Env.LandlockStatus == results.StatusEnabled && *e != kr.Env.ABI {
		f = append(f, fmt.Sprintf("ABI mismatch: catalog expects %d, kernel reports %d", *e, kr.Env.ABI))
	}
	if kr.Env.ABI > NewestKnownABI {
		f = append(f, fmt.Sprintf("newer ABI %d: only the cases of ABI ≤ %d exist, not fully covered", kr.Env.ABI, NewestKnownABI))
	}
	return f
}
