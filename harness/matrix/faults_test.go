package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/fakeqemu"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// faultConfig is a matrix configuration for a fake QEMU: a ready
// initramfs (no agent build), one VM at a time.
func faultConfig(t *testing.T) Config {
	fakeqemu.Install(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "initramfs.cpio")
	assert.NilError(t, os.WriteFile(img, []byte("not used by the fake"), 0o644))
	return Config{Parallel: 1, MemoryMB: 64, Timeout: time.Minute, OutDir: filepath.Join(dir, "run"),
		Initramfs: map[arch.Arch]string{arch.AMD64: img, arch.ARM64: img}}
}

func target(t *testing.T, name, behaviour string) Target {
	return Target{Name: name, Image: fakeqemu.Kernel(t, behaviour), Package: "linux-fake", PackageVersion: "1", Suite: "fake-suite"}
}

func runOne(t *testing.T, behaviour string) (results.KernelRun, Config, Target) {
	cfg := faultConfig(t)
	tg := target(t, "k", behaviour)
	run, err := Run(context.Background(), cfg, []Target{tg})
	assert.NilError(t, err)
	assert.Equal(t, len(run.Kernels), 1)
	return run.Kernels[0], cfg, tg
}

func TestRunCompleteStream(t *testing.T) {
	k, cfg, tg := runOne(t, fakeqemu.Complete)
	assert.Equal(t, k.Status, results.StatusComplete, k.Reason)
	assert.Equal(t, len(k.Cases), fakeqemu.Cases)
	assert.Equal(t, len(k.Attempts), 1)
	assert.Equal(t, fakeqemu.Boots(t, tg.Image), 1)
	assert.Equal(t, k.Env.Release, "6.1.0-fake", "the guest's header")
	assert.Equal(t, k.Env.Suite, "fake-suite", "the host's facts merged in")
	assert.Equal(t, k.Env.PackageVersion, "1")
	log, err := os.ReadFile(filepath.Join(cfg.OutDir, k.Attempts[0].ConsoleLog))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(log), "Linux version 6.1.0-fake"))
}

func TestRunTruncatedStreamIsRetried(t *testing.T) {
	k, cfg, tg := runOne(t, fakeqemu.TruncateOnce)
	assert.Equal(t, fakeqemu.Boots(t, tg.Image), 2)
	assert.Equal(t, k.Status, results.StatusComplete, "the retry completed")
	assert.Equal(t, len(k.Cases), fakeqemu.Cases)
	assert.Equal(t, len(k.Attempts), 2, "both attempts are recorded")
	assert.Equal(t, k.Attempts[0].Status, results.StatusBroken)
	assert.Equal(t, k.Attempts[0].Reason, "no done record after 1 cases: crash, hang or truncated output")
	assert.Equal(t, k.Attempts[1].Status, results.StatusComplete)
	assert.Equal(t, k.Attempts[0].ConsoleLog, filepath.Join("console", "k_amd64.log"))
	assert.Equal(t, k.Attempts[1].ConsoleLog, filepath.Join("console", "k_amd64.attempt2.log"))
	for i, a := range k.Attempts {
		log, err := os.ReadFile(filepath.Join(cfg.OutDir, a.ConsoleLog))
		assert.NilError(t, err)
		assert.Assert(t, is.Contains(string(log), fmt.Sprintf("boot %d", i+1)), "each attempt keeps its own console")
	}

	k, _, tg = runOne(t, fakeqemu.Truncated)
	assert.Equal(t, fakeqemu.Boots(t, tg.Image), 2, "one retry, no more")
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, len(k.Attempts), 2)
	assert.Equal(t, k.Reason, "no done record after 1 cases: crash, hang or truncated output")
	assert.Equal(t, len(k.Cases), 1, "the partial cases are kept")
}

