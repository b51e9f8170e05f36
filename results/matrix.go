package results

import (
	"fmt"
	"slices"
	"strings"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
)

// Retried reports whether the kernel needed more than one boot (of one of
// its passes, when they booted apart), and why the first one failed.
func (k *KernelRun) Retried() (bool, string) {
	boots := map[string]int{}
	first := -1
	for _, a := range k.Attempts {
		if boots[a.Pass]++; boots[a.Pass] == 2 && first < 0 {
			first = slices.IndexFunc(k.Attempts, func(b Attempt) bool { return b.Pass == a.Pass })
		}
	}
	if first < 0 {
		return false, ""
	}
	a := k.Attempts[first]
	why := string(a.Status)
	if a.Pass != "" {
		why = a.Pass + " pass: " + why
	}
	if a.Reason != "" {
		why += ": " + a.Reason
	}
	if len(a.Cases) > 0 {
		why += fmt.Sprintf(" (%d cases received, kept in results.json)", len(a.Cases))
	}
	return true, why
}

// StatusLabel is how reports name a kernel run that did not complete:
// BROKEN, INTERRUPTED or NOT RUN.
func (k *KernelRun) StatusLabel() string {
	switch k.Status {
	case StatusInterrupted, StatusNotRun:
		return strings.ToUpper(string(k.Status))
	}
	return "BROKEN"
}

// Broken reports whether the kernel run did not complete.
func (k *KernelRun) Broken() bool { return k.Status != StatusComplete }

// BrokenReason says why the kernel run is broken, never empty for a
// broken run.
func (k *KernelRun) BrokenReason() string {
	switch {
	case !k.Broken():
		return ""
	case k.Reason != "":
		return k.Reason
	case k.Status == "":
		return "no status recorded"
	}
	return "status " + string(k.Status)
}

// Areas returns the areas present in the run's cases in the order the
// suites sent them (first appearance across the kernels): the agent
// decides the order, not this package.
func Areas(run *Run) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range run.Kernels {
		for _, c := range k.Cases {
			if !seen[c.Row()] {
				seen[c.Row()] = true
				out = append(out, c.Row())
			}
		}
	}
	return out
}

// Counts counts cases per verdict.
type Counts struct {
	Pass, Fail, Skip, Broken, Known, Warn int
}

// Add counts one verdict; an unknown verdict counts as broken, since it
// cannot be trusted as a pass.
func (c *Counts) Add(v Verdict) {
	switch v {
	case Pass:
		c.Pass++
	case Fail:
		c.Fail++
	case Skip:
		c.Skip++
	case Known:
		c.Known++
	case Warn:
		c.Warn++
	default:
		c.Broken++
	}
}

// Total is the number of cases counted.
func (c Counts) Total() int { return c.Pass + c.Fail + c.Skip + c.Broken + c.Known + c.Warn }

// String is the totals line: "N passed, N failed, N skipped, N broken",
// with ", N warn, N known" when there are any.
func (c Counts) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped, %d broken", c.Pass, c.Fail, c.Skip, c.Broken)
	if c.Warn > 0 || c.Known > 0 {
		s += fmt.Sprintf(", %d warn, %d known", c.Warn, c.Known)
	}
	return s
}

