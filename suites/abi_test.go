package suites

import (
	"slices"
	"testing"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"gotest.tools/v3/assert"
)

// A right, scope or flag cannot land without its behaviour cases: for
// rights and scopes one case showing it allowed by a rule and one showing
// it denied without; for flags one showing the flag's effect.
func TestEveryFeatureHasBehaviourCases(t *testing.T) {
	shown := map[string]map[check.Behaviour]int{}
	for _, c := range check.All() {
		if c.Feature == "" {
			continue
		}
		if shown[c.Feature] == nil {
			shown[c.Feature] = map[check.Behaviour]int{}
		}
		shown[c.Feature][c.Shows]++
	}
	need := map[check.FeatureKind][]check.Behaviour{
		check.FSRight: {check.ShowsAllowed, check.ShowsDenied}, check.NetRight: {check.ShowsAllowed, check.ShowsDenied}, check.ScopeBit: {check.ShowsAllowed, check.ShowsDenied},
		check.RestrictFlag: {check.ShowsEffect}, check.AddRuleFlag: {check.ShowsEffect}, check.CreateFlag: {check.ShowsEffect},
	}
	known := map[string]bool{}
	for _, f := range check.Features {
		known[f.ID()] = true
		for _, b := range need[f.Kind] {
			assert.Check(t, shown[f.ID()][b] > 0, "%s (ABI %d) has no case showing it %s", f.ID(), f.ABI, b)
		}
	}
	for id := range shown {
		assert.Check(t, known[id], "a case claims feature %q, which is not in the ABI table", id)
	}
}

// One newest-ABI fact: the suites' table and the library's agree on it.
func TestNewestABIAgreesWithTheLibrary(t *testing.T) {
	assert.Equal(t, check.NewestABI, landlock.NewestABI)
}

// The table is consistent: bits of one kind are distinct, and every kind
// starts at ABI 1 or later.
func TestABITableIsConsistent(t *testing.T) {
	seen := map[check.FeatureKind]uint64{}
	for _, f := range check.Features {
		assert.Check(t, f.ABI >= 1 && f.ABI <= check.NewestABI, f.ID())
		if f.Kind == check.AttrField || f.Kind == check.RuleType {
			continue
		}
		assert.Check(t, seen[f.Kind]&f.Value == 0, "%s reuses a bit", f.ID())
		seen[f.Kind] |= f.Value
	}
}

// Every area has its place in the report order.
func TestEveryAreaIsOrdered(t *testing.T) {
	for _, c := range check.All() {
		assert.Check(t, slices.Contains(check.Areas, c.Area), "area %q of %s is not in suites.Areas", c.Area, c.ID())
	}
}