func TestRunQEMUKilledBySignal(t *testing.T) {
	k, _, _ := runOne(t, fakeqemu.Killed)
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, len(k.Attempts), 2)
	for _, a := range k.Attempts {
		assert.Equal(t, a.Reason, "no done record after 1 cases: crash, hang or truncated output; QEMU was killed by a signal from outside llconform (signal: killed)")
	}
}

// A guest that delivered its whole stream and then halted instead of
// powering off (x86 without ACPI) is stopped after the grace period, not
// at the timeout, and not retried: its run is complete and says why it
// was stopped.
func TestRunGuestThatHaltsAfterItsDoneRecord(t *testing.T) {
	cfg := faultConfig(t)
	cfg.Grace = 300 * time.Millisecond
	tg := target(t, "k", fakeqemu.Halt)
	start := time.Now()
	run, err := Run(context.Background(), cfg, []Target{tg})
	assert.NilError(t, err)
	took := time.Since(start)
	k := run.Kernels[0]
	assert.Equal(t, k.Status, results.StatusComplete, k.Reason)
	assert.Equal(t, len(k.Cases), fakeqemu.Cases)
	assert.Equal(t, fakeqemu.Boots(t, tg.Image), 1, "no retry")
	assert.Assert(t, took < cfg.Timeout/4, "took %v: waited for the timeout", took)
	assert.DeepEqual(t, k.Notes, []string{"the kernel could not power off (CONFIG_ACPI on x86?): it halted instead; llconform stopped it 300ms after its done record"})
	assert.Assert(t, run.Passed(true))

	// A guest that hangs before its done record still waits for the
	// timeout: only a finished stream is stopped early.
	cfg = faultConfig(t)
	cfg.Grace, cfg.Timeout = 100*time.Millisecond, 2*time.Second
	run, err = Run(context.Background(), cfg, []Target{target(t, "k", fakeqemu.Hang)})
	assert.NilError(t, err)
	assert.Equal(t, run.Kernels[0].Status, results.StatusBroken)
	assert.Equal(t, run.Kernels[0].Reason, "timed out after 2s (killed) with 1 cases received")
	assert.Equal(t, len(run.Kernels[0].Notes), 0)
}

func TestRunGuestResetBeforePrinting(t *testing.T) {
	k, _, _ := runOne(t, fakeqemu.Reset)
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, k.Reason, fmt.Sprintf("the guest reset before its kernel printed anything (QEMU exited 0, empty console, no header) with 64 MiB: "+
		"too little memory? the catalog kernels need at least %d MiB (--memory)", vm.MinMemoryMB))
}

func TestRunKernelPanicOnConsole(t *testing.T) {
	k, _, _ := runOne(t, fakeqemu.Panic)
	assert.Equal(t, k.Status, results.StatusBroken)
	assert.Equal(t, k.Reason, "guest kernel trouble: [    1.234567] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b")
	assert.Assert(t, is.Contains(k.Attempts[0].ConsoleTail, "Kernel panic"))
}

func TestRunCancelledBeforeStart(t *testing.T) {
	cfg := faultConfig(t)
	ts := []Target{target(t, "a", fakeqemu.Complete), target(t, "b", fakeqemu.Complete)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var mu sync.Mutex
	var states []State
	cfg.Progress = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		states = append(states, e.State)
	}
	run, err := Run(ctx, cfg, ts)
	assert.NilError(t, err)
	assert.Assert(t, run.Incomplete)
	for i, k := range run.Kernels {
		assert.Equal(t, k.Status, results.StatusNotRun, k.Name)
		assert.Equal(t, k.Reason, "the run was interrupted before this kernel started")
		assert.Equal(t, len(k.Attempts), 0)
		assert.Equal(t, fakeqemu.Boots(t, ts[i].Image), 0, "no VM starts after a cancel")
	}
	assert.DeepEqual(t, states, []State{StateNotRun, StateNotRun})
}