// summary lists the non-zero counts, worst first: "2 fail, 39 pass".
func (c Counts) summary() string {
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{c.Broken, "broken"}, {c.Fail, "fail"}, {c.Warn, "warn"}, {c.Known, "known"}, {c.Pass, "pass"}, {c.Skip, "skip"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	return strings.Join(parts, ", ")
}

// Cell is one kernel × area of the matrix.
type Cell struct {
	Kernel       string // KernelRun.Key
	Area         string
	Verdict      Verdict
	Counts       Counts
	Cases        []Case // in stream order
	KernelBroken bool
	// KernelStatus is the kernel run's status: an interrupted or unrun
	// kernel is labelled so, not BROKEN.
	KernelStatus Status
	// Explain says why the cell has its verdict, always non-empty.
	Explain string
}

// Empty reports whether the cell has no cases.
func (c Cell) Empty() bool { return c.Counts.Total() == 0 }

// Label is the short matrix text: "ok 41", "FAIL 2", "BROKEN", "skip 3",
// "none" for a cell without cases; warn and known cases are never folded
// into ok: "ok 70 · 2 warn · 1 known".
func (c Cell) Label() string {
	switch {
	case c.KernelStatus == StatusInterrupted || c.KernelStatus == StatusNotRun:
		return strings.ToUpper(string(c.KernelStatus))
	case c.Verdict == Broken:
		return "BROKEN"
	case c.Empty():
		return "none"
	case c.Verdict == Fail:
		return fmt.Sprintf("FAIL %d", c.Counts.Fail)
	}
	s := fmt.Sprintf("skip %d", c.Counts.Skip)
	if c.Counts.Pass > 0 {
		s = fmt.Sprintf("ok %d", c.Counts.Pass)
	}
	if c.Counts.Warn > 0 {
		s += fmt.Sprintf(" · %d warn", c.Counts.Warn)
	}
	if c.Counts.Known > 0 {
		s += fmt.Sprintf(" · %d known", c.Counts.Known)
	}
	return s
}

// Problems returns the cases of the cell that did not pass or skip:
// failed, broken, warn and known.
func (c Cell) Problems() []Case {
	var out []Case
	for _, cs := range c.Cases {
		if cs.Verdict != Pass && cs.Verdict != Skip {
			out = append(out, cs)
		}
	}
	return out
}

// Summary counts the cell's cases per verdict, with the skip reasons:
// "41 pass, 2 skip (no IPv6)". Unlike Explain it names no case, for
// reports that list the failing cases underneath.
func (c Cell) Summary() string {
	if c.Empty() {
		return "no cases"
	}
	s := c.Counts.summary()
	if c.Counts.Skip > 0 {
		s += " (" + skipReasons(c.Cases) + ")"
	}
	return s
}

// NewCell computes the cell of one kernel run and area: broken if the
// kernel run is broken or any case is, else fail if any case fails, else
// warn, else known if any case is, else pass if any passes, else skip
// (which includes a cell with no cases).
func NewCell(k *KernelRun, area string) Cell {
	c := Cell{Kernel: k.Key(), Area: area, KernelBroken: k.Broken(), KernelStatus: k.Status}
	for _, cs := range k.Cases {
		if cs.Row() == area {
			c.Cases = append(c.Cases, cs)
			c.Counts.Add(cs.Verdict)
		}
	}
	switch {
	case c.KernelBroken || c.Counts.Broken > 0:
		c.Verdict = Broken
	case c.Counts.Fail > 0:
		c.Verdict = Fail
	case c.Counts.Warn > 0:
		c.Verdict = Warn
	case c.Counts.Known > 0:
		c.Verdict = Known
	case c.Counts.Pass > 0:
		c.Verdict = Pass
	default:
		c.Verdict = Skip
	}
	c.Explain = explain(c, k)
	return c
}

// maxListed caps the cases named in one explanation; the reports list
// every case separately.
const maxListed = 3

func explain(c Cell, k *KernelRun) string {
	if c.KernelBroken {
		s := "broken: " + k.BrokenReason()
		if c.Empty() {
			return s + "; no cases of this area received"
		}
		return s + "; received here: " + c.Counts.summary()
	}
	if c.Empty() {
		return "no cases"
	}
	s := c.Summary()
	probs := c.Problems()
	if len(probs) == 0 {
		return s
	}
	var items []string
	for i, p := range probs {
		if i == maxListed {
			items = append(items, fmt.Sprintf("and %d more", len(probs)-maxListed))
			break
		}
		items = append(items, p.ID()+" "+outcome(p))
	}
	return s + ": " + strings.Join(items, "; ")
}

// outcome describes what went wrong in a failed or broken case, and why
// a warn or known case deviates.
func outcome(c Case) string {
	if c.Verdict == Broken && c.Detail != "" {
		return "broken: " + c.Detail
	}
	s := "expected " + orNone(c.Expected) + " observed " + orNone(c.Observed)
	if (c.Verdict == Warn || c.Verdict == Known) && c.Detail != "" {
		s += " (" + string(c.Verdict) + ": " + c.Detail + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}

// skipReasons lists the distinct skip reasons in order of first
// appearance, with a count when a reason repeats among several.
func skipReasons(cases []Case) string {
	var order []string
	n := map[string]int{}
	for _, c := range cases {
		if c.Verdict != Skip {
			continue
		}
		r := c.Detail
		if r == "" {
			r = "no reason given"
		}
		if n[r] == 0 {
			order = append(order, r)
		}
		n[r]++
	}
	var parts []string
	for i, r := range order {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more reasons", len(order)-maxListed))
			break
		}
		if len(order) > 1 && n[r] > 1 {
			r = fmt.Sprintf("%s ×%d", r, n[r])
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, "; ")
}

// Matrix is the kernel × area table of a run.
type Matrix struct {
	Run *Run
	// Kernels are the columns, grouped by architecture (Groups), in run
	// order within one.
	Kernels []*KernelRun
	Groups  []Group
	Areas   []string // rows
	Cells   [][]Cell // Cells[area][kernel]
	Totals  Counts   // every case of every kernel
	// BrokenKernels counts the kernel runs that did not complete.
	BrokenKernels int
	// RetriedKernels counts the kernel runs that completed at a second boot.
	RetriedKernels int
}

// Group is the columns of one architecture: Kernels[Start:End].
type Group struct {
	Arch       arch.Arch
	Start, End int
}

// NewMatrix builds the matrix of a run.
func NewMatrix(run *Run) *Matrix {
	m := &Matrix{Run: run, Areas: Areas(run)}
	for i := range run.Kernels {
		m.Kernels = append(m.Kernels, &run.Kernels[i])
	}
	slices.SortStableFunc(m.Kernels, func(a, b *KernelRun) int { return archRank(a.Architecture(), b.Architecture()) })
	for i, k := range m.Kernels {
		if n := len(m.Groups); n == 0 || m.Groups[n-1].Arch != k.Architecture() {
			m.Groups = append(m.Groups, Group{Arch: k.Architecture(), Start: i})
		}
		m.Groups[len(m.Groups)-1].End = i + 1
	}
	for _, k := range m.Kernels {
		for _, c := range k.Cases {
			m.Totals.Add(c.Verdict)
		}
		if k.Broken() {
			m.BrokenKernels++
		}
		if r, _ := k.Retried(); r && !k.Broken() {
			m.RetriedKernels++
		}
	}
	for _, a := range m.Areas {
		row := make([]Cell, len(m.Kernels))
		for i, k := range m.Kernels {
			row[i] = NewCell(k, a)
		}
		m.Cells = append(m.Cells, row)
	}
	return m
}

// KernelCells returns the cells of one kernel column, in area order.
func (m *Matrix) KernelCells(k int) []Cell {
	out := make([]Cell, len(m.Areas))
	for a := range m.Areas {
		out[a] = m.Cells[a][k]
	}
	return out
}

// TotalsLine is the totals line with the kernel count appended.
func (m *Matrix) TotalsLine() string {
	s := m.Totals.String()
	if n := len(m.Kernels); n > 0 {
		s += fmt.Sprintf(" (%d kernel%s", n, plural(n))
		if m.BrokenKernels > 0 {
			s += fmt.Sprintf(", %d broken", m.BrokenKernels)
		}
		if m.RetriedKernels > 0 {
			s += fmt.Sprintf(", %d retried", m.RetriedKernels)
		}
		s += ")"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// EmptyArea is an area without cases on some complete kernels.
type EmptyArea struct {
	Area    string
	Kernels []string // KernelRun.Key
}

// EmptyAreas lists, per area, the complete kernels that have no case in
// it: reports show them once per area rather than once per cell.
func (m *Matrix) EmptyAreas() []EmptyArea {
	var out []EmptyArea
	for a, area := range m.Areas {
		e := EmptyArea{Area: area}
		for i, k := range m.Kernels {
			if c := m.Cells[a][i]; c.Empty() && !c.KernelBroken {
				e.Kernels = append(e.Kernels, k.Key())
			}
		}
		if len(e.Kernels) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// ABILabel names a kernel's Landlock state briefly: "ABI 7", "LL off"
// (built, not in the lsm= list), "no LL" (not built) or "ABI ?".
func ABILabel(e Env) string {
	switch e.LandlockStatus {
	case landlock.Enabled:
		return fmt.Sprintf("ABI %d", e.ABI)
	case landlock.Disabled:
		return "LL off"
	case landlock.Absent:
		return "no LL"
	}
	return "ABI ?"
}

// LandlockState describes a kernel's Landlock state in words.
func LandlockState(e Env) string {
	switch e.LandlockStatus {
	case landlock.Enabled:
		return fmt.Sprintf("enabled, ABI %d", e.ABI)
	case landlock.Disabled:
		return "built but disabled (EOPNOTSUPP: not in the lsm= list)"
	case landlock.Absent:
		return "not built (ENOSYS)"
	case "":
		return "unknown (no header received)"
	}
	return string(e.LandlockStatus)
}

// GroupTitle names a group of columns: "amd64 (x86_64): 9 kernels".
func GroupTitle(g Group) string {
	s := string(g.Arch)
	if u := g.Arch.Uname(); u != "" {
		s += " (" + u + ")"
	}
	n := g.End - g.Start
	return fmt.Sprintf("%s: %d kernel%s", s, n, plural(n))
}
