package results

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestCompareIdentical(t *testing.T) {
	d := Compare(fixture(), fixture())
	assert.Assert(t, d.Empty(), "%+v", d)
	assert.Assert(t, !d.HasRegressions())
	var b strings.Builder
	assert.NilError(t, d.Write(&b))
	assert.Check(t, is.Contains(b.String(), "no differences"))
}

func TestCompareOneRegression(t *testing.T) {
	base, cur := fixture(), fixture()
	cur.ID = "new"
	c := &cur.Kernels[0].Cases[1] // 6.1 fs/read_file_denied/root
	c.Verdict, c.Observed, c.Detail = Fail, "ok", "open succeeded"

	d := Compare(base, cur)
	assert.Assert(t, d.HasRegressions())
	assert.DeepEqual(t, d, Diff{Base: base.ID, New: "new", Regressions: []Change{{
		Kernel: "6.1/amd64", Case: "fs/read_file_denied/root", Before: Pass, After: Fail,
		Expected: "EACCES", BeforeObserved: "EACCES", AfterObserved: "ok", Detail: "open succeeded",
	}}})
	var b strings.Builder
	assert.NilError(t, d.Write(&b))
	assert.Check(t, is.Contains(b.String(), "Regressions (1):\n  6.1/amd64 fs/read_file_denied/root: pass -> fail (expected EACCES, observed ok): open succeeded\n"))
}

func TestCompareEverything(t *testing.T) {
	base, cur := fixture(), fixture()
	// 6.12: the failing case is fixed, a skip now passes, a pass observes
	// another allowed outcome, one case is gone and one is new.
	k := &cur.Kernels[1]
	k.Cases[2].Verdict, k.Cases[2].Observed = Pass, "EACCES"
	k.Cases[1].Observed = "EPERM"
	k.Cases = append(k.Cases[:3], Case{Area: "udp", Name: "send", Priv: "root", Verdict: Fail, Expected: "EACCES", Observed: "ok"})
	// 6.1 now broken; 7.0 complete again; a kernel swapped for another.
	cur.Kernels[0].Status, cur.Kernels[0].Reason = "broken", "no done record after 1 cases"
	cur.Kernels[0].Cases = cur.Kernels[0].Cases[:1]
	cur.Kernels[2].Status = StatusComplete
	cur.Kernels = append(cur.Kernels, KernelRun{Name: "7.1", Status: StatusComplete})
	base.Kernels = append(base.Kernels, KernelRun{Name: "5.10", Status: StatusComplete})

	d := Compare(base, cur)
	ids := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Kernel+" "+c.Case)
		}
		return out
	}
	assert.DeepEqual(t, ids(d.Regressions), []string{"6.1/amd64 "})
	assert.DeepEqual(t, ids(d.Fixes), []string{"6.12/amd64 fs/read_file_denied/unpriv", "7.0/amd64 "})
	assert.DeepEqual(t, ids(d.ChangedObservations), []string{"6.12/amd64 fs/read_file_denied/root"})
	assert.DeepEqual(t, ids(d.NewCases), []string{"6.12/amd64 udp/send/root"})
	assert.DeepEqual(t, ids(d.RemovedCases), []string{"6.12/amd64 tcp/bind_v6_denied/root"}) // not 6.1's: it broke
	assert.DeepEqual(t, d.NewKernels, []string{"7.1/amd64"})
	assert.DeepEqual(t, d.MissingKernels, []string{"5.10/amd64"})
	assert.Equal(t, len(d.OtherChanges), 0)

	var b strings.Builder
	assert.NilError(t, d.Write(&b))
	out := b.String()
	for _, want := range []string{
		"1 regression, 2 fixes",
		"6.1/amd64: kernel run complete -> broken: no done record after 1 cases",
		"6.12/amd64 fs/read_file_denied/root: pass, observed EACCES -> EPERM",
		"udp/send/root: 6.12/amd64 fail",
		"New kernels (1): 7.1/amd64",
		"Missing kernels (1): 5.10/amd64",
	} {
		assert.Check(t, is.Contains(out, want))
	}
}

