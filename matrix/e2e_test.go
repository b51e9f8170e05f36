package matrix

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// TestDefaultMatrixEndToEnd fetches the default kernels, boots each in
// QEMU with the agent and checks the whole matrix: every kernel complete,
// reporting the Landlock state and ABI of its catalog entry, no case
// failing or broken. It needs the Debian mirror (or a warm cache) and
// QEMU; `make test` runs it.
func TestDefaultMatrixEndToEnd(t *testing.T) {
	if os.Getenv("LLCONFORM_E2E") != "1" {
		t.Skip("VM end-to-end run: set LLCONFORM_E2E=1 (make test does)")
	}
	ctx := context.Background()
	f, err := kernels.NewFetcher()
	assert.NilError(t, err)
	var targets []Target
	for _, e := range kernels.Catalog() {
		k, err := f.Fetch(ctx, e)
		assert.NilError(t, err, e.Name)
		targets = append(targets, TargetOf(k))
	}
	dir := filepath.Join(t.TempDir(), "run")
	run, err := Run(ctx, Config{Parallel: 2, OutDir: dir}, targets)
	assert.NilError(t, err)
	assert.NilError(t, results.WriteAll(dir, run))
	if !run.Passed(false) {
		results.Terminal(os.Stderr, run, false)
	}
	assert.Equal(t, len(run.Kernels), len(kernels.Catalog()))
	for i, k := range run.Kernels {
		e := kernels.Catalog()[i]
		assert.Equal(t, k.Name, e.Name)
		assert.Equal(t, k.Status, results.StatusComplete, "%s: %s", k.Name, k.Reason)
		assert.Equal(t, k.Env.LandlockStatus, e.Status, k.Name)
		if e.Status == landlock.Enabled {
			assert.Equal(t, k.Env.ABI, e.ABI, k.Name)
		}
		assert.Assert(t, len(k.Cases) > 100, "%s: %d cases", k.Name, len(k.Cases))
		for _, c := range k.Cases {
			assert.Assert(t, c.Verdict == results.Pass || c.Verdict == results.Skip || c.Verdict == results.Known || c.Verdict == results.Warn, "%s %s: %s expected %s observed %s", k.Name, c.ID(), c.Verdict, c.Expected, c.Observed)
		}
	}
	assert.Assert(t, run.Passed(false), "the matrix has failing or broken cells")
}
