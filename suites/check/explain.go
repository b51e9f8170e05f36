package check

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llconform/llconform/landlock"
)

// The expectation model made readable: for one case, what every kernel
// state must do (llconform cases --explain). It evaluates the same pure
// functions the agent judges with (Want, Deviate, Redundant), never Skip,
// which may probe the machine it runs on.

// Expectation is what a case expects on a run of kernel states.
type Expectation struct {
	States     string      `json:"states"`           // "absent", "ABI 4-11", ...
	Priv       string      `json:"priv"`             // root, unpriv, or both
	Errata     string      `json:"errata,omitempty"` // the mask this line holds for, where the mask matters
	Want       string      `json:"want"`
	Deviations []Deviation `json:"deviations,omitempty"`
	Pruned     string      `json:"pruned,omitempty"`
}

// kernelState is one state a kernel can report.
type kernelState struct {
	label string
	env   Env
}

// kernelStates are absent, disabled and every ABI these suites know.
func kernelStates() []kernelState {
	out := []kernelState{{"absent", Env{State: landlock.Absent}}, {"disabled", Env{State: landlock.Disabled}}}
	for abi := 1; abi <= NewestABI; abi++ {
		out = append(out, kernelState{fmt.Sprintf("ABI %d", abi), Env{State: landlock.Enabled, ABI: abi}})
	}
	return out
}

// errataVariants are the errata settings that can change an expectation
// on a kernel of abi: no errata interface, an empty mask, and the mask of
// every erratum of a feature the ABI has.
func errataVariants(e Env) []Env {
	if e.State != landlock.Enabled {
		return []Env{e}
	}
	none, empty, full := e, e, e
	empty.ErrataKnown, full.ErrataKnown = true, true
	for _, er := range Errata {
		if er.FeatureABI <= e.ABI {
			full.Errata |= 1 << (er.N - 1)
		}
	}
	return []Env{none, empty, full}
}

func errataLabel(e Env) string {
	if !e.ErrataKnown {
		return "no errata interface"
	}
	return fmt.Sprintf("errata mask %#x", e.Errata)
}

// Explain lists the case's expectations for every kernel state, as root
// and unprivileged, with consecutive states of the same expectations
// folded into one line.
func Explain(c Case) []Expectation {
	type line struct{ priv, errata, want, deviate, pruned string }
	eval := func(e Env) (Expectation, string) {
		x := Expectation{Want: c.Want(e)}
		if c.Deviate != nil {
			x.Deviations = c.Deviate(e)
		}
		if c.Redundant != nil {
			x.Pruned = c.Redundant(e)
		}
		return x, fmt.Sprintf("%s|%v|%s", x.Want, x.Deviations, x.Pruned)
	}
	// per state: the expectation lines, keyed so that equal states fold.
	type stateLines struct {
		label string
		lines []Expectation
		key   string
	}
	var states []stateLines
	for _, st := range kernelStates() {
		var lines []Expectation
		var keys []string
		byPriv := map[bool][]Expectation{}
		privKey := map[bool]string{}
		for _, root := range []bool{true, false} {
			e := st.env
			e.Root = root
			var xs []Expectation
			var ks []string
			for _, ev := range errataVariants(e) {
				x, k := eval(ev)
				x.Errata = errataLabel(ev)
				xs = append(xs, x)
				ks = append(ks, k)
			}
			if len(slices.Compact(slices.Clone(ks))) == 1 {
				xs[0].Errata = ""
				xs, ks = xs[:1], ks[:1]
			}
			byPriv[root], privKey[root] = xs, strings.Join(ks, ";")
		}
		if privKey[true] == privKey[false] {
			for _, x := range byPriv[true] {
				x.Priv = "both"
				lines = append(lines, x)
			}
			keys = append(keys, privKey[true])
		} else {
			for _, root := range []bool{true, false} {
				for _, x := range byPriv[root] {
					x.Priv = map[bool]string{true: "root", false: "unpriv"}[root]
					lines = append(lines, x)
				}
				keys = append(keys, privKey[root])
			}
		}
		states = append(states, stateLines{st.label, lines, strings.Join(keys, "/")})
	}
	var out []Expectation
	for i := 0; i < len(states); {
		j := i + 1
		for j < len(states) && states[j].key == states[i].key {
			j++
		}
		label := foldLabel(states[i].label, states[j-1].label)
		for _, x := range states[i].lines {
			x.States = label
			out = append(out, x)
		}
		i = j
	}
	return out
}

// foldLabel names a run of states: "ABI 4-11", or "absent-ABI 3".
func foldLabel(first, last string) string {
	if first == last {
		return first
	}
	if a, ok := strings.CutPrefix(first, "ABI "); ok {
		if b, ok := strings.CutPrefix(last, "ABI "); ok {
			return "ABI " + a + "-" + b
		}
	}
	return first + " to " + last
}

// RowSource finds the line of the table row a case was made from, when
// the source is at hand: the longest tail of the case's name that stands
// quoted exactly once in the package of its Source. "" when there is no
// such line (a generated name, or no source).
func RowSource(c Case) string {
	if c.Source == "" {
		return ""
	}
	file, _, _ := strings.Cut(c.Source, ":")
	srcs := sourcesOf(filepath.Join(moduleRoot, filepath.Dir(file)))
	segs := strings.Split(c.Name, "/")
	// A single segment ("denied_without_rule") names many rows: a tail
	// needs two, unless it is the whole name.
	for i := range max(1, len(segs)-1) {
		quoted := `"` + strings.Join(segs[i:], "/") + `"`
		var hits []string
		for _, s := range srcs {
			for n, l := range s.lines {
				if strings.Contains(l, quoted) {
					rel, _ := filepath.Rel(moduleRoot, s.path)
					hits = append(hits, fmt.Sprintf("%s:%d", rel, n+1))
				}
			}
		}
		switch {
		case len(hits) == 1:
			return hits[0]
		case len(hits) > 1:
			return "" // the tail is not the row's own
		}
	}
	return ""
}

// goSource is one source file, read for RowSource.
type goSource struct {
	path  string
	lines []string
}

var sourceCache = map[string][]goSource{}

// sourcesOf reads the non-test Go files of dir, once.
func sourcesOf(dir string) []goSource {
	if s, ok := sourceCache[dir]; ok {
		return s
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var srcs []goSource
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			srcs = append(srcs, goSource{p, strings.Split(string(b), "\n")})
		}
	}
	sourceCache[dir] = srcs
	return srcs
}
