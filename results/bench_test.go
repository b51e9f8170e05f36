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
	b := NewBench(Phase{Run: floor}, Phase{Run: overhead}, Phase{Run: full})
	assert.Equal(t, b.RatioWall, 3.0)
	assert.Equal(t, b.RatioCPU, 3.0)
	assert.Equal(t, b.ThreadCaseMS, 3.0)
	assert.Equal(t, b.ProcessCaseMS, 90.0)
	assert.Equal(t, b.RecordMS, (1000.0-96)/3)
	assert.Equal(t, b.AreaSeconds["7.3/amd64"]["fs"], 2.0)
	var s strings.Builder
	assert.NilError(t, b.Write(&s, []string{"fs"}, []string{"7.3/amd64"}))
	assert.Assert(t, strings.Contains(s.String(), "3.00x wall, 3.00x QEMU CPU"), s.String())

	// A bench run in rounds gives each phase the sum of its rounds' walls.
	b = NewBench(Phase{Run: floor, Wall: 4 * time.Second}, Phase{Run: overhead}, Phase{Run: full, Wall: 18 * time.Second})
	assert.Equal(t, b.RatioWall, 4.5)
}
