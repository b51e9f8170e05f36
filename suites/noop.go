package suites

import (
	"fmt"

	"github.com/llconform/llconform/suites/check"
)

// harnessArea is the area of the no-op cases.
const harnessArea = "harness"

// NoopCases measure the harness itself: cases that do nothing, in each
// isolation, so that a run of them shows what a case costs before it does
// any work (llconform bench). They are not conformance cases: All does not
// list them.
func NoopCases() []check.Case {
	var out []check.Case
	for _, iso := range []struct {
		name string
		iso  check.Isolation
		n    int
	}{{"noop_thread", check.Thread, 200}, {"noop_process", check.Process, 20}} {
		for i := 1; i <= iso.n; i++ {
			out = append(out, check.Case{Area: harnessArea, Name: fmt.Sprintf("%s/%d", iso.name, i), Isolation: iso.iso,
				Want: check.Allowed, Run: func(*check.T) string { return check.OK }})
		}
	}
	return out
}
