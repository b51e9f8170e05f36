package role

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestEnvironDropsEveryOtherRole(t *testing.T) {
	Register("LLCONFORM_TEST_ROLE_A", func(string) int { return 0 })
	Register("LLCONFORM_TEST_ROLE_B", func(string) int { return 0 })
	got := Environ([]string{"PATH=/bin", "LLCONFORM_TEST_ROLE_A=parent", "HOME=/"}, "LLCONFORM_TEST_ROLE_B", "child")
	assert.DeepEqual(t, got, []string{"PATH=/bin", "HOME=/", "LLCONFORM_TEST_ROLE_B=child"})
	assert.Assert(t, func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		Register("LLCONFORM_TEST_ROLE_A", func(string) int { return 0 })
		return false
	}(), "a role registered twice must panic")
}
