package main

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestGuestCmdline(t *testing.T) {
	f := vmFlags{sel: selection{run: "^fs/", areas: listFlag{"fs", "tcp"}, ceiling: 3, shard: "2/4"}, noop: true, verbose: true}
	got, err := f.guestCmdline()
	assert.NilError(t, err)
	assert.Equal(t, got, "llconform.run=^fs/ llconform.area=fs,tcp llconform.ceiling=3 llconform.shard=2/4 llconform.noop=1 llconform.v=1")

	for _, bad := range []vmFlags{
		{sel: selection{run: "a b"}},
		{sel: selection{run: "("}},
		{sel: selection{shard: "5/4"}},
		{sel: selection{shard: "x"}},
	} {
		_, err := bad.guestCmdline()
		assert.Assert(t, err != nil, "%+v", bad.sel)
	}
}

func TestSelectionOptions(t *testing.T) {
	o, err := (&selection{shard: "1/3", ceiling: 2}).options()
	assert.NilError(t, err)
	assert.Equal(t, o.ShardIndex, 1)
	assert.Equal(t, o.ShardCount, 3)
	assert.Equal(t, o.Ceiling, 2)
	assert.Assert(t, o.Unpriv)
	_, err = (&selection{shard: "0/3"}).options()
	assert.ErrorContains(t, err, "want i/n")
}

func TestCatalogEntries(t *testing.T) {
	all, err := catalogEntries(nil)
	assert.NilError(t, err)
	assert.Equal(t, len(all), 9)
	some, err := catalogEntries([]string{"7.3", "5.10"})
	assert.NilError(t, err)
	assert.Equal(t, some[0].Name, "7.3")
	_, err = catalogEntries([]string{"4.19"})
	assert.ErrorContains(t, err, `no kernel "4.19" in the catalog`)
}
