package results

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestBench(t *testing.T) {
	t0 := time.Unix(1000, 0)
	run := func(wall time.Duration, cpuMS int64, cases ...Case) *Run {
		return &Run{Started: t0, Finished: t0.Add(wall), Kernels: []KernelRun{{Name: "7.3", Status: StatusComplete,
			Timings: Timings{BootMS: 8000, SuitesMS: 1000, QEMUCPUMS: cpuMS}, Cases: cases}}}
	}
	floor := run(10*time.Second, 8000)
	overhead := run(12*time.Second, 10000,
		Case{Area: "harness", Name: "noop_thread/1", DurationUS: 2000}, Case{Area: "harness", Name: "noop_thread/2", DurationUS: 4000},
		Case{Area: "harness", Name: "noop_process/1", DurationUS: 90000})
	full := run(30*time.Second, 24000, Case{Area: "fs", Name: "a", DurationUS: 1500000}, Case{Area: "fs", Name: "b", DurationUS: 500000})
	full.Kernels[0].Timings.WallMS = 30000
	peer := run(60*time.Second, 50000, Case{Area: "selftests", Name: "fs_test/a.b", Verdict: Pass}, Case{Area: "selftests", Name: "fs_test/a.c", Verdict: Fail},
		Case{Area: "selftests", Name: "fs_test/a.d", Verdict: Skip}, Case{Area: "selftests", Name: "net_test", Verdict: Broken},
		Case{Area: "catalog", Name: "state", Verdict: Pass})
	peer.Kernels[0].Timings.WallMS = 40000
	b := NewBench(Phase{Run: floor}, Phase{Run: overhead}, Phase{Run: full}, Phase{Run: peer})
	assert.Equal(t, b.RatioWall, 3.0)
	assert.Equal(t, b.RatioCPU, 3.0)
	assert.Equal(t, b.ThreadCaseMS, 3.0)
	assert.Equal(t, b.ProcessCaseMS, 90.0)
	assert.Equal(t, b.RecordMS, (1000.0-96)/3)
	assert.Equal(t, b.AreaSeconds["7.3/amd64"]["fs"], 2.0)
	var s strings.Builder
	assert.NilError(t, b.Write(&s, []string{"fs"}, []string{"7.3/amd64"}))
	assert.Assert(t, strings.Contains(s.String(), "3.00x wall, 3.00x QEMU CPU"), s.String())
	assert.Assert(t, !strings.Contains(s.String(), "1.5x"), "the retired budget: %s", s.String())

	// Against the selftests: per kernel by the kernels' walls, in total by
	// the phases'; their results are the selftests' own, not the host's
	// catalog check.
	assert.Equal(t, b.RatioPeer, 0.5)
	assert.DeepEqual(t, b.PerKernel, []VsPeer{{Kernel: "7.3/amd64", WallS: 30, Results: 2, PeerWallS: 40, PeerResults: 4, Ratio: 0.75,
		CPUS: 24, PeerCPUS: 50, RatioCPU: 0.48, PeerPass: 1, PeerFail: 1, PeerSkip: 1, PeerBroken: 1, PeerKernelStatus: StatusComplete}})
	assert.Assert(t, strings.Contains(s.String(), "7.3/amd64          llconform 30.0 s (2 results, 0/s)  selftests 40.0 s (4 results, 0/s)  ratio 0.75x  (QEMU CPU 0.48x)  selftests: 1 pass, 1 fail, 1 skip, 1 broken\n"), s.String())
	assert.Assert(t, strings.Contains(s.String(), "total (1 kernels)  llconform 30.0 s (2 results, 0/s)  selftests 60.0 s (4 results, 0/s)  ratio 0.50x  (target: 7.3 <= 0.4x, total <= 0.5x)\n"), s.String())

	// A bench run in rounds gives each phase the sum of its rounds' walls.
	b = NewBench(Phase{Run: floor, Wall: 4 * time.Second}, Phase{Run: overhead}, Phase{Run: full, Wall: 18 * time.Second}, Phase{Run: peer, Wall: 36 * time.Second})
	assert.Equal(t, b.RatioWall, 4.5)
	assert.Equal(t, b.RatioPeer, 0.5)
}
