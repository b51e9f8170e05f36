package matrix

import (
	"testing"

	"context"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/fakeqemu"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

func TestSplitOnlyTheKernelsThatWouldLeaveSlotsIdle(t *testing.T) {
	both := protocol.Settings{}
	assert.Assert(t, splitAt(both, 0, 1, 2), "one kernel on two slots")
	assert.Assert(t, splitAt(both, 0, 2, 4) && splitAt(both, 1, 2, 4))
	assert.Assert(t, !splitAt(both, 0, 2, 2), "a kernel with another still to start boots once")
	assert.Assert(t, splitAt(both, 1, 2, 2), "the last kernel takes the slot the first frees")
	assert.Assert(t, !splitAt(both, 7, 9, 2) && splitAt(both, 8, 9, 2))
	assert.Assert(t, !splitAt(both, 6, 9, 4) && splitAt(both, 7, 9, 4) && splitAt(both, 8, 9, 4))
	assert.Assert(t, !splitAt(both, 0, 1, 1), "one slot")
	assert.Assert(t, !splitAt(protocol.Settings{NoUnpriv: true}, 0, 1, 2), "one pass: nothing to split")
	assert.Assert(t, !splitAt(protocol.Settings{Noop: true}, 0, 1, 2))
	assert.Assert(t, !splitAt(protocol.Settings{Selftests: true}, 0, 1, 2), "the selftests run as root only")
}

// On two slots the last of three kernels boots its passes apart, the
// unprivileged one in the slot the second kernel frees; the others boot
// once. OneBoot boots every kernel once.
func TestRunSplitsTheLastKernelOnly(t *testing.T) {
	for _, oneBoot := range []bool{false, true} {
		cfg := faultConfig(t)
		cfg.Parallel, cfg.OneBoot = 2, oneBoot
		ks := []Target{target(t, "a", fakeqemu.Complete), target(t, "b", fakeqemu.Complete), target(t, "c", fakeqemu.Complete)}
		run, err := Run(context.Background(), cfg, ks)
		assert.NilError(t, err)
		for i, k := range run.Kernels {
			boots := 1
			if i == 2 && !oneBoot {
				boots = 2
			}
			assert.Equal(t, fakeqemu.Boots(t, ks[i].Image), boots, "kernel %s, OneBoot %v", k.Name, oneBoot)
			assert.Equal(t, len(k.Attempts), boots)
			assert.Equal(t, k.Status, results.StatusComplete, k.Reason)
		}
		if !oneBoot {
			last := run.Kernels[2]
			assert.DeepEqual(t, []string{last.Attempts[0].Pass, last.Attempts[1].Pass}, []string{"root", "unpriv"})
			assert.Equal(t, len(last.Cases), 2*fakeqemu.Cases, "both passes' records")
		}
	}
}

func pass(name string, verdict results.Verdict) results.Case {
	return results.Case{Area: "fs", Name: name, Verdict: verdict}
}

func TestJoinPassesKeepsEveryRecordInPassOrder(t *testing.T) {
	root := results.KernelRun{Name: "7.3", Status: results.StatusComplete,
		Env:      results.Env{LandlockStatus: "enabled", ABI: 11, PlannedCases: 2},
		Cases:    []results.Case{pass("a", results.Pass), pass("b", results.Pass)},
		Attempts: []results.Attempt{{Status: results.StatusComplete}},
		Timings:  results.Timings{BootMS: 3000, SuitesMS: 12000, WallMS: 15100, QEMUCPUMS: 15000}}
	unpriv := results.KernelRun{Name: "7.3", Status: results.StatusComplete,
		Env:      results.Env{LandlockStatus: "enabled", ABI: 11, PlannedCases: 2},
		Cases:    []results.Case{pass("a", results.Pass), pass("b", results.Fail)},
		Attempts: []results.Attempt{{Status: results.StatusComplete}},
		Timings:  results.Timings{BootMS: 3200, SuitesMS: 13000, WallMS: 16300, QEMUCPUMS: 16000}}
	for i := range unpriv.Cases {
		unpriv.Cases[i].Priv = "unpriv"
	}
	k := joinPasses(root, unpriv)
	assert.Equal(t, k.Status, results.StatusComplete)
	assert.DeepEqual(t, k.Cases, append(append([]results.Case(nil), root.Cases...), unpriv.Cases...))
	assert.Equal(t, k.Env.PlannedCases, 4)
	assert.DeepEqual(t, k.Timings, results.Timings{BootMS: 3200, SuitesMS: 13000, WallMS: 16300, QEMUCPUMS: 31000})
	assert.Equal(t, len(k.Attempts), 2)
	assert.Equal(t, k.Attempts[0].Pass, "root")
	assert.Equal(t, k.Attempts[1].Pass, "unpriv")
	retried, _ := k.Retried()
	assert.Assert(t, !retried, "one boot of each pass is no retry")
}

// A pass that broke makes the kernel broken, whichever it was, and says
// which; a retry of one pass is a retry.
func TestJoinPassesKeepsTheWorseStatus(t *testing.T) {
	ok := results.KernelRun{Status: results.StatusComplete, Env: results.Env{LandlockStatus: "enabled"},
		Attempts: []results.Attempt{{Status: results.StatusComplete}}}
	bad := results.KernelRun{Status: results.StatusBroken, Reason: "timed out", Env: results.Env{LandlockStatus: "enabled"},
		Attempts: []results.Attempt{{Status: results.StatusBroken, Reason: "Oops"}, {Status: results.StatusBroken, Reason: "timed out"}}}
	k := joinPasses(ok, bad)
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, k.Reason, "unprivileged pass: timed out")
	k = joinPasses(bad, ok)
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, k.Reason, "root pass: timed out")
	retried, why := k.Retried()
	assert.Assert(t, retried)
	assert.Equal(t, why, "root pass: broken: Oops")
	// The unprivileged pass's header stands in for a root pass that sent none.
	k = joinPasses(results.KernelRun{Status: results.StatusBroken, Reason: "no header"},
		results.KernelRun{Status: results.StatusComplete, Env: results.Env{LandlockStatus: "enabled", ABI: 11, PlannedCases: 5}})
	assert.Equal(t, k.Env.ABI, 11)
	assert.Equal(t, k.Status, results.StatusBroken)
}

// A kernel whose first pass runs while its second boots is running, with
// the first pass's counts: the printer then writes no line per case.
func TestPassProgressRunsOnceAPassRuns(t *testing.T) {
	var got []Event
	agg := &passProgress{kernel: "7.3/amd64", progress: func(e Event) { got = append(got, e) }, parts: map[string]Event{}}
	root, unpriv := agg.of("root"), agg.of("unpriv")
	root(Event{State: StateBooting, Attempt: 1})
	root(Event{State: StateRunning, Done: 5, Total: 10, Pass: 5})
	unpriv(Event{State: StateBooting, Attempt: 1})
	root(Event{State: StateRunning, Done: 6, Total: 10, Pass: 6})
	unpriv(Event{State: StateRunning, Done: 0, Total: 10})
	states := []State{}
	for _, e := range got {
		states = append(states, e.State)
	}
	assert.DeepEqual(t, states, []State{StateBooting, StateRunning, StateRunning, StateRunning, StateRunning})
	assert.DeepEqual(t, got[len(got)-1], Event{Kernel: "7.3/amd64", State: StateRunning, Attempt: 0, Done: 6, Total: 20, Pass: 6})
	assert.Equal(t, got[2].Attempt, 1, "the booting pass's attempt")
}
