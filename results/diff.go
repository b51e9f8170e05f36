package results

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/llconform/llconform/landlock"
)

// KernelDiff is what two kernels observed differently, case by case: the
// kernels of two uploads of a series, two flavours, or two series that
// claim the same ABI. A difference is explained when the two kernels'
// expectations account for it (their ABIs or errata differ so that the
// cases expect different outcomes, or a documented erratum), and
// unexplained otherwise.
type KernelDiff struct {
	Old DiffSide `json:"old"`
	New DiffSide `json:"new"`
	// Same counts the cases both kernels ran and observed alike.
	Same        int        `json:"same"`
	Differences []CaseDiff `json:"differences"` // by area, then case
	Explained   int        `json:"explained"`
	Unexplained int        `json:"unexplained"`
}

// DiffSide is one of the two kernels compared.
type DiffSide struct {
	Run     string `json:"run,omitempty"` // the run's ID
	Kernel  string `json:"kernel"`        // KernelRun.Key
	Flavour string `json:"flavour,omitempty"`
	Release string `json:"release,omitempty"`
	Package string `json:"package,omitempty"`
	Version string `json:"version,omitempty"`
	State   string `json:"landlock"` // ABILabel: "ABI 7", "LL off", ...
	ABI     int    `json:"abi"`
	Errata  string `json:"errata,omitempty"` // the mask, when the kernel has the interface
	Status  Status `json:"status"`
}

// CaseDiff is one case whose observation differs between the kernels, or
// that only one of them ran.
type CaseDiff struct {
	ID        string       `json:"id"`
	Area      string       `json:"area"` // Case.Row: the report's row
	Old       *Observation `json:"old,omitempty"`
	New       *Observation `json:"new,omitempty"`
	Explained bool         `json:"explained"`
	Why       string       `json:"why"`
}

// Observation is what one kernel did in a case.
type Observation struct {
	Verdict  Verdict `json:"verdict"`
	Expected string  `json:"expected"`
	Observed string  `json:"observed"`
	Detail   string  `json:"detail,omitempty"`
}

func observation(c Case) *Observation {
	return &Observation{Verdict: c.Verdict, Expected: c.Expected, Observed: c.Observed, Detail: c.Detail}
}

func diffSide(run *Run, k *KernelRun) DiffSide {
	s := DiffSide{Kernel: k.Key(), Flavour: k.Flavour, Release: k.Env.Release, Package: k.Env.Package,
		Version: k.Env.PackageVersion, State: ABILabel(k.Env), ABI: k.Env.ABI, Status: k.Status}
	if run != nil {
		s.Run = run.ID
	}
	if k.Env.ErrataKnown {
		s.Errata = fmt.Sprintf("%#x", k.Env.Errata)
	}
	return s
}

