package matrix

import (
	"testing"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

func TestSplitPassesOnlyWithASlotForEachPass(t *testing.T) {
	both := protocol.Settings{}
	assert.Assert(t, splitPasses(both, 1, 2))
	assert.Assert(t, splitPasses(both, 2, 4))
	assert.Assert(t, !splitPasses(both, 2, 2), "a matrix that fills the slots boots each kernel once")
	assert.Assert(t, !splitPasses(both, 1, 1))
	assert.Assert(t, !splitPasses(protocol.Settings{NoUnpriv: true}, 1, 2), "one pass: nothing to split")
	assert.Assert(t, !splitPasses(protocol.Settings{Noop: true}, 1, 2))
	assert.Assert(t, !splitPasses(protocol.Settings{Selftests: true}, 1, 2), "the selftests run as root only")
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
