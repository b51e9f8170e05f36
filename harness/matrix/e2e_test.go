package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// TestDefaultMatrixEndToEnd fetches the default kernels, boots each in
// QEMU with the agent and checks the whole matrix: every kernel complete,
// reporting the Landlock state and ABI of its catalog entry, no case
// failing or broken. It needs the Debian mirror (or a warm cache) and
// QEMU; `make test` runs it for amd64. LLCONFORM_E2E_ARCH=arm64 (or
// "amd64,arm64") picks the architectures.
func TestDefaultMatrixEndToEnd(t *testing.T) {
	if os.Getenv("LLCONFORM_E2E") != "1" {
		t.Skip("VM end-to-end run: set LLCONFORM_E2E=1 (make test does)")
	}
	arches := []arch.Arch{arch.AMD64}
	if env := os.Getenv("LLCONFORM_E2E_ARCH"); env != "" {
		arches = nil
		for _, name := range strings.Split(env, ",") {
			a, err := arch.Parse(name)
			assert.NilError(t, err, "LLCONFORM_E2E_ARCH")
			arches = append(arches, a)
		}
	}
	ctx := context.Background()
	f, err := kernels.NewFetcher()
	assert.NilError(t, err)
	var targets []Target
	var entries []kernels.Entry
	for _, a := range arches {
		for _, e := range kernels.Catalog(a) {
			k, err := f.Fetch(ctx, e)
			assert.NilError(t, err, e.Name)
			target := TargetOf(k)
			// The archive may no longer carry a kernel's modules (7.0 and
			// 7.1 today): those kernels run without, their cases skip.
			if target.Modules, err = f.Modules(ctx, k, kernels.GuestModules); err != nil {
				t.Logf("%s: %v", target.Key(), err)
			}
			targets = append(targets, target)
			entries = append(entries, e)
		}
	}
	dir := filepath.Join(t.TempDir(), "run")
	run, err := Run(ctx, Config{Parallel: 2, OutDir: dir}, targets)
	assert.NilError(t, err)
	assert.NilError(t, results.WriteAll(dir, run))
	if !run.Passed(false) {
		results.Terminal(os.Stderr, run, false)
	}
	assert.Equal(t, len(run.Kernels), len(entries))
	for i, k := range run.Kernels {
		e := entries[i]
		assert.Equal(t, k.Name, e.Name)
		assert.Equal(t, k.Arch, e.Arch)
		guest, _ := arch.OfUname(k.Env.Arch)
		assert.Equal(t, guest, e.Arch, "%s: the guest's uname -m", k.Key())
		assert.Equal(t, k.Status, results.StatusComplete, "%s: %s", k.Key(), k.Reason)
		assert.Equal(t, k.Env.LandlockStatus, e.Status, k.Key())
		if e.Status == landlock.Enabled {
			assert.Equal(t, k.Env.ABI, e.ABI, k.Key())
		}
		assert.Assert(t, len(k.Cases) > 100, "%s: %d cases", k.Key(), len(k.Cases))
		for _, m := range targets[i].Modules { // every module supplied loaded
			assert.Assert(t, slices.Contains(k.Env.Modules, m.Name), "%s: module %s not loaded: %v", k.Key(), m.Name, k.Env.Modules)
		}
		for _, c := range k.Cases {
			assert.Assert(t, c.Verdict == results.Pass || c.Verdict == results.Skip || c.Verdict == results.Known || c.Verdict == results.Warn, "%s %s: %s expected %s observed %s", k.Key(), c.ID(), c.Verdict, c.Expected, c.Observed)
		}
	}
	assert.Assert(t, run.Passed(false), "the matrix has failing or broken cells")

	// One kernel alone boots its two passes in two VMs at once: the same
	// records, the same verdicts, as the matrix's one boot gave.
	alone, err := Run(ctx, Config{Parallel: 2, OutDir: filepath.Join(t.TempDir(), "alone")}, targets[:1])
	assert.NilError(t, err)
	k := alone.Kernels[0]
	assert.Equal(t, k.Status, results.StatusComplete, k.Reason)
	assert.Equal(t, len(k.Attempts), 2)
	assert.Equal(t, k.Attempts[0].Pass+","+k.Attempts[1].Pass, "root,unpriv")
	verdicts := func(k results.KernelRun) map[string]results.Verdict {
		m := map[string]results.Verdict{}
		for _, c := range k.Cases {
			m[c.ID()+" "+c.Priv] = c.Verdict
		}
		return m
	}
	assert.DeepEqual(t, verdicts(k), verdicts(run.Kernels[0]))
}

