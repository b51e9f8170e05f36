package main

import (
	"errors"
	"testing"

	"github.com/llconform/llconform/kernels"
	"gotest.tools/v3/assert"
)

func TestFlavourFlag(t *testing.T) {
	var f flavourFlag
	err := f.Set("lowlatency")
	var ue usageError
	assert.Assert(t, errors.As(err, &ue), "an unknown flavour is bad usage (exit 2): %v", err)
	assert.ErrorContains(t, err, "want cloud, generic, rt or all")

	c := catalogFlags{only: listFlag{"6.12", "7.3"}}
	assert.NilError(t, c.flavour.Set("all"))
	es, err := c.entries()
	assert.NilError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name+"/"+e.Flavour)
	}
	assert.DeepEqual(t, names, []string{"6.12/cloud", "6.12-generic/generic", "6.12-rt/rt", "7.3/cloud", "7.3-generic/generic", "7.3-rt/rt"})

	c = catalogFlags{only: listFlag{"7.3-rt"}}
	es, err = c.entries()
	assert.NilError(t, err)
	assert.Equal(t, len(es), 1)
	assert.Equal(t, es[0].Flavour, kernels.FlavourRT)
}
