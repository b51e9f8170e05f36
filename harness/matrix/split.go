package matrix

import (
	"context"
	"sync"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
)

// A kernel's root and unprivileged passes are independent: the agent runs
// the second in a child process of its own. When VM slots would otherwise
// stand idle, a kernel's two passes boot in two VMs: a developer's own
// kernel alone on two cores, and the last kernels of a matrix, which
// start when no kernel is left to take the slots that the others free.
// Its verdicts are the same: each VM boots the same kernel and agent and
// runs the same selected cases; only the pass each runs differs. Earlier
// in a matrix every slot is busy anyway, and a second boot per kernel
// would only cost time, so those kernels boot once.

// splitAt reports whether kernel i (0-based, in start order) of kernels
// boots its passes apart: a run of both passes of the suites (the
// selftests have no passes), on at least two slots, and i among the last
// parallel/2 kernels (every kernel when each can have two slots).
func splitAt(s protocol.Settings, i, kernels, parallel int) bool {
	twoPasses := !s.Noop && !s.Selftests && !s.NoUnpriv && !s.OnlyUnpriv
	return twoPasses && parallel >= 2 && i < kernels && kernels-i <= parallel/2
}

// twoPasses boots the root pass of t in the VM slot the kernel was started
// in, which it frees when it ends, and the unprivileged pass in the next
// slot that frees (take and free act on the run's slots), and joins them
// into one kernel's run, whose wall is from the first boot to the last
// power-off.
func (b *booter) twoPasses(ctx context.Context, t Target, log string, take, free func()) results.KernelRun {
	ab := b.arch[t.Architecture()]
	agg := &passProgress{kernel: t.Key(), progress: b.cfg.Progress, parts: map[string]Event{}}
	start := time.Now()
	var root, unpriv results.KernelRun
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer free()
		root = b.boots(ctx, t, log+".root", ab.rootArgs, agg.of("root"))
	}()
	go func() {
		defer wg.Done()
		take()
		defer free()
		unpriv = b.boots(ctx, t, log+".unpriv", ab.unprivArgs, agg.of("unpriv"))
	}()
	wg.Wait()
	kr := joinPasses(root, unpriv)
	kr.Timings.WallMS = max(kr.Timings.WallMS, time.Since(start).Milliseconds())
	return kr
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
// the counts of both, booting until one of them runs.
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
		// Booting until a pass runs: the second pass of a matrix's last
		// kernel boots while the first has long been running.
		sum := Event{Kernel: p.kernel, State: StateBooting}
		for _, e := range p.parts {
			switch e.State {
			case StateRunning:
				sum.State = StateRunning
			case StateBooting:
				sum.Attempt = max(sum.Attempt, e.Attempt)
			}
			sum.Done += e.Done
			sum.Total += e.Total
			sum.Pass += e.Pass
			sum.Fail += e.Fail
		}
		p.progress(sum)
	}
}
