package results

import (
	"fmt"
	"io"
	"strings"
)

// severity orders verdicts from best to worst; an unknown verdict is as
// bad as broken.
func severity(v Verdict) int {
	switch v {
	case Pass:
		return 0
	case Skip:
		return 1
	case Known:
		return 2
	case Warn:
		return 3
	case Fail:
		return 4
	}
	return 5
}

// Change is one difference between two runs, for one case of one kernel,
// or for the kernel run itself when Case is empty.
type Change struct {
	Kernel string `json:"kernel"`         // KernelRun.Key: name and architecture
	Case   string `json:"case,omitempty"` // Case.ID(); empty for a change of the kernel run
	// Before and After are the verdicts ("" where the case is absent); for
	// a kernel run, Pass stands for complete and Broken for broken.
	Before         Verdict `json:"before,omitempty"`
	After          Verdict `json:"after,omitempty"`
	Expected       string  `json:"expected,omitempty"` // in the new run, else the base
	BeforeObserved string  `json:"before_observed,omitempty"`
	AfterObserved  string  `json:"after_observed,omitempty"`
	Detail         string  `json:"detail,omitempty"` // the new detail, or the kernel's reason
}

// String is one line: "6.12/amd64 fs/x/unpriv: pass -> fail (expected EACCES, observed ok)".
func (c Change) String() string {
	if c.Case == "" {
		s := c.Kernel + ": kernel run " + kernelWord(c.Before) + " -> " + kernelWord(c.After)
		if c.Detail != "" {
			s += ": " + c.Detail
		}
		return s
	}
	s := c.Kernel + " " + c.Case + ": "
	switch {
	case c.Before == "":
		s += "new, " + string(c.After)
	case c.After == "":
		s += "removed, was " + string(c.Before)
	case c.Before == c.After:
		s += string(c.After) + ", observed " + orNone(c.BeforeObserved) + " -> " + orNone(c.AfterObserved)
	default:
		s += string(c.Before) + " -> " + string(c.After)
	}
	if c.After != "" && c.Before != c.After && c.After != Pass {
		s += " (expected " + orNone(c.Expected) + ", observed " + orNone(c.AfterObserved) + ")"
	}
	if c.Detail != "" && c.After != Pass {
		s += ": " + c.Detail
	}
	return s
}

func kernelWord(v Verdict) string {
	if v == Pass {
		return "complete"
	}
	return "broken"
}

// Diff is the difference between a base run and a new one.
type Diff struct {
	Base, New string // run IDs
	// Paired are the kernels compared under two names ("base/amd64 =
	// patched/amd64"): Paired.
	Paired []string
	// Regressions: any change to a worse verdict that is not a skip
	// (pass -> warn, known -> fail, warn -> broken, ...), and kernel runs
	// that were complete and are now broken.
	Regressions []Change
	// Fixes: a change from known, warn, fail or broken to a better
	// verdict, and kernel runs that are complete again.
	Fixes []Change
	// NewCases are in the new run only, RemovedCases in the base only
	// (cases a kernel run broke before reaching are not "removed": the
	// kernel's regression covers them).
	NewCases, RemovedCases []Change
	// ChangedObservations have the same verdict but another observed outcome.
	ChangedObservations []Change
	// OtherChanges are the remaining verdict changes (pass -> skip,
	// fail -> broken, skip -> pass, ...).
	OtherChanges []Change
	// NewKernels are in the new run only, MissingKernels in the base only
	// (or, in the new run, interrupted or not run: they are no
	// regressions, but the new run does not show them).
	NewKernels, MissingKernels []string
	// BaseIncomplete and NewIncomplete say a run was interrupted or lacks
	// kernels: its missing results are not the kernels' fault.
	BaseIncomplete, NewIncomplete bool
}

// HasRegressions reports whether anything got worse.
func (d Diff) HasRegressions() bool { return len(d.Regressions) > 0 }

// Missing reports whether the new run lacks kernels or cases the base has.
func (d Diff) Missing() bool { return len(d.MissingKernels)+len(d.RemovedCases) > 0 }

// Gate is compare's verdict as a CI gate: no regression, and nothing of
// the base missing from the new run unless allowMissing.
func (d Diff) Gate(allowMissing bool) bool {
	return !d.HasRegressions() && (allowMissing || !d.Missing())
}

// Empty reports whether the runs have the same results.
func (d Diff) Empty() bool {
	return len(d.Regressions)+len(d.Fixes)+len(d.NewCases)+len(d.RemovedCases)+
		len(d.ChangedObservations)+len(d.OtherChanges)+len(d.NewKernels)+len(d.MissingKernels) == 0
}

