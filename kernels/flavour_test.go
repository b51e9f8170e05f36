package kernels

import (
	"regexp"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
)

// Every flavour of a series matches its own package of the index and no
// other flavour's, and keeps the series' expectation.
func TestFlavoured(t *testing.T) {
	names := map[string]map[arch.Arch]string{ // flavour -> arch -> a package of the index
		FlavourCloud:   {arch.AMD64: "linux-binary-7.3.4+deb13-cloud-amd64", arch.ARM64: "linux-binary-7.3.4+deb13-cloud-arm64"},
		FlavourGeneric: {arch.AMD64: "linux-binary-7.3.4+deb13-amd64", arch.ARM64: "linux-binary-7.3.4+deb13-arm64"},
		FlavourRT:      {arch.AMD64: "linux-binary-7.3.4+deb13-rt-amd64", arch.ARM64: "linux-binary-7.3.4+deb13-rt-arm64"},
	}
	for _, arch := range arch.All {
		base, ok := Lookup("7.3", arch)
		assert.Assert(t, ok)
		assert.Equal(t, base.Flavour, FlavourCloud)
		for _, f := range Flavours {
			e, err := base.Flavoured(f)
			assert.NilError(t, err)
			assert.Equal(t, e.Flavour, f)
			assert.Equal(t, e.ABI, base.ABI)
			assert.Equal(t, e.Status, base.Status)
			re := regexp.MustCompile(e.Package)
			for other, pkgs := range names {
				assert.Equal(t, re.MatchString(pkgs[arch]), other == f, "%s %s pattern %s, package %s", f, arch, e.Package, pkgs[arch])
			}
			assert.Assert(t, !re.MatchString("linux-binary-unsigned-7.3.4+deb13-"+f+"-"+string(arch)))
			want := "7.3-" + f
			if f == FlavourCloud {
				want = "7.3"
			}
			assert.Equal(t, e.Name, want)
			got, ok := LookupFlavoured(want, arch)
			assert.Assert(t, ok)
			assert.DeepEqual(t, got, e)
			// Back to the default from another flavour.
			back, err := e.Flavoured(FlavourCloud)
			assert.NilError(t, err)
			assert.DeepEqual(t, back, base)
		}
	}
	six, _ := Lookup("6.1", arch.AMD64)
	rt, err := six.Flavoured(FlavourRT)
	assert.NilError(t, err)
	assert.Assert(t, regexp.MustCompile(rt.Package).MatchString("linux-image-6.1.0-50-rt-amd64"))
	_, err = six.Flavoured("lowlatency")
	assert.ErrorContains(t, err, "want one of cloud, generic, rt")
	_, ok := LookupFlavoured("7.3-lowlatency", arch.AMD64)
	assert.Assert(t, !ok)
	_, ok = LookupFlavoured("4.19-rt", arch.AMD64)
	assert.Assert(t, !ok)
}