// TestQEMUKilledMidRunIsRetried boots the 7.3 kernel with the base cases,
// kills its QEMU (by pid, SIGKILL) after 20 cases, and checks that the
// first attempt is judged broken with QEMU's death named, and that the
// retry ran to completion. It needs QEMU and the kernel (cached or from
// the mirror).
func TestQEMUKilledMidRunIsRetried(t *testing.T) {
	if os.Getenv("LLCONFORM_E2E") != "1" {
		t.Skip("VM end-to-end run: set LLCONFORM_E2E=1 (make test does)")
	}
	ctx := context.Background()
	f, err := kernels.NewFetcher()
	assert.NilError(t, err)
	e, ok := kernels.Lookup("7.3", arch.AMD64)
	assert.Assert(t, ok)
	k, err := f.Fetch(ctx, e)
	assert.NilError(t, err)
	dir := filepath.Join(t.TempDir(), "run")
	console := filepath.Join(dir, "console", "7.3_amd64.log")
	var once sync.Once
	var killed int
	var killErr error
	cfg := Config{Settings: protocol.Settings{Areas: []string{"base"}}, Parallel: 1, OutDir: dir}
	cfg.Progress = func(ev Event) {
		if ev.Kernel != "7.3/amd64" || ev.State != StateRunning || ev.Done < 20 {
			return
		}
		once.Do(func() {
			killed, killErr = qemuWriting(console)
			if killErr == nil {
				killErr = unix.Kill(killed, unix.SIGKILL)
			}
		})
	}
	run, err := Run(ctx, cfg, []Target{TargetOf(k)})
	assert.NilError(t, err)
	assert.NilError(t, killErr)
	assert.Assert(t, killed > 0, "the run never reached 20 cases")
	kr := run.Kernels[0]
	assert.Equal(t, len(kr.Attempts), 2, "%+v", kr.Attempts)
	first := kr.Attempts[0]
	t.Logf("attempt 1: %s: %s; attempt 2: %s", first.Status, first.Reason, kr.Attempts[1].Status)
	assert.Equal(t, first.Status, results.StatusBroken)
	assert.Assert(t, strings.HasPrefix(first.Reason, "no done record after "), first.Reason)
	assert.Assert(t, strings.HasSuffix(first.Reason, "; QEMU was killed by a signal from outside llconform (signal: killed)"), first.Reason)
	assert.Equal(t, kr.Attempts[1].Status, results.StatusComplete, kr.Attempts[1].Reason)
	assert.Equal(t, kr.Status, results.StatusComplete)
	assert.Assert(t, !run.Incomplete)
	assert.Equal(t, kr.Env.Suite, "trixie-backports")
	assert.Equal(t, kr.Attempts[1].ConsoleLog, filepath.Join("console", "7.3_amd64.attempt2.log"))
}

// qemuWriting finds the QEMU process whose console goes to the file.
func qemuWriting(console string) (int, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process ended
		}
		args := strings.Split(string(b), "\x00")
		if strings.HasSuffix(args[0], "qemu-system-x86_64") && slices.Contains(args, "file:"+console) {
			return strconv.Atoi(filepath.Base(filepath.Dir(p)))
		}
	}
	return 0, fmt.Errorf("no qemu-system-x86_64 writes %s", console)
}
