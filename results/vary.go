package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Variation is a case whose verdict was not the same in every run of a
// soak, with what each run saw.
type Variation struct {
	Kernel, Case string
	Seen         []string // per run: "pass", or "fail (expected EACCES, observed EADDRINUSE)"; "absent"
}

// Vary lists the cases (and kernel runs) whose verdict differed between
// runs: the flaky ones. A kernel broken in one run and complete in
// another is a variation too.
func Vary(runs []*Run) []Variation {
	type key struct{ kernel, id string }
	seen := map[key][]string{}
	verdicts := map[key]map[Verdict]bool{}
	var order []key
	note := func(k key, i int, v Verdict, s string) {
		if _, ok := seen[k]; !ok {
			seen[k] = make([]string, len(runs))
			for j := range seen[k] {
				seen[k][j] = "absent"
			}
			verdicts[k] = map[Verdict]bool{}
			order = append(order, k)
		}
		seen[k][i] = s
		verdicts[k][v] = true
	}
	for i, r := range runs {
		for _, kr := range r.Kernels {
			st := Pass
			if kr.Status != StatusComplete {
				st = Broken
			}
			note(key{kr.Key(), "(kernel run)"}, i, st, string(kr.Status)+" "+kr.Reason)
			for _, c := range kr.Cases {
				s := string(c.Verdict)
				if c.Verdict != Pass && c.Verdict != Skip {
					s += fmt.Sprintf(" (expected %s, observed %s)", orNone(c.Expected), orNone(c.Observed))
				}
				note(key{kr.Key(), c.ID()}, i, c.Verdict, s)
			}
		}
	}
	var out []Variation
	for _, k := range order {
		absent := false
		for _, s := range seen[k] {
			absent = absent || s == "absent"
		}
		if len(verdicts[k]) > 1 || absent {
			out = append(out, Variation{Kernel: k.kernel, Case: k.id, Seen: seen[k]})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Kernel < out[b].Kernel })
	return out
}

// WriteVariations prints the soak's verdict: how many results were
// compared and every case that varied.
func WriteVariations(w io.Writer, runs []*Run, vs []Variation) error {
	n := 0
	for _, r := range runs {
		for _, k := range r.Kernels {
			n += len(k.Cases)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %d runs, %d case results, %d case%s varied\n", len(runs), n, len(vs), plural(len(vs)))
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %s:\n", v.Kernel, v.Case)
		for i, s := range v.Seen {
			fmt.Fprintf(&b, "    run %d: %s\n", i+1, s)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
