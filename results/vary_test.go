package results

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestVary(t *testing.T) {
	mk := func(v Verdict, status Status) *Run {
		return &Run{Kernels: []KernelRun{{Name: "7.1", Status: status, Cases: []Case{
			{Area: "tcp", Name: "steady", Priv: "root", Verdict: Pass},
			{Area: "tcp", Name: "flaky", Priv: "root", Verdict: v, Expected: "ok", Observed: "EADDRINUSE"},
		}}}}
	}
	runs := []*Run{mk(Pass, StatusComplete), mk(Fail, StatusComplete), mk(Pass, StatusBroken)}
	vs := Vary(runs)
	assert.Equal(t, len(vs), 2)
	assert.Equal(t, vs[0].Case, "(kernel run)")
	assert.Equal(t, vs[1].Case, "tcp/flaky/root")
	assert.DeepEqual(t, vs[1].Seen, []string{"pass", "fail (expected ok, observed EADDRINUSE)", "pass"})
	var b strings.Builder
	assert.NilError(t, WriteVariations(&b, runs, vs))
	assert.Assert(t, strings.HasPrefix(b.String(), "soak: 3 runs, 6 case results, 2 cases varied"), b.String())

	assert.Equal(t, len(Vary([]*Run{mk(Pass, StatusComplete), mk(Pass, StatusComplete)})), 0)
}
