package arch

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseAndUname(t *testing.T) {
	a, err := Parse("arm64")
	assert.NilError(t, err)
	assert.Equal(t, a, ARM64)
	_, err = Parse("sparc")
	assert.ErrorContains(t, err, "want one of amd64, arm64")
	assert.Equal(t, Arch("").OrDefault(), AMD64)
	assert.Equal(t, ARM64.Uname(), "aarch64")
	got, ok := OfUname("x86_64")
	assert.Assert(t, ok)
	assert.Equal(t, got, AMD64)
	_, ok = OfUname("riscv64")
	assert.Assert(t, !ok)
}
