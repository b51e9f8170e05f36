package suites

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
)

// The library's downgrade path, for every ABI ceiling: a maximal
// best-effort policy must enforce exactly the rights of the effective ABI
// (each right's operation denied iff the right exists there), strict mode
// must name exactly the missing features, and the report must say how
// much is enforced. The boundaries come from this suite's own tables
// (base.go), not from the library.

func withCeiling(c int, want func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string { e.Ceiling = c; return want(e) }
}

// maximalKinds are what maximalPolicy handles in full.
var maximalKinds = map[check.FeatureKind]string{check.FSRight: "LANDLOCK_ACCESS_FS_", check.NetRight: "LANDLOCK_ACCESS_NET_", check.ScopeBit: "LANDLOCK_SCOPE_"}

// maximalPolicy handles every FS and network right and every scope of the
// newest ABI of this suite's table.
func maximalPolicy() landlock.Policy {
	return landlock.Policy{FS: landlock.AccessFS(check.Mask(check.FSRight, check.NewestABI)), Net: landlock.AccessNet(check.Mask(check.NetRight, check.NewestABI)),
		Scoped: landlock.Scope(check.Mask(check.ScopeBit, check.NewestABI))}
}

// abiFullPolicy is the first ABI that has everything maximalPolicy asks.
var abiFullPolicy = func() int {
	n := 0
	for _, f := range check.Features {
		if maximalKinds[f.Kind] != "" {
			n = max(n, f.ABI)
		}
	}
	return n
}()

// missingAt lists, sorted, the UAPI names of the features of
// maximalPolicy that ABI abi lacks.
func missingAt(abi int) []string {
	var out []string
	for _, f := range check.Features {
		if prefix := maximalKinds[f.Kind]; prefix != "" && f.ABI > abi {
			out = append(out, strings.ToUpper(prefix+f.Name))
		}
	}
	sort.Strings(out)
	return out
}

func missingOutcome(names []string) string {
	if len(names) == 0 {
		return check.OK
	}
	return "strict error: lacks " + strings.Join(names, ",")
}

func init() {
	check.Build(func() {
		for _, c := range check.Ceilings {
			c := c
			prefix := fmt.Sprintf("ceiling_%d/", c)
			for _, r := range fsRights {
				r := r
				check.Register(check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Redundant: check.ClampedCeiling(c), Name: prefix + "fs/" + r.name, Skip: r.skip(),
					Want: withCeiling(c, r.deniedWant),
					Run: func(t *check.T) string {
						t.Env.Ceiling = c
						return r.run(t, r.denyingGrant())
					}})
			}
			check.Register(
				check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Redundant: check.ClampedCeiling(c), Name: prefix + "strict_names_missing_features",
					Want: withCeiling(c, func(e check.Env) string { return missingOutcome(missingAt(e.LibABI())) }),
					Run: func(t *check.T) string {
						_, err := maximalPolicy().Enforce(landlock.Config{Mode: landlock.Strict, Threads: landlock.CurrentThread, MaxABI: c})
						var ue *landlock.UnsupportedError
						if err != nil && !errors.As(err, &ue) {
							return "error: " + err.Error()
						}
						if ue == nil {
							return check.OK
						}
						var names []string
						for _, d := range ue.Missing {
							names = append(names, d.Feature)
						}
						sort.Strings(names)
						return missingOutcome(names)
					}},
				// SoftRequirement is all or nothing: the maximal policy is
				// enforced where the ABI has all of it, else nothing is.
				check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Redundant: check.ClampedCeiling(c), Name: prefix + "soft_requirement_all_or_nothing",
					Want: withCeiling(c, func(e check.Env) string {
						if e.LibABI() >= abiFullPolicy {
							return string(landlock.FullyEnforced) + ", read=EACCES"
						}
						return string(landlock.NotEnforced) + ", read=ok"
					}),
					Run: func(t *check.T) string {
						t.Files("f")
						r, err := maximalPolicy().Enforce(landlock.Config{Mode: landlock.SoftRequirement, Threads: landlock.CurrentThread, MaxABI: c})
						if err != nil {
							return fixture.EnforceFailed(err)
						}
						return fmt.Sprintf("%s, read=%s", r.State, check.Outcome(fixture.OpenRead(t.Path("f"))))
					}},
				check.Case{Area: "downgrade", Covers: []string{"§6.1"}, Redundant: check.ClampedCeiling(c), Name: prefix + "best_effort_report",
					Want: withCeiling(c, func(e check.Env) string {
						switch abi := e.LibABI(); {
						case abi == 0:
							return string(landlock.NotEnforced)
						case abi < abiFullPolicy:
							return string(landlock.PartiallyEnforced)
						}
						return string(landlock.FullyEnforced)
					}),
					Run: func(t *check.T) string {
						r, err := maximalPolicy().Enforce(landlock.Config{Mode: landlock.BestEffort, Threads: landlock.CurrentThread, MaxABI: c})
						if err != nil {
							return fixture.EnforceFailed(err)
						}
						return string(r.State)
					}},
			)
		}
	})
}
