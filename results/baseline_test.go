package results

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// oneKernel is a run of one complete kernel named name with the cases.
func oneKernel(id, name string, cases ...Case) *Run {
	return &Run{ID: id, Kernels: []KernelRun{{Name: name, Arch: "amd64", Status: StatusComplete, Cases: cases}}}
}

func verdict(area, name string, v Verdict) Case {
	observed := "ok"
	if v == Pass {
		observed = "EACCES"
	}
	return Case{Area: area, Name: name, Priv: "root", Verdict: v, Expected: "EACCES", Observed: observed}
}

// The shape: a baseline run named base and a patched one named
// patched compare case by case, not as a missing and a new kernel.
func TestCompareOneKernelRunsPairByThemselves(t *testing.T) {
	base := oneKernel("b", "base", verdict("fs", "a", Pass), verdict("fs", "b", Pass))
	cur := oneKernel("p", "patched", verdict("fs", "a", Fail), verdict("fs", "b", Pass))
	paired, names, err := Paired(base, cur, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, names, []string{"base/amd64 = patched/amd64"})
	assert.Equal(t, base.Kernels[0].Name, "base", "the base run itself is left alone")
	d := Compare(paired, cur)
	d.Paired = names
	assert.Equal(t, len(d.Regressions), 1)
	assert.Equal(t, d.Regressions[0].Kernel, "patched/amd64")
	assert.Equal(t, len(d.NewKernels)+len(d.MissingKernels), 0, "%+v", d)
	var b strings.Builder
	assert.NilError(t, d.Write(&b))
	assert.Check(t, is.Contains(b.String(), "paired base/amd64 = patched/amd64\n"))

	// Without pairing, nothing is in common: the caller says so.
	assert.Assert(t, NoCommonKernel(base, cur))
	assert.Assert(t, !NoCommonKernel(paired, cur))
	assert.Assert(t, !NoCommonKernel(base, &Run{}), "an empty run is not a mismatch")
}

func TestPairExplicitly(t *testing.T) {
	base := &Run{Kernels: []KernelRun{{Name: "7.3", Arch: "amd64"}, {Name: "mine", Arch: "amd64"}}}
	cur := &Run{Kernels: []KernelRun{{Name: "7.3", Arch: "amd64"}, {Name: "mine-patched", Arch: "amd64"}}}
	_, names, err := Paired(base, cur, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(names), 0, "two kernels a side do not pair by themselves")

	paired, names, err := Paired(base, cur, []Pair{{Old: "mine", New: "mine-patched/amd64"}})
	assert.NilError(t, err)
	assert.DeepEqual(t, names, []string{"mine/amd64 = mine-patched/amd64"})
	assert.DeepEqual(t, Keys(paired), []string{"7.3/amd64", "mine-patched/amd64"})

	_, _, err = Paired(base, cur, []Pair{{Old: "nosuch", New: "mine-patched"}})
	assert.ErrorContains(t, err, "the base run has no kernel nosuch")
	_, _, err = Paired(base, cur, []Pair{{Old: "mine", New: "nosuch"}})
	assert.ErrorContains(t, err, "the new run has no kernel nosuch (it has: 7.3/amd64, mine-patched/amd64)")

	// One kernel a side, of two architectures: not the same build.
	arm := &Run{Kernels: []KernelRun{{Name: "patched", Arch: "arm64"}}}
	_, names, err = Paired(oneKernel("b", "base"), arm, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(names), 0)
}

func TestParsePair(t *testing.T) {
	p, err := ParsePair(" base = patched ")
	assert.NilError(t, err)
	assert.Equal(t, p, Pair{Old: "base", New: "patched"})
	for _, bad := range []string{"base", "=patched", "base=", ""} {
		_, err := ParsePair(bad)
		assert.ErrorContains(t, err, "want OLD=NEW", bad)
	}
}

