package results

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

// touch creates the files (and their directories) under dir.
func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, []byte("{}"), 0o644))
	}
}

func TestFindResultsInArtifactDownload(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// download-artifact without a name: one directory per artifact, each
	// holding what its shard uploaded (out/shard-N's files at its root).
	touch(t, dir,
		"shards/shard-10/results.json", "shards/shard-10/junit/7.3.xml",
		"shards/shard-2/results.json", "shards/shard-2/matrix.md",
		"shards/shard-1/results.json", "shards/shard-1/console/6.1.log",
		"shards/shard-3/exit-status", // a shard that wrote no results
		"shards/.shard-4.tmp-123/results.json",
		"shards/shard-1/not-results.json",
		"baseline/results.json")
	assert.NilError(t, os.Symlink("shard-1", "shards/latest"))

	got, err := FindResults("shards")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"shards/shard-1/results.json", "shards/shard-2/results.json", "shards/shard-10/results.json"})

	// Files and directories mix, in the order given; nothing twice.
	got, err = FindResults("baseline/results.json", "shards/shard-2/", "shards")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"baseline/results.json", "shards/shard-2/results.json",
		"shards/shard-1/results.json", "shards/shard-10/results.json"})

	// A symlink given as the argument is the directory it points at.
	got, err = FindResults("shards/latest")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"shards/latest/results.json"})

	// A file is taken as it is, whatever its name.
	got, err = FindResults("shards/shard-1/not-results.json")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"shards/shard-1/not-results.json"})
}

func TestFindResultsErrors(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "empty/shard-1/exit-status")
	_, err := FindResults(filepath.Join(dir, "empty"))
	assert.ErrorContains(t, err, "no results.json under "+filepath.Join(dir, "empty")+": give the directory")
	_, err = FindResults(filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "no such file or directory: give results.json files or directories")
	_, err = FindResults()
	assert.ErrorContains(t, err, "no results.json given")
}

func TestNaturalCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"shard-2", "shard-10", -1},
		{"shard-10", "shard-9", 1},
		{"a/1/x", "a/1/x", 0},
		{"shard-02", "shard-2", -1}, // equal as numbers: byte order decides
		{"shard-1", "shard-1b", -1},
		{"b1", "a2", 1},
	} {
		got := naturalCompare(tc.a, tc.b)
		assert.Equal(t, sign(got), tc.want, "%s vs %s", tc.a, tc.b)
		assert.Equal(t, sign(naturalCompare(tc.b, tc.a)), -tc.want, "%s vs %s", tc.b, tc.a)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
