package main

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/vm"
	"gotest.tools/v3/assert"
)

func TestSelectionSettings(t *testing.T) {
	st, err := (&selection{run: "^fs/", areas: listFlag{"fs", "tcp"}, shard: "2/4", ceiling: 3}).settings()
	assert.NilError(t, err)
	assert.DeepEqual(t, st, protocol.Settings{Run: "^fs/", Areas: []string{"fs", "tcp"}, Shard: protocol.Shard{Index: 2, Count: 4}, Ceiling: 3})
}

// Every bad value is a usage error (exit 2) that names what is valid.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		f    vmFlags
		want string
	}{
		{vmFlags{sel: selection{shard: "3/2"}, parallel: 1, memory: 512, timeout: 1}, "want i/n with 1 ≤ i ≤ n"},
		{vmFlags{sel: selection{ceiling: 99}, parallel: 1, memory: 512, timeout: 1}, "want 1..11"},
		{vmFlags{sel: selection{ceiling: -1}, parallel: 1, memory: 512, timeout: 1}, "want 1..11"},
		{vmFlags{sel: selection{run: "("}, parallel: 1, memory: 512, timeout: 1}, "not a valid regular expression"},
		{vmFlags{sel: selection{run: "a b"}, parallel: 1, memory: 512, timeout: 1}, "cannot hold blanks"},
		{vmFlags{sel: selection{areas: listFlag{"nosuch"}}, parallel: 1, memory: 512, timeout: 1}, "no such area (have: base,"},
		{vmFlags{sel: selection{run: "^no-such-case$"}, parallel: 1, memory: 512, timeout: 1}, "matches no case"},
		{vmFlags{parallel: 0, memory: 512, timeout: 1}, "want 1 or more"},
		{vmFlags{parallel: -3, memory: 512, timeout: 1}, "want 1 or more"},
		{vmFlags{parallel: 1, memory: vm.MinMemoryMB - 1, timeout: 1}, "need at least"},
	} {
		_, err := tc.f.config(nil)
		var ue usageError
		assert.Assert(t, errors.As(err, &ue), "%+v: %v", tc.f, err)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestCatalogEntries(t *testing.T) {
	amd64 := []arch.Arch{arch.AMD64}
	all, err := catalogEntries(nil, amd64)
	assert.NilError(t, err)
	assert.Equal(t, len(all), 9)
	some, err := catalogEntries([]string{"7.3", "5.10"}, amd64)
	assert.NilError(t, err)
	assert.Equal(t, some[0].Name, "7.3")
	both, err := catalogEntries([]string{"7.3", "5.10"}, arch.All)
	assert.NilError(t, err)
	var got []string
	for _, e := range both {
		got = append(got, e.Name+"/"+string(e.Arch))
	}
	assert.DeepEqual(t, got, []string{"7.3/amd64", "5.10/amd64", "7.3/arm64", "5.10/arm64"})
	every, err := catalogEntries(nil, arch.All)
	assert.NilError(t, err)
	assert.Equal(t, len(every), 18)
	_, err = catalogEntries([]string{"4.19"}, amd64)
	var ue usageError
	assert.Assert(t, errors.As(err, &ue))
	assert.ErrorContains(t, err, `no kernel "4.19" in the catalog`)
	assert.ErrorContains(t, noDuplicates("--kernel", []string{"7.3", "7.3"}), "given twice")
}

func TestArchFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a archFlag
	a.register(fs)
	assert.NilError(t, fs.Parse(nil))
	assert.DeepEqual(t, a.arches(), []arch.Arch{arch.AMD64})
	assert.Equal(t, a.byo(), arch.AMD64)
	assert.NilError(t, fs.Parse([]string{"--arch", "all"}))
	assert.DeepEqual(t, a.arches(), arch.All)
	assert.Equal(t, a.byo(), arch.Arch(""), "all: the image says")
	assert.NilError(t, fs.Parse([]string{"--arch", "arm64"}))
	assert.DeepEqual(t, a.arches(), []arch.Arch{arch.ARM64})
	err := fs.Parse([]string{"--arch", "x86_64"})
	assert.ErrorContains(t, err, "--arch x86_64: want amd64, arm64 or all")
}