// Every way a passing case can stop passing fails a run with a
// baseline, a skip excepted; what did not pass before is no loss.
func TestBaselineLostCases(t *testing.T) {
	base := oneKernel("b", "base",
		verdict("fs", "to_fail", Pass), verdict("fs", "to_warn", Pass), verdict("fs", "to_known", Pass),
		verdict("fs", "to_skip", Pass), verdict("fs", "gone", Pass), verdict("fs", "still", Pass),
		verdict("fs", "was_failing", Fail), verdict("fs", "fixed", Fail))
	cur := oneKernel("p", "patched",
		verdict("fs", "to_fail", Fail), verdict("fs", "to_warn", Warn), verdict("fs", "to_known", Known),
		verdict("fs", "to_skip", Skip), verdict("fs", "still", Pass),
		verdict("fs", "was_failing", Fail), verdict("fs", "fixed", Pass))
	assert.Assert(t, cur.Passed(false) == false, "the fail alone fails it")

	_, err := AgainstBaseline(cur, base, "base/results.json", nil)
	assert.NilError(t, err)
	var lost []string
	for _, c := range cur.Baseline.Lost {
		lost = append(lost, c.Case+" "+string(c.After))
	}
	assert.DeepEqual(t, lost, []string{"fs/to_fail/root fail", "fs/to_warn/root warn", "fs/to_known/root known", "fs/gone/root "})
	assert.Equal(t, cur.Baseline.Lost[3].Detail, "not in this run (kernel run complete)")
	assert.Equal(t, cur.Baseline.Fixes, 1)

	// A warn alone passes a run, unless the baseline passed that case.
	warnOnly := oneKernel("w", "patched", verdict("fs", "a", Warn))
	assert.Assert(t, warnOnly.Passed(false))
	_, err = AgainstBaseline(warnOnly, oneKernel("b", "base", verdict("fs", "a", Pass)), "", nil)
	assert.NilError(t, err)
	assert.Assert(t, !warnOnly.Passed(false))

	same := oneKernel("s", "patched", verdict("fs", "a", Pass))
	_, err = AgainstBaseline(same, oneKernel("b", "base", verdict("fs", "a", Pass)), "", nil)
	assert.NilError(t, err)
	assert.Assert(t, same.Passed(false))
	assert.DeepEqual(t, same.Baseline.Lost, []Change{})
}

// The cases a broken kernel never reached are lost, and say why.
func TestBaselineBrokenKernelLosesTheRest(t *testing.T) {
	base := oneKernel("b", "base", verdict("fs", "a", Pass), verdict("fs", "b", Pass))
	cur := oneKernel("p", "patched", verdict("fs", "a", Pass))
	cur.Kernels[0].Status, cur.Kernels[0].Reason = StatusBroken, "no done record after 1 cases"
	_, err := AgainstBaseline(cur, base, "", nil)
	assert.NilError(t, err)
	assert.Equal(t, len(cur.Baseline.Lost), 1)
	assert.Equal(t, cur.Baseline.Lost[0].Detail, "the kernel run broke before it: no done record after 1 cases")
}

// The lost cases come first in the terminal report, before the matrix.
func TestTerminalListsLostCasesFirst(t *testing.T) {
	base := oneKernel("b", "base", verdict("fs", "a", Pass), verdict("fs", "b", Pass))
	cur := oneKernel("p", "patched", verdict("fs", "a", Fail), verdict("fs", "b", Pass))
	_, err := AgainstBaseline(cur, base, "out/base/results.json", nil)
	assert.NilError(t, err)
	var b strings.Builder
	assert.NilError(t, Terminal(&b, cur, false))
	out := b.String()
	head := "REGRESSED against baseline b (out/base/results.json), paired base/amd64 = patched/amd64: 1 case passed there and does not pass now:\n" +
		"  patched/amd64 fs/a/root: pass -> fail (expected EACCES, observed ok)\n"
	assert.Check(t, is.Contains(out, head))
	assert.Assert(t, strings.Index(out, head) < strings.Index(out, "amd64 (x86_64)"), out)

	ok := oneKernel("p", "patched", verdict("fs", "a", Pass))
	_, err = AgainstBaseline(ok, oneKernel("b", "base", verdict("fs", "a", Fail)), "", nil)
	assert.NilError(t, err)
	b.Reset()
	assert.NilError(t, Terminal(&b, ok, false))
	assert.Check(t, is.Contains(b.String(), "Against baseline b, paired base/amd64 = patched/amd64: every case that passed there passes (1 fix)"))
}

// matrix.md and index.html carry the verdict against the baseline too.
func TestReportsShowTheBaseline(t *testing.T) {
	cur := oneKernel("p", "patched", verdict("fs", "a", Fail))
	_, err := AgainstBaseline(cur, oneKernel("b", "base", verdict("fs", "a", Pass)), "", nil)
	assert.NilError(t, err)
	var md, html strings.Builder
	assert.NilError(t, Markdown(&md, cur))
	assert.Check(t, is.Contains(md.String(), "**Regressed against baseline b: 1 case passed there and does not pass now**\n\n- patched/amd64 fs/a/root: pass -\\> fail"))
	assert.NilError(t, HTML(&html, cur))
	assert.Check(t, is.Contains(html.String(), "Regressed against baseline b: 1 case passed there and does not pass now"))
	assert.Check(t, is.Contains(html.String(), "<li>patched/amd64 fs/a/root: pass -&gt; fail"))
}
