package suites

import (
	"slices"
	"strings"
	"testing"

	"github.com/llconform/llconform/suites/check"
)

// dimValues are the values every row of a dimension runs over, unless it
// says which it leaves out and why.
var dimValues = map[check.Dim][]string{check.DimFamily: {"ipv4", "ipv6"}}

// netAreas are the areas whose every case is a row of the family dimension.
var netAreas = []string{"tcp", "udp"}

// TestVariantsAreComplete: a row registered for some values of a
// dimension runs for all of them, or says why not next to the row. A
// network case carries its family.
func TestVariantsAreComplete(t *testing.T) {
	for _, p := range variantGaps(check.All()) {
		t.Error(p)
	}
}

// variantGaps lists the rows that leave a value of their dimension out
// without a reason, and the network cases without a family.
func variantGaps(cases []check.Case) []string {
	var gaps []string
	type key struct {
		dim       check.Dim
		area, row string
	}
	seen := map[key][]string{}
	omitted := map[key][]string{}
	var order []key
	for _, c := range cases {
		if slices.Contains(netAreas, c.Area) && c.Library == "" && c.Variant(check.DimFamily) == "" {
			gaps = append(gaps, c.ID()+": a network case without a family variant")
		}
		for d := range dimValues {
			v := c.Variant(d)
			if v == "" {
				continue
			}
			// The row is the name without the variant's own segment.
			k := key{d, c.Area, strings.Replace(c.Name, v+"/", "", 1)}
			if _, ok := seen[k]; !ok {
				order = append(order, k)
			}
			seen[k] = append(seen[k], v)
			for _, o := range c.Omits {
				if o.Dim == d && o.Why != "" {
					omitted[k] = append(omitted[k], o.Values...)
				}
			}
		}
	}
	for _, k := range order {
		for _, want := range dimValues[k.dim] {
			if !slices.Contains(seen[k], want) && !slices.Contains(omitted[k], want) {
				gaps = append(gaps, k.area+"/"+k.row+": runs on "+strings.Join(seen[k], ",")+
					" but not "+want+" ("+string(k.dim)+"), and says not why")
			}
		}
	}
	return gaps
}

// The check itself can fail: a row on one family, without a reason.
func TestVariantGapsFindsAMissingFamily(t *testing.T) {
	row := check.Case{Area: "tcp", Name: "ipv4/layers/x", Variants: []check.Variant{{Dim: check.DimFamily, Value: "ipv4"}}}
	if g := variantGaps([]check.Case{row}); len(g) != 1 || !strings.Contains(g[0], "not ipv6") {
		t.Fatalf("a row on IPv4 only went unnoticed: %q", g)
	}
	silent := row
	silent.Omits = []check.Omission{{Dim: check.DimFamily, Values: []string{"ipv6"}}}
	if g := variantGaps([]check.Case{silent}); len(g) != 1 {
		t.Fatalf("an omission without a reason was taken: %q", g)
	}
	said := row
	said.Omits = []check.Omission{{Dim: check.DimFamily, Values: []string{"ipv6"}, Why: "because"}}
	if g := variantGaps([]check.Case{said}); len(g) != 0 {
		t.Fatalf("an omission with its reason was refused: %q", g)
	}
	bare := check.Case{Area: "udp", Name: "x"}
	if g := variantGaps([]check.Case{bare}); len(g) != 1 || !strings.Contains(g[0], "without a family") {
		t.Fatalf("a network case without a family went unnoticed: %q", g)
	}
}
