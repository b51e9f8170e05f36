package results

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestPassed(t *testing.T) {
	run := func(status Status, attempts int, vs ...Verdict) *Run {
		k := KernelRun{Name: "k", Status: status, Attempts: make([]Attempt, attempts)}
		for _, v := range vs {
			k.Cases = append(k.Cases, Case{Verdict: v})
		}
		return &Run{Kernels: []KernelRun{k}}
	}
	for _, tc := range []struct {
		name           string
		run            *Run
		normal, strict bool
	}{
		{"pass and skip", run(StatusComplete, 1, Pass, Skip), true, true},
		{"known passes, also strict", run(StatusComplete, 1, Pass, Known), true, true},
		{"warn passes, strict fails", run(StatusComplete, 1, Pass, Warn), true, false},
		{"a retried kernel passes, strict fails", run(StatusComplete, 2, Pass), true, false},
		{"fail", run(StatusComplete, 1, Pass, Fail), false, false},
		{"broken case", run(StatusComplete, 1, Broken), false, false},
		{"unknown verdict", run(StatusComplete, 1, "weird"), false, false},
		{"broken kernel", run(StatusBroken, 2, Pass), false, false},
		{"interrupted kernel", run(StatusInterrupted, 1, Pass), false, false},
		{"kernel not run", run(StatusNotRun, 0), false, false},
		{"incomplete run", &Run{Incomplete: true}, false, false},
	} {
		assert.Equal(t, tc.run.Passed(false), tc.normal, tc.name)
		assert.Equal(t, tc.run.Passed(true), tc.strict, tc.name+" (strict)")
	}
}
