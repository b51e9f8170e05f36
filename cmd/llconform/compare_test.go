package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// saveRun writes a run of one complete kernel with one case of verdict v.
func saveRun(t *testing.T, name string, v results.Verdict) string {
	t.Helper()
	run := &results.Run{Schema: results.SchemaVersion, ID: name, Kernels: []results.KernelRun{{
		Name: name, Arch: "amd64", Status: results.StatusComplete,
		Cases: []results.Case{{Area: "fs", Name: "a", Priv: "root", Verdict: v, Expected: "EACCES", Observed: "EACCES"}},
	}}}
	path := filepath.Join(t.TempDir(), "results.json")
	assert.NilError(t, run.Save(path))
	return path
}

func exitCode(err error) int {
	var code exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailed
}

// compare of two single-kernel runs pairs them whatever their names; two
// runs with no kernel in common are bad usage that names --pair.
func TestCompareExitStatus(t *testing.T) {
	base := saveRun(t, "base", results.Pass)
	same := saveRun(t, "patched", results.Pass)
	worse := saveRun(t, "patched", results.Fail)
	assert.Equal(t, exitCode(runCompare([]string{base, same})), 0)
	assert.Equal(t, exitCode(runCompare([]string{base, worse})), exitFailed)

	// Two kernels against one of another name: nothing to pair by itself.
	two := &results.Run{Schema: results.SchemaVersion, ID: "two", Kernels: []results.KernelRun{
		{Name: "a", Arch: "amd64", Status: results.StatusComplete}, {Name: "b", Arch: "amd64", Status: results.StatusComplete}}}
	twoPath := filepath.Join(t.TempDir(), "results.json")
	assert.NilError(t, two.Save(twoPath))
	err := runCompare([]string{twoPath, same})
	assert.Equal(t, exitCode(err), exitUsage)
	assert.ErrorContains(t, err, "no kernel in common: the base has a/amd64, b/amd64, the new run patched/amd64; pair them with --pair a=patched")
	assert.Equal(t, exitCode(runCompare([]string{"--pair", "b=patched", twoPath, same})), exitFailed, "a/amd64 is missing from the new run")
	assert.Equal(t, exitCode(runCompare([]string{"--allow-missing", "--pair", "b=patched", twoPath, same})), 0)
	err = runCompare([]string{"--pair", "nosuch=patched", twoPath, same})
	assert.Equal(t, exitCode(err), exitUsage)
	assert.ErrorContains(t, err, "the base run has no kernel nosuch")
	assert.Equal(t, exitCode(runCompare([]string{"--pair", "b", twoPath, same})), exitUsage)
}

func TestBaselineFlags(t *testing.T) {
	b := baselineFlags{pairs: listFlag{"x=y"}}
	assert.ErrorContains(t, b.load(), "--pair only counts with --baseline")
	b = baselineFlags{path: filepath.Join(t.TempDir(), "none.json")}
	err := b.load()
	assert.Equal(t, exitCode(err), exitUsage)
	assert.ErrorContains(t, err, "give the results.json of an earlier run")
}

// run --baseline checks the pairing before anything boots.
func TestBaselineChecksPairsBeforeBooting(t *testing.T) {
	two := &results.Run{Schema: results.SchemaVersion, ID: "two", Kernels: []results.KernelRun{
		{Name: "a", Arch: "amd64", Status: results.StatusComplete}, {Name: "b", Arch: "amd64", Status: results.StatusComplete}}}
	path := filepath.Join(t.TempDir(), "results.json")
	assert.NilError(t, two.Save(path))
	b := baselineFlags{path: path}
	assert.NilError(t, b.load())
	patched := []matrix.Target{{Name: "patched"}}
	err := b.checkPairs(patched)
	assert.Equal(t, exitCode(err), exitUsage)
	assert.ErrorContains(t, err, "--baseline: no kernel in common: the base has a/amd64, b/amd64, the new run patched/amd64; pair them with --pair a=patched")
	b = baselineFlags{path: path, pairs: listFlag{"b=patched"}}
	assert.NilError(t, b.load())
	assert.NilError(t, b.checkPairs(patched))
	err = b.checkPairs([]matrix.Target{{Name: "a"}})
	assert.ErrorContains(t, err, "--pair b=patched: the new run has no kernel patched (it has: a/amd64)")
	b = baselineFlags{path: path}
	assert.NilError(t, b.load())
	assert.NilError(t, b.checkPairs([]matrix.Target{{Name: "a"}}), "a kernel of the baseline's name")

	// One kernel a side pairs by itself.
	b = baselineFlags{path: saveRun(t, "base", results.Pass)}
	assert.NilError(t, b.load())
	assert.NilError(t, b.checkPairs(patched))
	var none *baselineFlags
	assert.NilError(t, none.checkPairs(patched), "matrix has no baseline")
}