func TestRunCancelledDuringRun(t *testing.T) {
	cfg := faultConfig(t)
	ts := []Target{target(t, "hangs", fakeqemu.Hang), target(t, "later", fakeqemu.Complete)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = func(e Event) {
		if e.Kernel == "hangs/amd64" && e.State == StateRunning && e.Done == 1 {
			cancel() // like SIGINT once the first case has arrived
		}
	}
	run, err := Run(ctx, cfg, ts)
	assert.NilError(t, err)
	assert.Assert(t, run.Incomplete)
	hung, later := run.Kernels[0], run.Kernels[1]
	assert.Equal(t, hung.Status, results.StatusInterrupted)
	assert.Equal(t, hung.Reason, "the run was interrupted after 1 cases")
	assert.Equal(t, len(hung.Cases), 1, "the partial cases are kept")
	assert.Equal(t, len(hung.Attempts), 1, "no retry after a cancel")
	assert.Equal(t, fakeqemu.Boots(t, ts[0].Image), 1)
	assert.Equal(t, later.Status, results.StatusNotRun)
	assert.Equal(t, fakeqemu.Boots(t, ts[1].Image), 0, "no new VM starts after a cancel")
}

func TestRunCancelledBeforeTheRetry(t *testing.T) {
	cfg := faultConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg := target(t, "k", fakeqemu.Truncated)
	cfg.Progress = func(e Event) {
		if e.Kernel == "k/amd64" && e.State == StateRunning && e.Done == 1 {
			cancel() // the first boot ends broken with the run cancelled
		}
	}
	run, err := Run(ctx, cfg, []Target{tg})
	assert.NilError(t, err)
	k := run.Kernels[0]
	assert.Assert(t, run.Incomplete)
	assert.Equal(t, fakeqemu.Boots(t, tg.Image), 1)
	assert.Equal(t, k.Status, results.StatusInterrupted)
	assert.Equal(t, len(k.Cases), 1)
	assert.Assert(t, is.Len(k.Attempts, 1))
	assert.Assert(t, strings.HasPrefix(k.Reason, "the run was interrupted"), k.Reason)
}

func TestRunCompleteRunIsNotIncomplete(t *testing.T) {
	cfg := faultConfig(t)
	run, err := Run(context.Background(), cfg, []Target{target(t, "a", fakeqemu.Complete), target(t, "b", fakeqemu.Truncated)})
	assert.NilError(t, err)
	assert.Assert(t, !run.Incomplete, "a broken kernel is a result, not a missing one")
}

// Two targets of one name (--kernel 7.3,7.3 is refused by the CLI, but a
// caller can still do it) never share a console log.
func TestRunDuplicateNamesWriteTheirOwnConsole(t *testing.T) {
	cfg := faultConfig(t)
	cfg.Parallel = 2
	ts := []Target{target(t, "7.3", fakeqemu.Complete), target(t, "7.3", fakeqemu.Complete), target(t, "7.3-2", fakeqemu.Complete)}
	run, err := Run(context.Background(), cfg, ts)
	assert.NilError(t, err)
	seen := map[string]bool{}
	for i, k := range run.Kernels {
		log := k.Attempts[0].ConsoleLog
		assert.Assert(t, !seen[log], "%s is written twice", log)
		seen[log] = true
		b, err := os.ReadFile(filepath.Join(cfg.OutDir, log))
		assert.NilError(t, err)
		assert.Assert(t, is.Contains(string(b), ts[i].Image), "%s holds another VM's console", log)
	}
	assert.DeepEqual(t, consoleNames(ts), []string{"7.3_amd64", "7.3_amd64-2", "7.3-2_amd64"})
	assert.DeepEqual(t, consoleNames([]Target{{Name: "a/b"}, {Name: "a:b"}}), []string{"a_b_amd64", "a_b_amd64-2"})
}

// One matrix of both architectures: each target boots its own QEMU with
// its own initramfs, console and result port on the agent's command line,
// and its kernel run records the architecture; the same series on both
// never share a console log.
func TestRunBothArchitectures(t *testing.T) {
	cfg := faultConfig(t)
	dir := t.TempDir()
	cfg.Initramfs = map[arch.Arch]string{arch.AMD64: filepath.Join(dir, "amd64.cpio"), arch.ARM64: filepath.Join(dir, "arm64.cpio")}
	cfg.MemoryMB = 0
	x86 := target(t, "7.3", fakeqemu.Complete)
	arm := target(t, "7.3", fakeqemu.Complete)
	arm.Arch = "arm64"
	var mu sync.Mutex
	var events []string
	cfg.Progress = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.State == StateBooting {
			events = append(events, e.Kernel)
		}
	}
	run, err := Run(context.Background(), cfg, []Target{x86, arm})
	assert.NilError(t, err)
	assert.Equal(t, run.Kernels[0].Arch, arch.AMD64)
	assert.Equal(t, run.Kernels[1].Arch, arch.ARM64)
	assert.Equal(t, run.Kernels[1].Status, results.StatusComplete, run.Kernels[1].Reason)
	assert.Equal(t, run.Kernels[1].Env.CPU, "max,pauth=off")
	assert.Equal(t, run.Kernels[1].Attempts[0].ConsoleLog, filepath.Join("console", "7.3_arm64.log"))
	assert.DeepEqual(t, events, []string{"7.3/amd64", "7.3/arm64"})

	a := fakeqemu.Args(t, x86.Image)
	assert.Assert(t, strings.HasPrefix(a, "qemu-system-x86_64 "), a)
	assert.Assert(t, is.Contains(a, "-m 512 "))
	assert.Assert(t, is.Contains(a, "-initrd "+cfg.Initramfs["amd64"]))
	assert.Assert(t, is.Contains(a, "llconform.port=/dev/ttyS1"))
	a = fakeqemu.Args(t, arm.Image)
	assert.Assert(t, strings.HasPrefix(a, "qemu-system-aarch64 -machine virt "), a)
	assert.Assert(t, is.Contains(a, "-m 256 "))
	assert.Assert(t, is.Contains(a, "-initrd "+cfg.Initramfs["arm64"]))
	assert.Assert(t, is.Contains(a, "console=ttyAMA0 "))
	assert.Assert(t, is.Contains(a, "llconform.port=/dev/ttyS0"))
}

