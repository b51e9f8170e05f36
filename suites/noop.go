package suites

import "fmt"

// harnessArea is the area of the no-op cases.
const harnessArea = "harness"

// NoopCases measure the harness itself: cases that do nothing, in each
// isolation, so that a run of them shows what a case costs before it does
// any work (llconform bench). They are not conformance cases: All does not
// list them.
func NoopCases() []Case {
	var out []Case
	for _, iso := range []struct {
		name string
		iso  Isolation
		n    int
	}{{"noop_thread", Thread, 200}, {"noop_process", Process, 20}} {
		for i := 1; i <= iso.n; i++ {
			out = append(out, Case{Area: harnessArea, Name: fmt.Sprintf("%s/%d", iso.name, i), Isolation: iso.iso,
				Want: allowed, Run: func(*T) string { return OK }})
		}
	}
	return out
}
