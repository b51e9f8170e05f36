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
	expected, observed := stateAndABI(state, abi, env)
	c := Case{Area: "base", Name: "catalog/landlock_state_and_abi", Priv: "host",
		Expected: expected, Observed: observed, Verdict: Pass}
	if expected != observed {
		c.Verdict = Fail
		c.Detail = "the kernel does not report the Landlock state and ABI promised for it"
	}
	return c, true
}

// StateMismatch says how the kernel's Landlock state and ABI differ from
// the promised ones, "" when they agree (or nothing was promised).
func StateMismatch(state landlock.State, abi *int, env Env) string {
	if state == "" || env.LandlockStatus == "" {
		return ""
	}
	if expected, observed := stateAndABI(state, abi, env); expected != observed {
		return fmt.Sprintf("Landlock state and ABI mismatch: expected %s, the kernel reports %s", expected, observed)
	}
	return ""
}

// stateAndABI renders the promise and the kernel's report alike: "enabled
// ABI 7", "disabled", "absent" (the ABI only where one was promised).
func stateAndABI(state landlock.State, abi *int, env Env) (expected, observed string) {
	describe := func(state landlock.State, abi *int) string {
		if state == landlock.Enabled && abi != nil {
			return fmt.Sprintf("enabled ABI %d", *abi)
		}
		return string(state)
	}
	var seen *int
	if abi != nil {
		seen = &env.ABI
	}
	return describe(state, abi), describe(env.LandlockStatus, seen)
}
