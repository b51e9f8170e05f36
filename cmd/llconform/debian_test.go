package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// matrix --kernels mixes catalog names and Debian packages; commands
// that take only the catalog say so.
func TestCatalogFlagsDebian(t *testing.T) {
	c := catalogFlags{withDebian: true, only: listFlag{"debian:linux-image-7.3.4+deb13-rt-amd64", "6.12"}}
	es, err := c.entries()
	assert.NilError(t, err)
	assert.Equal(t, len(es), 1)
	assert.Equal(t, es[0].Name, "6.12")
	assert.DeepEqual(t, c.debian, []kernels.DebianSpec{{Package: "linux-image-7.3.4+deb13-rt-amd64"}})

	c = catalogFlags{withDebian: true, only: listFlag{"debian:linux-binary-7.2.6+deb13-cloud-amd64=7.2.6-1~bpo13+1"}}
	es, err = c.entries()
	assert.NilError(t, err)
	assert.Equal(t, len(es), 0, "Debian packages alone are not the whole catalog")

	c = catalogFlags{withDebian: true, only: listFlag{"debian:linux-image-7.3.4+deb13-rt-arm64"}}
	assert.NilError(t, c.arch.Set("all"))
	_, err = c.entries()
	assert.NilError(t, err)

	var ue usageError
	for _, c := range []catalogFlags{
		{only: listFlag{"debian:linux-image-7.3.4+deb13-rt-amd64"}},
		{withDebian: true, only: listFlag{"debian:linux-headers-7.3.4+deb13-rt-amd64"}},
		{withDebian: true, only: listFlag{"debian:linux-image-7.3.4+deb13-rt-arm64"}}, // --arch amd64
	} {
		_, err := c.entries()
		assert.Assert(t, errors.As(err, &ue), "%v", err)
	}
}

func TestPairFlag(t *testing.T) {
	var p pairFlag
	assert.NilError(t, p.Set("7.2=7.2.6+deb13-cloud=7.2.6-1~bpo13+1"))
	assert.DeepEqual(t, p, pairFlag{{"7.2", "7.2.6+deb13-cloud=7.2.6-1~bpo13+1"}})
	var ue usageError
	assert.Assert(t, errors.As(p.Set("7.2"), &ue))
	assert.Assert(t, errors.As(p.Set("=7.3"), &ue))
}

// diff's exit status: 0 when nothing unexplained differs, 1 when
// something does, 2 (a usage error) for what it cannot read or find.
func TestRunDiffExitStatus(t *testing.T) {
	dir := t.TempDir()
	c := results.Case{Area: "fs", Name: "read", Priv: "root", Verdict: results.Pass, Expected: "EACCES", Observed: "EACCES"}
	bad := c
	bad.Verdict, bad.Observed = results.Fail, "ok"
	env := results.Env{LandlockStatus: landlock.Enabled, ABI: 11}
	run := &results.Run{ID: "r", Kernels: []results.KernelRun{
		{Name: "7.3", Arch: "amd64", Status: results.StatusComplete, Env: env, Cases: []results.Case{c}},
		{Name: "7.3-rt", Arch: "amd64", Status: results.StatusComplete, Env: env, Cases: []results.Case{c}},
		{Name: "7.3-generic", Arch: "amd64", Status: results.StatusComplete, Env: env, Cases: []results.Case{bad}},
	}}
	path := filepath.Join(dir, "results.json")
	assert.NilError(t, run.Save(path))

	assert.NilError(t, runDiff([]string{"--json", path, "7.3", "7.3-rt"}))
	assert.Equal(t, runDiff([]string{path, "7.3", "7.3-generic"}), error(exitError(exitFailed)))
	assert.NilError(t, runDiff([]string{dir, path, "--pair", "7.3=7.3-rt"}), "flags after the runs, a run directory")
	var ue usageError
	for _, args := range [][]string{
		{path, "7.3", "6.12"},
		{path, "7.3", "7.3"},
		{filepath.Join(dir, "none.json"), "7.3", "7.3-rt"},
		{path, path, "--pair", "7.3=nosuch"},
		{path},
		{"--markdown", "--json", path, "7.3", "7.3-rt"},
	} {
		err := runDiff(args)
		assert.Assert(t, errors.As(err, &ue), "%v: %v", args, err)
	}
}

// run refuses a Debian package of another architecture than the run's,
// before anything is fetched, as it does a kernel of the user's own.
func TestResolveTargetsDebianArch(t *testing.T) {
	arch := archFlag{value: arch.AMD64}
	_, err := resolveTargets(context.Background(), nil, []string{"debian:linux-image-6.12.117+deb13-rt-arm64"}, own{}, -1, &arch, &flavourFlag{}, &suiteFlag{})
	var ue usageError
	assert.Assert(t, errors.As(err, &ue), "%v", err)
	assert.ErrorContains(t, err, "is an arm64 kernel, but this run boots amd64: run with --arch arm64")
	_, err = resolveTargets(context.Background(), nil, []string{"debian:linux-image-amd64"}, own{}, -1, &arch, &flavourFlag{}, &suiteFlag{})
	assert.Assert(t, errors.As(err, &ue), "%v", err)
	assert.ErrorContains(t, err, "metapackage")
}
