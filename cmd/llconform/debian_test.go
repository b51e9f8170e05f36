package main

import (
	"errors"
	"testing"

	"github.com/llconform/llconform/kernels"
	"gotest.tools/v3/assert"
)

// matrix --kernels mixes catalog names and Debian packages; commands
// that take only the catalog say so.
func TestCatalogFlagsDebian(t *testing.T) {
	c := catalogFlags{withDebian: true, only: listFlag{"debian:linux-image-7.3.4+deb13-rt-amd64", "6.12"}}
	es, err := c.entries()
	assert.NilError(t, err)
	assert.Equal(t, len(es), 1)
	assert.Equal(t, es[0].Name, "6.12")
	assert.DeepEqual(t, c.debian, []kernels.DebianSpec{{Package: "linux-image-7.3.4+deb13-rt-amd64"}})

	c = catalogFlags{withDebian: true, only: listFlag{"debian:linux-binary-7.2.6+deb13-cloud-amd64=7.2.6-1~bpo13+1"}}
	es, err = c.entries()
	assert.NilError(t, err)
	assert.Equal(t, len(es), 0, "Debian packages alone are not the whole catalog")

	var ue usageError
	for _, c := range []catalogFlags{
		{only: listFlag{"debian:linux-image-7.3.4+deb13-rt-amd64"}},
		{withDebian: true, only: listFlag{"debian:linux-headers-7.3.4+deb13-rt-amd64"}},
	} {
		_, err := c.entries()
		assert.Assert(t, errors.As(err, &ue), "%v", err)
	}
}

func TestPairFlag(t *testing.T) {
	var p pairFlag
	assert.NilError(t, p.Set("7.2=7.2.6+deb13-cloud=7.2.6-1~bpo13+1"))
	assert.DeepEqual(t, p, pairFlag{{"7.2", "7.2.6+deb13-cloud=7.2.6-1~bpo13+1"}})
	var ue usageError
	assert.Assert(t, errors.As(p.Set("7.2"), &ue))
	assert.Assert(t, errors.As(p.Set("=7.3"), &ue))
}
