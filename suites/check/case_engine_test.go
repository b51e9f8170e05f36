package check

import (
	"testing"

	"gotest.tools/v3/assert"
)

// Cleanups run last in, first out, after the case, and after a panic too.
func TestExecuteRunsCleanupsInReverse(t *testing.T) {
	var order []string
	c := Case{Run: func(t *T) string {
		t.Cleanup(func() { order = append(order, "first") })
		t.Cleanup(func() { order = append(order, "second") })
		return OK
	}}
	assert.Equal(t, c.Execute(&T{}), OK)
	assert.DeepEqual(t, order, []string{"second", "first"})

	order = nil
	p := Case{Run: func(t *T) string {
		t.Cleanup(func() { order = append(order, "after panic") })
		panic("case bug")
	}}
	func() {
		defer func() { recover() }()
		p.Execute(&T{})
	}()
	assert.DeepEqual(t, order, []string{"after panic"})
}
