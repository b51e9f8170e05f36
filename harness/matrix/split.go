package matrix

import (
	"context"
	"sync"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
)

// A kernel's root and unprivileged passes are independent: the agent runs
// the second in a child process of its own. When there are fewer kernels
// than VMs may run at once, each kernel's two passes boot in two VMs at
// once, so one kernel (a developer's own) takes the cores that would
// otherwise stand idle. Its verdicts are the same: each VM boots the same
// kernel and agent and runs the same selected cases; only the pass each
// runs differs. A matrix of more kernels than VMs gains nothing from it
// (every core is busy) and pays a second boot per kernel, so it does not.

// splitPasses reports whether the kernels' passes boot apart: a run of
// both passes of the suites (the selftests have no passes), with at least
// two VM slots for every kernel.
func splitPasses(s protocol.Settings, kernels, parallel int) bool {
	return !s.Noop && !s.Selftests && !s.NoUnpriv && !s.OnlyUnpriv && kernels > 0 && 2*kernels <= parallel
}

// twoPasses boots the root pass and the unprivileged pass of t at once and
// joins them into one kernel's run.
func (b *booter) twoPasses(ctx context.Context, t Target, log string) results.KernelRun {
	ab := b.arch[t.Architecture()]
	agg := &passProgress{kernel: t.Key(), progress: b.cfg.Progress, parts: map[string]Event{}}
	var root, unpriv results.KernelRun
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		root = b.boots(ctx, t, log+".root", ab.rootArgs, agg.of("root"))
	}()
	go func() {
		defer wg.Done()
		unpriv = b.boots(ctx, t, log+".unpriv", ab.unprivArgs, agg.of("unpriv"))
	}()
	wg.Wait()
	return joinPasses(root, unpriv)
}

// joinPasses is one kernel's run from the runs of its two passes: the root
// pass's records first, as one VM would have sent them; the worse status,
// with the pass it came from named; the attempts of both; the longest
// boot and suites times and the QEMU CPU time of both.
func joinPasses(root, unpriv results.KernelRun) results.KernelRun {
	kr := root
	kr.Cases = append(append([]results.Case(nil), root.Cases...), unpriv.Cases...)
	kr.Attempts = nil
	for _, p := range []struct {
		name string
		run  results.KernelRun
	}{{"root", root}, {"unpriv", unpriv}} {
		for _, a := range p.run.Attempts {
			a.Pass = p.name
			kr.Attempts = append(kr.Attempts, a)
		}
	}
	if statusRank[unpriv.Status] > statusRank[root.Status] {
		kr.Status, kr.Reason = unpriv.Status, "unprivileged pass: "+unpriv.Reason
	} else if root.Status != results.StatusComplete && root.Reason != "" {
		kr.Reason = "root pass: " + root.Reason
	}
	if root.Env.LandlockStatus == "" {
		kr.Env = unpriv.Env // the root pass never sent its header
	} else {
		kr.Env.PlannedCases += unpriv.Env.PlannedCases
	}
	kr.Timings.BootMS = max(root.Timings.BootMS, unpriv.Timings.BootMS)
	kr.Timings.SuitesMS = max(root.Timings.SuitesMS, unpriv.Timings.SuitesMS)
	kr.Timings.WallMS = max(root.Timings.WallMS, unpriv.Timings.WallMS)
	kr.Timings.QEMUCPUMS = root.Timings.QEMUCPUMS + unpriv.Timings.QEMUCPUMS
	kr.Notes = append(append([]string(nil), root.Notes...), unpriv.Notes...)
	return kr
}

// statusRank orders the statuses from best to worst.
var statusRank = map[results.Status]int{
	results.StatusComplete: 0, results.StatusInterrupted: 1, results.StatusNotRun: 2, results.StatusBroken: 3,
}

// passProgress shows the two passes of a kernel as one kernel's progress:
// the counts of both, booting until both run.
type passProgress struct {
	mu       sync.Mutex
	kernel   string
	progress Progress
	parts    map[string]Event
}

func (p *passProgress) of(part string) Progress {
	return func(ev Event) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.parts[part] = ev
		sum := Event{Kernel: p.kernel, State: StateRunning}
		for _, e := range p.parts {
			if e.State == StateBooting {
				sum.State, sum.Attempt = StateBooting, max(sum.Attempt, e.Attempt)
			}
			sum.Done += e.Done
			sum.Total += e.Total
			sum.Pass += e.Pass
			sum.Fail += e.Fail
		}
		p.progress(sum)
	}
}
