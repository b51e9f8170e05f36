package results

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
)

// StateCase checks a kernel's Landlock state and ABI against what was
// promised for it (a catalog entry, or --expect-abi), as a case of its
// own so that a mismatch is a failing cell, not a footnote. It has no
// case when nothing was promised or the kernel said nothing.
func StateCase(state landlock.State, abi *int, env Env) (Case, bool) {
	if state == "" || env.LandlockStatus == "" {
		return Case{}, false
	}
	describe := func(state landlock.State, abi *int) string {
		if state == landlock.Enabled && abi != nil {
			return fmt.Sprintf("enabled ABI %d", *abi)
		}
		return string(state)
	}
	var observed *int
	if abi != nil {
		observed = &env.ABI
	}
	c := Case{Area: "base", Name: "catalog/landlock_state_and_abi", Priv: "host",
		Expected: describe(state, abi), Observed: describe(env.LandlockStatus, observed)}
	c.Verdict = Pass
	if c.Expected != c.Observed {
		c.Verdict = Fail
		c.Detail = "the kernel does not report the Landlock state and ABI promised for it"
	}
	return c, true
}
