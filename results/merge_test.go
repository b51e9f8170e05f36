package results

import (
	"testing"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestMergeShards(t *testing.T) {
	full := fixture()
	a, b := fixture(), fixture()
	a.ID, b.ID = "shard-a", "shard-b"
	a.Kernels = full.Kernels[:2] // 6.1, 6.12
	b.Kernels = []KernelRun{full.Kernels[2], copyKernel(full.Kernels[1])}
	b.Started = a.Started.Add(-time.Minute)
	b.Finished = a.Finished.Add(time.Hour)
	b.Host.Hostname = "ci-2"
	b.Incomplete = true
	// Shard b saw 6.12's failing case pass, and one more case.
	k := &b.Kernels[1]
	k.Cases[2].Verdict, k.Cases[2].Observed, k.Cases[2].Detail = Pass, "EACCES", ""
	k.Cases = append(k.Cases, pass("udp", "send", "root", "EACCES"))

	m, err := Merge(a, b)
	assert.NilError(t, err)
	assert.Equal(t, m.Schema, SchemaVersion)
	assert.Assert(t, m.ID != a.ID && m.ID != b.ID && m.ID != "")
	assert.Equal(t, m.Started, b.Started)
	assert.Equal(t, m.Finished, b.Finished)
	assert.Assert(t, m.Incomplete)
	assert.Equal(t, m.Host.Hostname, "ci-1, ci-2")

	var names []string
	for _, k := range m.Kernels {
		names = append(names, k.Name)
	}
	assert.DeepEqual(t, names, []string{"6.1", "6.12", "7.0"})
	k612 := m.Kernels[1]
	assert.Equal(t, len(k612.Cases), 5)
	worse := k612.Cases[2]
	assert.Equal(t, worse.ID(), "fs/read_file_denied/unpriv")
	assert.Equal(t, worse.Verdict, Fail)
	assert.Check(t, is.Contains(worse.Detail, `read <policy> & "quotes" succeeded`))
	assert.Check(t, is.Contains(worse.Detail, "merge: another shard reported pass (observed EACCES)"))
	assert.Equal(t, len(k612.Attempts), 2)
	assert.DeepEqual(t, k612.Flags, full.Kernels[1].Flags) // no duplicate
	assert.Assert(t, m.Kernels[2].Broken())

	// The inputs are untouched and the ID is stable.
	assert.Equal(t, len(a.Kernels[1].Cases), 4)
	m2, err := Merge(a, b)
	assert.NilError(t, err)
	assert.Equal(t, m2.ID, m.ID)
	m3, err := Merge(b, a)
	assert.NilError(t, err)
	assert.Assert(t, m3.ID != m.ID)
}

func TestMergeBrokenShardWins(t *testing.T) {
	a, b := fixture(), fixture()
	b.Kernels[0].Status, b.Kernels[0].Reason = "broken", "timeout"
	m, err := Merge(a, b)
	assert.NilError(t, err)
	assert.Assert(t, m.Kernels[0].Broken())
	assert.Equal(t, m.Kernels[0].Reason, "timeout")
	assert.Assert(t, !m.Incomplete)
}

func TestMergeErrors(t *testing.T) {
	_, err := Merge()
	assert.ErrorContains(t, err, "no runs")
	_, err = Merge(fixture(), nil)
	assert.ErrorContains(t, err, "run 2 is nil")
	r := fixture()
	r.Schema = 9
	_, err = Merge(r)
	assert.ErrorContains(t, err, "schema 9")
}

// Shards of a two-architecture matrix: the same series on amd64 and arm64
// stay two kernels, grouped by architecture in natural order; a shard
// from before the arch field is amd64 and gets it in the merge.
func TestMergeKeysKernelsByNameAndArchitecture(t *testing.T) {
	k := func(name string, a arch.Arch, v Verdict) KernelRun {
		return KernelRun{Name: name, Arch: a, Status: StatusComplete, Cases: []Case{{Area: "x", Name: "a", Priv: "root", Verdict: v}}}
	}
	a := &Run{ID: "a", Schema: SchemaVersion, Kernels: []KernelRun{k("7.3", "arm64", Fail), k("6.12", "amd64", Pass), k("6.1", "arm64", Pass)}}
	b := &Run{ID: "b", Schema: 2, Kernels: []KernelRun{k("7.3", "", Pass), k("6.12", "arm64", Pass)}}
	m, err := Merge(a, b)
	assert.NilError(t, err)
	var keys []string
	for _, k := range m.Kernels {
		keys = append(keys, k.Key())
		assert.Assert(t, k.Arch != "", "%s: every merged kernel records its architecture", k.Name)
	}
	assert.DeepEqual(t, keys, []string{"6.12/amd64", "7.3/amd64", "6.1/arm64", "6.12/arm64", "7.3/arm64"})
	assert.Equal(t, m.Kernels[4].Cases[0].Verdict, Fail, "arm64's failure is not merged away by amd64's pass")
	assert.Equal(t, m.Kernels[1].Cases[0].Verdict, Pass)
}