// A guest of another architecture than the target's is flagged.
func TestArchitectureMismatchIsFlagged(t *testing.T) {
	tg := Target{Name: "7.3", Arch: "arm64"}
	kr := results.KernelRun{Env: results.Env{LandlockStatus: "enabled", ABI: 11, Arch: "x86_64"}}
	assert.DeepEqual(t, flags(tg, kr), []string{"architecture mismatch: booted as arm64 (aarch64), the guest reports x86_64"})
	kr.Env.Arch = "aarch64"
	assert.Assert(t, is.Len(flags(tg, kr), 0))
}

// Debian's modules load only with the signature the guest kernel checks;
// a user's own build's modules are not Debian's and load without.
func TestRunModuleSignaturesOnlyForCatalogModules(t *testing.T) {
	ko := filepath.Join(t.TempDir(), "overlay.ko")
	assert.NilError(t, os.WriteFile(ko, []byte("a module"), 0o644))
	for _, own := range []bool{false, true} {
		cfg := faultConfig(t)
		tg := target(t, "k", fakeqemu.Complete)
		tg.Modules, tg.OwnModules = []kernels.Module{{Name: "overlay", Path: ko}}, own
		run, err := Run(context.Background(), cfg, []Target{tg})
		assert.NilError(t, err)
		assert.Equal(t, run.Kernels[0].Status, results.StatusComplete, run.Kernels[0].Reason)
		assert.Equal(t, strings.Contains(fakeqemu.Args(t, tg.Image), "module.sig_enforce=1"), !own, "own modules: %v", own)
	}
}