// Compare matches kernels by name and architecture (KernelRun.Key) and
// cases by ID and lists what changed from base to cur.
func Compare(base, cur *Run) Diff {
	d := Diff{Base: base.ID, New: cur.ID, BaseIncomplete: base.Incomplete, NewIncomplete: cur.Incomplete}
	baseK := kernelsByName(base)
	curK := kernelsByName(cur)
	for _, name := range curK.order {
		nk := curK.byName[name]
		bk, ok := baseK.byName[name]
		if !ok {
			d.NewKernels = append(d.NewKernels, name)
			continue
		}
		if nk.Status == StatusNotRun || nk.Status == StatusInterrupted || bk.Status == StatusNotRun || bk.Status == StatusInterrupted {
			// An interrupted run says nothing about this kernel.
			if nk.Status == StatusNotRun || nk.Status == StatusInterrupted {
				d.MissingKernels = append(d.MissingKernels, name+" ("+string(nk.Status)+")")
			}
			continue
		}
		switch {
		case !bk.Broken() && nk.Broken():
			d.Regressions = append(d.Regressions, Change{Kernel: name, Before: Pass, After: Broken, Detail: nk.BrokenReason()})
		case bk.Broken() && !nk.Broken():
			d.Fixes = append(d.Fixes, Change{Kernel: name, Before: Broken, After: Pass, Detail: "was: " + bk.BrokenReason()})
		}
		bc := casesByID(bk.Cases)
		nc := casesByID(nk.Cases)
		for _, id := range nc.order {
			n := nc.byID[id]
			ch := Change{Kernel: name, Case: id, After: n.Verdict, Expected: n.Expected, AfterObserved: n.Observed, Detail: n.Detail}
			b, ok := bc.byID[id]
			if !ok {
				d.NewCases = append(d.NewCases, ch)
				continue
			}
			ch.Before, ch.BeforeObserved = b.Verdict, b.Observed
			switch {
			case b.Verdict == n.Verdict:
				if b.Observed != n.Observed {
					d.ChangedObservations = append(d.ChangedObservations, ch)
				}
			case severity(n.Verdict) > severity(b.Verdict) && severity(n.Verdict) >= severity(Known):
				d.Regressions = append(d.Regressions, ch)
			case severity(n.Verdict) < severity(b.Verdict) && severity(b.Verdict) >= severity(Known):
				d.Fixes = append(d.Fixes, ch)
			default:
				d.OtherChanges = append(d.OtherChanges, ch)
			}
		}
		if nk.Broken() {
			continue
		}
		for _, id := range bc.order {
			if _, ok := nc.byID[id]; !ok {
				b := bc.byID[id]
				d.RemovedCases = append(d.RemovedCases, Change{Kernel: name, Case: id, Before: b.Verdict,
					Expected: b.Expected, BeforeObserved: b.Observed})
			}
		}
	}
	for _, name := range baseK.order {
		if _, ok := curK.byName[name]; !ok {
			d.MissingKernels = append(d.MissingKernels, name)
		}
	}
	return d
}

type kernelIndex struct {
	order  []string
	byName map[string]*KernelRun
}

// kernelsByName indexes a run's kernels by KernelRun.Key; a kernel given
// twice (unmerged shards) is merged so that no case is lost.
func kernelsByName(run *Run) kernelIndex {
	idx := kernelIndex{byName: map[string]*KernelRun{}}
	for i := range run.Kernels {
		k := &run.Kernels[i]
		key := k.Key()
		if prev, ok := idx.byName[key]; ok {
			merged := mergeKernel(*prev, *k)
			idx.byName[key] = &merged
			continue
		}
		idx.order = append(idx.order, key)
		idx.byName[key] = k
	}
	return idx
}

type caseIndex struct {
	order []string
	byID  map[string]Case
}

// casesByID indexes cases by ID; of a case reported twice, the worse
// verdict counts.
func casesByID(cases []Case) caseIndex {
	idx := caseIndex{byID: map[string]Case{}}
	for _, c := range cases {
		id := c.ID()
		prev, ok := idx.byID[id]
		if !ok {
			idx.order = append(idx.order, id)
		}
		if !ok || severity(c.Verdict) > severity(prev.Verdict) {
			idx.byID[id] = c
		}
	}
	return idx
}

// Write prints the diff for a person: regressions first.
func (d Diff) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "compare %s (base) -> %s (new): %d regression%s, %d fix%s\n",
		orNone(d.Base), orNone(d.New), len(d.Regressions), plural(len(d.Regressions)), len(d.Fixes), pluralES(len(d.Fixes)))
	for _, p := range d.Paired {
		fmt.Fprintf(&b, "paired %s\n", p)
	}
	if d.BaseIncomplete {
		b.WriteString("the base run is incomplete (interrupted or kernels missing)\n")
	}
	if d.NewIncomplete {
		b.WriteString("the new run is incomplete (interrupted or kernels missing): kernels it did not finish are listed as missing, not as regressions\n")
	}
	if d.Empty() {
		b.WriteString("no differences\n")
	}
	list := func(title string, cs []Change) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s (%d):\n", title, len(cs))
		for _, c := range cs {
			for _, l := range wrap(c.String(), "  ", "      ") {
				b.WriteString(l + "\n")
			}
		}
	}
	names := func(title string, ns []string) {
		if len(ns) > 0 {
			fmt.Fprintf(&b, "\n%s (%d): %s\n", title, len(ns), strings.Join(ns, ", "))
		}
	}
	list("Regressions", d.Regressions)
	list("Fixes", d.Fixes)
	list("Other verdict changes", d.OtherChanges)
	list("Changed observations", d.ChangedObservations)
	grouped("New cases", d.NewCases, &b)
	grouped("Removed cases", d.RemovedCases, &b)
	names("New kernels", d.NewKernels)
	names("Missing kernels", d.MissingKernels)
	_, err := io.WriteString(w, b.String())
	return err
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

// grouped prints added or removed cases once per case ID with the kernels
// and verdicts, since a new case usually appears on every kernel at once.
func grouped(title string, cs []Change, b *strings.Builder) {
	if len(cs) == 0 {
		return
	}
	var order []string
	per := map[string][]string{}
	for _, c := range cs {
		if _, ok := per[c.Case]; !ok {
			order = append(order, c.Case)
		}
		v := c.After
		if v == "" {
			v = c.Before
		}
		per[c.Case] = append(per[c.Case], c.Kernel+" "+string(v))
	}
	fmt.Fprintf(b, "\n%s (%d on %d case%s):\n", title, len(cs), len(order), plural(len(order)))
	for _, id := range order {
		for _, l := range wrap(id+": "+strings.Join(per[id], ", "), "  ", "      ") {
			b.WriteString(l + "\n")
		}
	}
}
