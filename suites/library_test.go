package suites

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/suites/check"
	"gotest.tools/v3/assert"
)

// The promises are the libraries' documentation, restated: checked here
// for the environments no kernel of the catalog shows.
func TestLibraryPromises(t *testing.T) {
	enabled := func(abi int, errata uint64) check.Env {
		return check.Env{State: landlock.Enabled, ABI: abi, Errata: errata, ErrataKnown: true}
	}
	gl, _ := adapter.Named("go-landlock")
	own, _ := adapter.Named("own")
	sb, _ := adapter.Named("sandboxer")
	for _, tc := range []struct {
		lib     adapter.Library
		env     check.Env
		ceiling int
		abi     int
		refuses bool
	}{
		{own, enabled(11, 0xf), 0, 11, false},
		{own, enabled(11, 0xf), 4, 4, false},
		{own, check.Env{State: landlock.Absent}, 0, 0, false},
		{gl, enabled(12, 0xf), 0, 11, false}, // a newer kernel is used as V11
		{gl, enabled(7, 0x7), 0, 7, false},
		{gl, enabled(7, 0x5), 0, 5, false}, // erratum 2 missing: below the scopes
		{gl, enabled(11, 0xf), 3, 3, false},
		{gl, check.Env{State: landlock.Disabled}, 0, 0, false}, // best effort enforces nothing
		{sb, enabled(7, 0x7), 0, 7, false},
		{sb, check.Env{State: landlock.Absent}, 0, 0, true}, // refuses to run the command
	} {
		p := tc.lib.Promise(tc.env, tc.ceiling)
		assert.Equal(t, p.ABI, tc.abi, "%s on %+v ceiling %d", tc.lib.Name(), tc.env, tc.ceiling)
		assert.Equal(t, p.Refuses != "", tc.refuses, tc.lib.Name())
	}
}

// Ceilings above the kernel's ABI all clamp to it: only the first of
// them runs, as the clamp check.
func TestLibraryCasesPruneClampedCeilings(t *testing.T) {
	names := func(cs []check.Case, e check.Env) string {
		var n []string
		for _, c := range cs {
			if strings.HasSuffix(c.Name, "/fs") && c.Redundant(e) == "" {
				n = append(n, strings.TrimSuffix(c.Name, "/fs"))
			}
		}
		return strings.Join(n, " ")
	}
	abi2 := check.Env{State: landlock.Enabled, ABI: 2}
	assert.Equal(t, names(LibraryCases("own"), abi2), "newest ceiling_1 ceiling_2 ceiling_3")
	assert.Equal(t, names(LibraryCases("own"), check.Env{State: landlock.Absent}), "newest ceiling_1")
	assert.Equal(t, names(LibraryCases("sandboxer"), check.Env{State: landlock.Enabled, ABI: 11}), "newest")
	assert.Assert(t, strings.Contains(LibraryCases("own")[len(libraryRows)*5].Redundant(abi2), "clamp to the kernel's ABI 2"))
	all := LibraryCases("go-landlock")
	ids := map[string]bool{}
	for _, c := range all {
		assert.Assert(t, !ids[c.ID()], "duplicate %s", c.ID())
		ids[c.ID()] = true
		got, ok := Lookup(c.ID())
		assert.Assert(t, ok && got.Name == c.Name, c.ID())
	}
	assert.Equal(t, len(all), 12*len(libraryRows))
}