func TestCompareSkipToPassIsNoFix(t *testing.T) {
	base, cur := fixture(), fixture()
	cur.Kernels[0].Cases[3].Verdict = Pass
	d := Compare(base, cur)
	assert.Equal(t, len(d.Fixes), 0)
	assert.Equal(t, len(d.OtherChanges), 1)
	assert.Assert(t, !d.HasRegressions())
}

func TestCompareDeviationsAndGate(t *testing.T) {
	k := func(name string, status Status, vs map[string]Verdict) KernelRun {
		kr := KernelRun{Name: name, Status: status}
		for _, n := range []string{"a", "b", "c", "d"} {
			if v, ok := vs[n]; ok {
				kr.Cases = append(kr.Cases, Case{Area: "x", Name: n, Priv: "root", Verdict: v})
			}
		}
		return kr
	}
	base := &Run{ID: "base", Kernels: []KernelRun{
		k("7.3", StatusComplete, map[string]Verdict{"a": Pass, "b": Known, "c": Warn, "d": Pass}),
		k("6.1", StatusComplete, map[string]Verdict{"a": Pass}),
	}}
	cur := &Run{ID: "new", Incomplete: true, Kernels: []KernelRun{
		k("7.3", StatusComplete, map[string]Verdict{"a": Warn, "b": Fail, "c": Pass, "d": Skip}),
		k("6.1", StatusNotRun, nil),
	}}
	d := Compare(base, cur)
	var regs, fixes []string
	for _, c := range d.Regressions {
		regs = append(regs, c.Case)
	}
	for _, c := range d.Fixes {
		fixes = append(fixes, c.Case)
	}
	assert.DeepEqual(t, regs, []string{"x/a/root", "x/b/root"}) // pass -> warn, known -> fail
	assert.DeepEqual(t, fixes, []string{"x/c/root"})            // warn -> pass
	assert.Equal(t, len(d.OtherChanges), 1)                     // pass -> skip
	assert.DeepEqual(t, d.MissingKernels, []string{"6.1/amd64 (not run)"})
	assert.Assert(t, !d.Gate(true), "regressions fail the gate")

	var b strings.Builder
	assert.NilError(t, d.Write(&b))
	assert.Assert(t, strings.Contains(b.String(), "the new run is incomplete"), b.String())

	// A new run without any kernel fails the gate, unless missing
	// kernels are allowed.
	empty := Compare(base, &Run{ID: "empty"})
	assert.Assert(t, !empty.HasRegressions())
	assert.Assert(t, !empty.Gate(false))
	assert.Assert(t, empty.Gate(true))
}

// The same series on two architectures are two kernels: a regression on
// arm64 is not hidden by amd64's pass, nor a kernel of one architecture
// matched with the other's. A document older than the arch field counts
// as amd64, unless its guest said aarch64.
func TestCompareKeysKernelsByNameAndArchitecture(t *testing.T) {
	k := func(a arch.Arch, v Verdict) KernelRun {
		return KernelRun{Name: "7.3", Arch: a, Status: StatusComplete,
			Cases: []Case{{Area: "x", Name: "a", Priv: "root", Verdict: v, Expected: "EACCES", Observed: "EACCES"}}}
	}
	old := k("", Pass) // schema 2: no arch
	oldArm := k("", Pass)
	oldArm.Env.Arch = "aarch64"
	base := &Run{ID: "base", Kernels: []KernelRun{old, oldArm}}
	cur := &Run{ID: "new", Kernels: []KernelRun{k("arm64", Fail), k("amd64", Pass)}}
	d := Compare(base, cur)
	assert.Equal(t, len(d.Regressions), 1, "%+v", d)
	assert.Equal(t, d.Regressions[0].Kernel, "7.3/arm64")
	assert.Equal(t, len(d.NewKernels)+len(d.MissingKernels), 0, "%+v", d)

	d = Compare(&Run{Kernels: []KernelRun{k("amd64", Pass)}}, &Run{Kernels: []KernelRun{k("arm64", Pass)}})
	assert.DeepEqual(t, d.NewKernels, []string{"7.3/arm64"})
	assert.DeepEqual(t, d.MissingKernels, []string{"7.3/amd64"})
}