// DiffKernels compares the observations of two kernels (of one run or of
// two; a run may be nil). A case differs when its observed outcome or
// its verdict differs, or, for a skipped case, its reason: other details
// name the kernel's own ABI and would make every case differ.
func DiffKernels(oldRun *Run, oldK *KernelRun, newRun *Run, newK *KernelRun) KernelDiff {
	d := KernelDiff{Old: diffSide(oldRun, oldK), New: diffSide(newRun, newK)}
	olds, news := diffIndex(oldK.Cases), diffIndex(newK.Cases)
	sameState := oldK.Env.LandlockStatus == newK.Env.LandlockStatus && oldK.Env.ABI == newK.Env.ABI
	ids := slices.Clone(olds.order)
	for _, id := range news.order {
		if _, ok := olds.byID[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		o, inOld := olds.byID[id]
		n, inNew := news.byID[id]
		var cd CaseDiff
		switch {
		case inOld && inNew:
			if !observedDiffer(o, n) {
				d.Same++
				continue
			}
			cd = CaseDiff{ID: id, Area: o.Row(), Old: observation(o), New: observation(n)}
			cd.Explained, cd.Why = explainDiff(o, n, d)
		case inOld:
			cd = CaseDiff{ID: id, Area: o.Row(), Old: observation(o)}
			cd.Explained, cd.Why = onlyOne(d.New, d.Old, sameState)
		default:
			cd = CaseDiff{ID: id, Area: n.Row(), New: observation(n)}
			cd.Explained, cd.Why = onlyOne(d.Old, d.New, sameState)
		}
		if cd.Explained {
			d.Explained++
		} else {
			d.Unexplained++
		}
		d.Differences = append(d.Differences, cd)
	}
	areas := areaOrder(oldK, newK)
	slices.SortStableFunc(d.Differences, func(a, b CaseDiff) int {
		return cmp.Or(cmp.Compare(areas[a.Area], areas[b.Area]), strings.Compare(a.ID, b.ID))
	})
	return d
}

// areaOrder ranks the areas as the reports do: the cases' own order.
func areaOrder(ks ...*KernelRun) map[string]int {
	rank := map[string]int{}
	for _, k := range ks {
		for _, c := range k.Cases {
			if _, ok := rank[c.Row()]; !ok {
				rank[c.Row()] = len(rank)
			}
		}
	}
	return rank
}

type diffCases struct {
	order []string
	byID  map[string]Case
}

// diffIndex indexes cases by ID; a case reported twice (merged shards)
// counts with its first report.
func diffIndex(cases []Case) diffCases {
	idx := diffCases{byID: map[string]Case{}}
	for _, c := range cases {
		id := c.ID()
		if _, ok := idx.byID[id]; !ok {
			idx.order = append(idx.order, id)
			idx.byID[id] = c
		}
	}
	return idx
}

func observedDiffer(a, b Case) bool {
	if a.Observed != b.Observed || a.Verdict != b.Verdict {
		return true
	}
	return (a.Verdict == Skip || b.Verdict == Skip) && a.Detail != b.Detail
}

// asExpected: the kernel did what its expectation says (pass), or what
// a documented erratum its mask admits to says (known).
func asExpected(v Verdict) bool { return v == Pass || v == Known }

// explainDiff says whether the kernels' expectations account for a
// difference: both behaved as expected (or as a documented erratum), and
// what they expected differs, or one of them lacks an erratum fix its
// errata mask admits to.
func explainDiff(o, n Case, d KernelDiff) (bool, string) {
	if !asExpected(o.Verdict) || !asExpected(n.Verdict) {
		var why []string
		for _, x := range []struct {
			side string
			c    Case
		}{{d.Old.Kernel, o}, {d.New.Kernel, n}} {
			if !asExpected(x.c.Verdict) {
				w := fmt.Sprintf("%s: %s", x.side, x.c.Verdict)
				if x.c.Detail != "" {
					w += " (" + x.c.Detail + ")"
				}
				why = append(why, w)
			}
		}
		return false, strings.Join(why, "; ")
	}
	if o.Verdict == Known || n.Verdict == Known {
		k, side := o, d.Old.Kernel
		if n.Verdict == Known {
			k, side = n, d.New.Kernel
		}
		return true, fmt.Sprintf("erratum: %s: %s", side, k.Detail)
	}
	if o.Expected != n.Expected {
		why := fmt.Sprintf("expected %s on %s, %s on %s", orNone(o.Expected), d.Old.State, orNone(n.Expected), d.New.State)
		if d.Old.State == d.New.State {
			why = fmt.Sprintf("expected %s on %s (errata %s), %s on %s (errata %s)", orNone(o.Expected), d.Old.Kernel, orNone(d.Old.Errata), orNone(n.Expected), d.New.Kernel, orNone(d.New.Errata))
		}
		return true, why
	}
	return false, "both expected " + orNone(o.Expected)
}

// onlyOne explains a case that only one kernel ran: a kernel of another
// ABI runs other cases (the library's ceilings, the features it has); of
// the same ABI, the case should have run on both.
func onlyOne(lacks, has DiffSide, sameState bool) (bool, string) {
	if !sameState {
		return true, fmt.Sprintf("only on %s (%s); not a case of %s (%s)", has.Kernel, has.State, lacks.Kernel, lacks.State)
	}
	why := fmt.Sprintf("only on %s: %s, of the same Landlock state, did not report it", has.Kernel, lacks.Kernel)
	if lacks.Status != StatusComplete {
		why += " (its run is " + string(lacks.Status) + ")"
	}
	return false, why
}

// Empty reports whether the kernels observed everything alike.
func (d KernelDiff) Empty() bool { return len(d.Differences) == 0 }

// Title is "6.12/amd64 (ABI 6) vs 6.18/amd64 (ABI 7)".
func (d KernelDiff) Title() string {
	return d.Old.Kernel + " (" + d.Old.State + ") vs " + d.New.Kernel + " (" + d.New.State + ")"
}

func (s DiffSide) title() string {
	t := s.Kernel + " (" + s.State
	if s.Package != "" {
		t += ", " + s.Package + " " + s.Version
	}
	if s.Run != "" {
		t += ", run " + s.Run
	}
	return t + ")"
}

// Summary is the counts line.
func (d KernelDiff) Summary() string {
	if d.Empty() {
		return fmt.Sprintf("no observation differs (%d case%s alike)", d.Same, plural(d.Same))
	}
	verb := "differ"
	if len(d.Differences) == 1 {
		verb = "differs"
	}
	return fmt.Sprintf("%d case%s %s: %d unexplained, %d explained by the ABI or errata; %d alike",
		len(d.Differences), plural(len(d.Differences)), verb, d.Unexplained, d.Explained, d.Same)
}

// byArea groups the differences by area, in order.
func (d KernelDiff) byArea() [][]CaseDiff {
	var out [][]CaseDiff
	for i, c := range d.Differences {
		if i == 0 || c.Area != d.Differences[i-1].Area {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], c)
	}
	return out
}

