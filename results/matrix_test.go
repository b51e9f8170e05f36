package results

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestCellVerdict(t *testing.T) {
	c := func(v Verdict) Case {
		return Case{Area: "fs", Name: "c" + string(v), Priv: "root", Verdict: v, Expected: "EACCES", Observed: "ok"}
	}
	other := Case{Area: "tcp", Name: "elsewhere", Priv: "root", Verdict: Fail}
	for _, tc := range []struct {
		name    string
		status  Status
		cases   []Case
		want    Verdict
		label   string
		explain string
	}{
		{"all pass", StatusComplete, []Case{c(Pass), c(Pass)}, Pass, "ok 2", "2 pass"},
		{"pass and skip", StatusComplete, []Case{c(Pass), {Area: "fs", Verdict: Skip, Detail: "no IPv6"}}, Pass, "ok 1", "1 pass, 1 skip (no IPv6)"},
		{"a fail wins over passes", StatusComplete, []Case{c(Pass), c(Fail), c(Skip)}, Fail, "FAIL 1",
			"1 fail, 1 pass, 1 skip (no reason given): fs/cfail/root expected EACCES observed ok"},
		{"a broken case wins over a fail", StatusComplete, []Case{c(Fail), {Area: "fs", Name: "t", Priv: "unpriv", Verdict: Broken, Detail: "timeout after 10s"}}, Broken, "BROKEN",
			"1 broken, 1 fail: fs/cfail/root expected EACCES observed ok; fs/t/unpriv broken: timeout after 10s"},
		{"an unknown verdict is broken", StatusComplete, []Case{c(Pass), c("weird")}, Broken, "BROKEN",
			"1 broken, 1 pass: fs/cweird/root expected EACCES observed ok"},
		{"skips only", StatusComplete, []Case{{Area: "fs", Verdict: Skip, Detail: "not root"}, {Area: "fs", Verdict: Skip, Detail: "not root"}}, Skip, "skip 2", "2 skip (not root)"},
		{"several skip reasons", StatusComplete, []Case{{Area: "fs", Verdict: Skip, Detail: "a"}, {Area: "fs", Verdict: Skip, Detail: "b"}, {Area: "fs", Verdict: Skip, Detail: "a"}}, Skip, "skip 3", "3 skip (a ×2; b)"},
		{"empty cell", StatusComplete, nil, Skip, "none", "no cases"},
		{"broken kernel with passes", "broken", []Case{c(Pass)}, Broken, "BROKEN", "broken: no done record after 37 cases; received here: 1 pass"},
		{"broken kernel, nothing here", "broken", nil, Broken, "BROKEN", "broken: no done record after 37 cases; no cases of this area received"},
		{"no status is broken", "", []Case{c(Pass)}, Broken, "BROKEN", "broken: no status recorded; received here: 1 pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &KernelRun{Name: "6.12", Status: tc.status, Cases: append(append([]Case{}, tc.cases...), other)}
			if tc.status == "broken" {
				k.Reason = "no done record after 37 cases"
			}
			cell := NewCell(k, "fs")
			assert.Equal(t, cell.Verdict, tc.want)
			assert.Equal(t, cell.Label(), tc.label)
			assert.Equal(t, cell.Explain, tc.explain)
			assert.Equal(t, cell.Counts.Total(), len(tc.cases))
		})
	}
}

func TestExplainCapsListedCases(t *testing.T) {
	k := &KernelRun{Name: "k", Status: StatusComplete}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		k.Cases = append(k.Cases, Case{Area: "fs", Name: n, Priv: "root", Verdict: Fail, Expected: "EACCES", Observed: "ok"})
	}
	assert.Equal(t, NewCell(k, "fs").Explain, "5 fail: fs/a/root expected EACCES observed ok; fs/b/root expected EACCES observed ok; "+
		"fs/c/root expected EACCES observed ok; and 2 more")
}

func TestAreasOrder(t *testing.T) {
	run := &Run{Kernels: []KernelRun{
		{Cases: []Case{{Area: "zeta"}, {Area: "downgrade"}, {Area: "fs"}}},
		{Cases: []Case{{Area: "alpha"}, {Area: "base"}, {Area: "tcp"}}},
	}}
	assert.DeepEqual(t, Areas(run), []string{"zeta", "downgrade", "fs", "alpha", "base", "tcp"}) // the order the suites sent them
}

func TestMatrixFixture(t *testing.T) {
	m := NewMatrix(fixture())
	assert.DeepEqual(t, m.Areas, []string{"base", "fs", "tcp"})
	assert.Equal(t, len(m.Cells), 3)
	verdicts := func(a int) []Verdict {
		var out []Verdict
		for _, c := range m.Cells[a] {
			out = append(out, c.Verdict)
		}
		return out
	}
	assert.DeepEqual(t, verdicts(0), []Verdict{Pass, Pass, Broken})
	assert.DeepEqual(t, verdicts(1), []Verdict{Pass, Fail, Broken})
	assert.DeepEqual(t, verdicts(2), []Verdict{Skip, Pass, Broken})
	assert.Equal(t, m.Totals, Counts{Pass: 8, Fail: 1, Skip: 1})
	assert.Equal(t, m.BrokenKernels, 1)
	assert.Equal(t, m.TotalsLine(), "8 passed, 1 failed, 1 skipped, 0 broken (3 kernels, 1 broken)")
	assert.Check(t, is.Equal(m.Cells[2][2].Explain, "broken: no done record after 2 cases: crash, hang or truncated output; no cases of this area received"))
}

func TestABILabel(t *testing.T) {
	assert.Equal(t, ABILabel(Env{LandlockStatus: landlock.Enabled, ABI: 7}), "ABI 7")
	assert.Equal(t, ABILabel(Env{LandlockStatus: landlock.Disabled}), "LL off")
	assert.Equal(t, ABILabel(Env{LandlockStatus: landlock.Absent}), "no LL")
	assert.Equal(t, ABILabel(Env{}), "ABI ?")
}

// warn and known are never folded into ok: the label counts them, the
// cell takes the worse verdict, and the explanation gives the reason.
func TestCellWithDeviations(t *testing.T) {
	k := &KernelRun{Name: "6.18", Status: StatusComplete}
	for i := 0; i < 70; i++ {
		k.Cases = append(k.Cases, Case{Area: "tcp", Name: fmt.Sprint(i), Priv: "root", Verdict: Pass})
	}
	k.Cases = append(k.Cases,
		Case{Area: "tcp", Name: "tfo", Priv: "root", Verdict: Warn, Expected: "EACCES", Observed: "as unsandboxed", Detail: "the kernel lacks a fix"},
		Case{Area: "tcp", Name: "tfo", Priv: "unpriv", Verdict: Warn, Expected: "EACCES", Observed: "as unsandboxed"},
		Case{Area: "tcp", Name: "mptcp", Priv: "root", Verdict: Known, Expected: "fixed", Observed: "unfixed", Detail: "erratum 1"})
	c := NewCell(k, "tcp")
	assert.Equal(t, c.Label(), "ok 70 · 2 warn · 1 known")
	assert.Equal(t, c.Verdict, Warn)
	assert.Assert(t, strings.Contains(c.Explain, "tcp/tfo/root expected EACCES observed as unsandboxed (warn: the kernel lacks a fix)"), c.Explain)
	known := NewCell(&KernelRun{Name: "6.1", Status: StatusComplete, Cases: []Case{{Area: "errata", Verdict: Known}, {Area: "errata", Verdict: Pass}}}, "errata")
	assert.Equal(t, known.Label(), "ok 1 · 1 known")
	assert.Equal(t, known.Verdict, Known)
}
