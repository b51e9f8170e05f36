package results

import "fmt"

// Baseline is a run's comparison with the run it was told to keep up
// with (run --baseline): part of its verdict.
type Baseline struct {
	Run    string   `json:"run"`            // the baseline's run ID
	Path   string   `json:"path,omitempty"` // its results.json, as given
	Paired []string `json:"paired,omitempty"`
	// Lost are the cases that passed in the baseline and do not pass in
	// this run (fail, warn, known, broken, or missing): each one fails the
	// run. A pass that became a skip is not lost: the environment, not
	// the kernel, decides a skip.
	Lost []Change `json:"lost"`
	// Fixes counts the cases that did not pass there and pass now.
	Fixes int `json:"fixes"`
}

// LostLine says how many cases were lost: "2 cases passed there and do
// not pass now".
func (b *Baseline) LostLine() string {
	if len(b.Lost) == 1 {
		return "1 case passed there and does not pass now"
	}
	return fmt.Sprintf("%d cases passed there and do not pass now", len(b.Lost))
}

// Lost lists the cases that pass in base and do not pass in cur, kernel
// by kernel in base's order; the kernels must already be paired
// (Paired). A case cur lacks is lost too, whatever the reason: its
// Detail says whether its kernel broke first or is not in the run.
func Lost(base, cur *Run) []Change {
	curK := kernelsByName(cur)
	baseK := kernelsByName(base)
	var out []Change
	for _, name := range baseK.order {
		bk := baseK.byName[name]
		nk, ok := curK.byName[name]
		bc := casesByID(bk.Cases)
		var nc caseIndex
		if ok {
			nc = casesByID(nk.Cases)
		}
		for _, id := range bc.order {
			b := bc.byID[id]
			if b.Verdict != Pass {
				continue
			}
			ch := Change{Kernel: name, Case: id, Before: Pass, Expected: b.Expected, BeforeObserved: b.Observed}
			n, found := nc.byID[id]
			switch {
			case !ok:
				ch.Detail = "the kernel is not in this run"
			case !found && nk.Broken():
				ch.Detail = "the kernel run broke before it: " + nk.BrokenReason()
			case !found:
				ch.Detail = fmt.Sprintf("not in this run (kernel run %s)", nk.Status)
			case n.Verdict == Pass || n.Verdict == Skip:
				continue
			default:
				ch.After, ch.Expected, ch.AfterObserved, ch.Detail = n.Verdict, n.Expected, n.Observed, n.Detail
			}
			out = append(out, ch)
		}
	}
	return out
}

// AgainstBaseline compares run with base (its kernels paired as pairs
// say, or automatically: Paired) and records the comparison in run, where
// it counts in Passed. It returns the full difference for the report.
func AgainstBaseline(run, base *Run, path string, pairs []Pair) (Diff, error) {
	paired, names, err := Paired(base, run, pairs)
	if err != nil {
		return Diff{}, err
	}
	d := Compare(paired, run)
	d.Paired = names
	run.Baseline = &Baseline{Run: base.ID, Path: path, Paired: names, Lost: Lost(paired, run), Fixes: len(d.Fixes)}
	if run.Baseline.Lost == nil {
		run.Baseline.Lost = []Change{}
	}
	return d, nil
}