func (o *Observation) short() string {
	if o == nil {
		return "—"
	}
	if o.Verdict == Skip {
		return "skip (" + orNone(o.Detail) + ")"
	}
	return string(o.Verdict) + " " + orNone(o.Observed)
}

// WriteText prints the differences for a terminal, grouped by area: the
// unexplained ones marked with "!".
func (d KernelDiff) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "diff %s\n  old: %s\n  new: %s\n%s\n", d.Title(), d.Old.title(), d.New.title(), d.Summary())
	for _, group := range d.byArea() {
		ex := 0
		for _, c := range group {
			if c.Explained {
				ex++
			}
		}
		fmt.Fprintf(&b, "\n%s: %d (%d unexplained)\n", group[0].Area, len(group), len(group)-ex)
		for _, c := range group {
			mark := "!"
			if c.Explained {
				mark = " "
			}
			fmt.Fprintf(&b, "%s %s: %s → %s\n    %s: %s\n", mark, c.ID, c.Old.short(), c.New.short(), explainedWord(c.Explained), c.Why)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func explainedWord(ok bool) string {
	if ok {
		return "explained"
	}
	return "UNEXPLAINED"
}

// WriteMarkdown prints the differences as Markdown: a table per area.
func (d KernelDiff) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## llconform diff\n\n| | kernel | Landlock | package | errata |\n|---|---|---|---|---|\n")
	for _, s := range []struct {
		n string
		s DiffSide
	}{{"old", d.Old}, {"new", d.New}} {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.n, mdText(s.s.Kernel), mdText(s.s.State), mdText(strings.TrimSpace(s.s.Package+" "+s.s.Version)), mdText(s.s.Errata))
	}
	fmt.Fprintf(&b, "\n**%s**\n", mdText(d.Summary()))
	for _, group := range d.byArea() {
		fmt.Fprintf(&b, "\n### %s\n\n| case | %s | %s | |\n|---|---|---|---|\n", mdText(group[0].Area), mdText(d.Old.Kernel), mdText(d.New.Kernel))
		for _, c := range group {
			word := "explained"
			if !c.Explained {
				word = "**unexplained**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s: %s |\n", mdCode(c.ID), mdText(c.Old.short()), mdText(c.New.short()), word, mdText(c.Why))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FindKernel finds a kernel of a run by its key (7.3/arm64) or, when
// the name is unique in the run, by its name (7.3).
func FindKernel(run *Run, name string) (*KernelRun, error) {
	var hits []*KernelRun
	var keys []string
	for i := range run.Kernels {
		k := &run.Kernels[i]
		keys = append(keys, k.Key())
		if k.Key() == name {
			return k, nil
		}
		if k.Name == name {
			hits = append(hits, k)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return nil, fmt.Errorf("no kernel %q in run %s (have: %s)", name, run.ID, strings.Join(keys, ", "))
	}
	return nil, fmt.Errorf("kernel %q is in run %s on several architectures: name one as NAME/ARCH (have: %s)", name, run.ID, strings.Join(keys, ", "))
}

// SameABIPairs pairs the kernels of a run that report the same Landlock
// state and ABI on one architecture: each with the first of its kind, in
// column order (the HTML report's differences view).
func SameABIPairs(run *Run) [][2]*KernelRun {
	first := map[string]*KernelRun{}
	var out [][2]*KernelRun
	for i := range run.Kernels {
		k := &run.Kernels[i]
		if k.Env.LandlockStatus != landlock.Enabled || k.Status != StatusComplete {
			continue
		}
		key := fmt.Sprintf("%s/%d", k.Architecture(), k.Env.ABI)
		if f, ok := first[key]; ok {
			out = append(out, [2]*KernelRun{f, k})
			continue
		}
		first[key] = k
	}
	return out
}
