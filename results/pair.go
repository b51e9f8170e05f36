package results

import (
	"fmt"
	"slices"
	"strings"
)

// Pair names a kernel of the base run that is compared as a kernel of
// the new run with another name: a developer's baseline build ("base")
// and the same tree patched ("patched"). Either side is a kernel name or
// a key (name/arch).
type Pair struct{ Old, New string }

// ParsePair reads OLD=NEW.
func ParsePair(s string) (Pair, error) {
	old, cur, ok := strings.Cut(s, "=")
	old, cur = strings.TrimSpace(old), strings.TrimSpace(cur)
	if !ok || old == "" || cur == "" {
		return Pair{}, fmt.Errorf("%q: want OLD=NEW, the base kernel's name and the new one's (as base=patched)", s)
	}
	return Pair{Old: old, New: cur}, nil
}

// String is "OLD=NEW".
func (p Pair) String() string { return p.Old + "=" + p.New }

// matches reports whether the kernel is the one a side of a pair names.
func matches(k *KernelRun, name string) bool { return k.Name == name || k.Key() == name }

// Paired returns base with its kernels renamed as pairs say, so that
// Compare matches them with the new run's, and says which it paired
// ("base/amd64 = patched/amd64"). Without pairs, a base and a new run of
// exactly one kernel each, of one architecture, are paired whatever
// their names: a run of one build against a run of another is the
// kernel developer's comparison. A pair that names no kernel is an
// error. base itself is not changed.
func Paired(base, cur *Run, pairs []Pair) (*Run, []string, error) {
	out := *base
	out.Kernels = slices.Clone(base.Kernels)
	if len(pairs) == 0 {
		if len(out.Kernels) == 1 && len(cur.Kernels) == 1 {
			b, n := &out.Kernels[0], &cur.Kernels[0]
			if b.Key() != n.Key() && b.Architecture() == n.Architecture() {
				pairs = []Pair{{Old: b.Key(), New: n.Key()}}
			}
		}
		if len(pairs) == 0 {
			return &out, nil, nil
		}
	}
	var paired []string
	for _, p := range pairs {
		var news []*KernelRun
		for i := range cur.Kernels {
			if matches(&cur.Kernels[i], p.New) {
				news = append(news, &cur.Kernels[i])
			}
		}
		if len(news) == 0 {
			return nil, nil, fmt.Errorf("--pair %s: the new run has no kernel %s (it has: %s)", p, p.New, strings.Join(Keys(cur), ", "))
		}
		found := false
		for i := range out.Kernels {
			k := &out.Kernels[i]
			if !matches(k, p.Old) {
				continue
			}
			for _, n := range news {
				if n.Architecture() == k.Architecture() {
					old := k.Key()
					k.Name = n.Name
					// Architecture falls back to the guest's uname for
					// old documents: keep it as it was.
					k.Arch = n.Architecture()
					paired = append(paired, old+" = "+n.Key())
					found = true
					break
				}
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("--pair %s: the base run has no kernel %s of the new one's architecture (it has: %s)", p, p.Old, strings.Join(Keys(base), ", "))
		}
	}
	return &out, paired, nil
}

// Keys lists a run's kernels as name/arch.
func Keys(run *Run) []string {
	out := make([]string, len(run.Kernels))
	for i := range run.Kernels {
		out[i] = run.Kernels[i].Key()
	}
	return out
}

// NoCommonKernel reports whether two runs that both have kernels have
// none in common (by name and architecture): their comparison says
// nothing, and the kernels are probably one build under two names.
func NoCommonKernel(base, cur *Run) bool {
	if len(base.Kernels) == 0 || len(cur.Kernels) == 0 {
		return false
	}
	keys := Keys(cur)
	for i := range base.Kernels {
		if slices.Contains(keys, base.Kernels[i].Key()) {
			return false
		}
	}
	return true
}
