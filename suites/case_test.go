package suites

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/suites/check"
	"gotest.tools/v3/assert"
)

// A child process finds its case by running only the builder named in
// the case's Ref, and gets the same case: same ID, isolation and
// expectation inputs, in the same position among that builder's cases.
func TestEveryCaseIsFoundByItsRef(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range check.All() {
		assert.Assert(t, !strings.HasPrefix(c.Ref(), "0:"), "%s: registered outside a builder", c.ID())
		got, ok := LookupRef(c.Ref())
		assert.Assert(t, ok, "%s: not found by its Ref %q", c.ID(), c.Ref())
		assert.Equal(t, got.ID(), c.ID())
		assert.Equal(t, got.Ref(), c.Ref())
		assert.Equal(t, got.Isolation, c.Isolation, c.ID())
		assert.DeepEqual(t, got.Covers, c.Covers)
		assert.Assert(t, !seen[c.ID()], "%s: two cases share this ID", c.ID())
		seen[c.ID()] = true
	}
	// An unknown builder number falls back to the whole registry.
	c := check.All()[0]
	got, ok := LookupRef("999999:" + c.ID())
	assert.Assert(t, ok)
	assert.Equal(t, got.ID(), c.ID())
	got, ok = LookupRef(c.ID())
	assert.Assert(t, ok, "a bare ID is found too")
	assert.Equal(t, got.ID(), c.ID())
	_, ok = LookupRef("1:no/such/case")
	assert.Assert(t, !ok)
}
