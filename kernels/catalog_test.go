package kernels

import (
	"regexp"
	"strings"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
)

func TestCatalog(t *testing.T) {
	want := map[string]struct {
		suites []string
		status landlock.State
		abi    int
	}{
		"5.10":            {[]string{"bullseye"}, landlock.Absent, 0},
		"6.1":             {[]string{"bookworm"}, landlock.Enabled, 2},
		"6.12":            {[]string{"trixie"}, landlock.Enabled, 6},
		"6.12-nolandlock": {[]string{"trixie"}, landlock.Disabled, 0},
		"6.18":            {[]string{"trixie-backports"}, landlock.Enabled, 7},
		"7.0":             {[]string{"trixie-backports"}, landlock.Enabled, 8},
		"7.1":             {[]string{"trixie-backports"}, landlock.Enabled, 9},
		"7.2":             {[]string{"trixie-backports"}, landlock.Enabled, 10},
		// Released 7.3.x is in trixie-backports; experimental's 7.3~rc7
		// (index expired 2026-11-06) only counts while no release exists.
		"7.3": {[]string{"trixie-backports", "experimental"}, landlock.Enabled, 11},
	}
	names := []string{"5.10", "6.1", "6.12", "6.12-nolandlock", "6.18", "7.0", "7.1", "7.2", "7.3"}
	assert.DeepEqual(t, Names(), names)
	for _, arch := range arch.All {
		assert.Equal(t, len(Catalog(arch)), len(want), arch)
		for i, e := range Catalog(arch) {
			w := want[e.Name]
			assert.Equal(t, e.Name, names[i], "the same series in the same order on %s", arch)
			assert.Equal(t, e.Arch, arch)
			assert.DeepEqual(t, e.Suites, w.suites)
			assert.Equal(t, e.Status, w.status, e.Name)
			assert.Equal(t, e.ABI, w.abi, e.Name)
			assert.Assert(t, strings.Contains(e.Package, "-cloud-"+string(arch)), "%s %s: %s", e.Name, arch, e.Package)
		}
		e, ok := Lookup("6.12-nolandlock", arch)
		assert.Assert(t, ok)
		six12, _ := Lookup("6.12", arch)
		assert.Equal(t, e.Package, six12.Package, "the same kernel, booted differently")
		assert.Assert(t, strings.HasPrefix(e.Cmdline, "lsm=") && !strings.Contains(e.Cmdline, "landlock"))
		_, ok = Lookup("4.19", arch)
		assert.Assert(t, !ok)
	}
	_, ok := Lookup("7.3", "riscv64")
	assert.Assert(t, !ok, "no catalog for an architecture llconform does not boot")
	assert.Equal(t, len(Catalog("riscv64")), 0)
	_, err := arch.Parse("x86_64")
	assert.ErrorContains(t, err, "want one of amd64, arm64")

	// Catalog returns a copy.
	c := Catalog(arch.AMD64)
	c[0].Name = "changed"
	c[0].Suites[0] = "changed"
	assert.Equal(t, Catalog(arch.AMD64)[0].Name, "5.10")
	assert.Equal(t, Catalog(arch.AMD64)[0].Suites[0], "bullseye")
}

// TestCatalogPatterns pins each pattern to real package names of the
// archive, and away from the unsigned, debug and non-cloud variants and
// from the other architecture. From 6.19 on, arm64's linux-image-* is a
// metapackage without a kernel (the kernel is in linux-binary-*): no
// linux-image pattern may match one of those.
func TestCatalogPatterns(t *testing.T) {
	for name, tc := range map[string]struct{ match, reject []string }{
		"5.10": {[]string{"linux-image-5.10.0-32-cloud-amd64"},
			[]string{"linux-image-5.10.0-32-cloud-amd64-dbg", "linux-image-5.10.0-32-amd64", "linux-image-5.10.0-32-cloud-amd64-unsigned"}},
		"6.1": {[]string{"linux-image-6.1.0-50-cloud-amd64"},
			[]string{"linux-image-6.1.0-50-cloud-amd64-unsigned", "linux-image-6.10.0-1-cloud-amd64"}},
		"6.12": {[]string{"linux-image-6.12.107+deb13-cloud-amd64"},
			[]string{"linux-image-6.12.107+deb13-cloud-amd64-unsigned", "linux-image-6.12.107+deb13-amd64", "linux-image-6.12.107+deb13-cloud-amd64-dbg"}},
		"6.18": {[]string{"linux-image-6.18.15+deb13-cloud-amd64"},
			[]string{"linux-image-6.18.15+deb13-cloud-amd64-unsigned", "linux-image-6.1.8+deb13-cloud-amd64"}},
		"7.0": {[]string{"linux-binary-7.0.13+deb13-cloud-amd64"},
			[]string{"linux-binary-unsigned-7.0.13+deb13-cloud-amd64", "linux-binary-7.0.13+deb13-amd64", "linux-image-7.0.13+deb13-cloud-amd64"}},
		"7.1": {[]string{"linux-binary-7.1.13+deb13-cloud-amd64"},
			[]string{"linux-binary-7.10.1+deb13-cloud-amd64"}},
		"7.2": {[]string{"linux-binary-7.2.12+deb13-cloud-amd64"},
			[]string{"linux-binary-unsigned-7.2.11+deb13-amd64"}},
		"7.3": {[]string{"linux-binary-7.3.4+deb13-cloud-amd64", "linux-binary-7.3-cloud-amd64"},
			[]string{"linux-binary-unsigned-7.3-amd64", "linux-binary-7.3.4+deb13-amd64", "linux-binary-7.30.1+deb13-cloud-amd64",
				"linux-binary-unsigned-7.3.4+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-arm64"}},
	} {
		e, ok := Lookup(name, arch.AMD64)
		assert.Assert(t, ok, name)
		re := regexp.MustCompile(e.Package)
		for _, m := range tc.match {
			assert.Assert(t, re.MatchString(m), "%s should match %s", name, m)
		}
		for _, r := range tc.reject {
			assert.Assert(t, !re.MatchString(r), "%s should not match %s", name, r)
		}
	}
	// The newest cloud-arm64 package of each series in the index
	// (2026-11-30), and its neighbours.
	for name, tc := range map[string]struct{ match, reject []string }{
		"5.10": {[]string{"linux-image-5.10.0-32-cloud-arm64", "linux-image-5.10.0-30-cloud-arm64"},
			[]string{"linux-image-5.10.0-32-cloud-arm64-unsigned", "linux-image-5.10.0-32-cloud-amd64", "linux-image-5.10.0-32-arm64"}},
		"6.1": {[]string{"linux-image-6.1.0-50-cloud-arm64"},
			[]string{"linux-image-6.1.0-50-cloud-arm64-unsigned", "linux-image-6.1.0-50-cloud-amd64"}},
		"6.12": {[]string{"linux-image-6.12.117+deb13-cloud-arm64"},
			[]string{"linux-image-6.12.117+deb13-cloud-arm64-unsigned", "linux-image-6.12.117+deb13-cloud-amd64", "linux-image-6.12.117+deb13-arm64-16k"}},
		"6.12-nolandlock": {[]string{"linux-image-6.12.117+deb13-cloud-arm64"}, nil},
		"6.18": {[]string{"linux-image-6.18.15+deb13-cloud-arm64"},
			[]string{"linux-image-6.18.15+deb13-cloud-amd64", "linux-image-6.19.14+deb13-cloud-arm64"}},
		"7.0": {[]string{"linux-binary-7.0.13+deb13-cloud-arm64"},
			[]string{"linux-image-7.0.13+deb13-cloud-arm64", "linux-binary-7.0.13+deb13-cloud-amd64"}},
		"7.1": {[]string{"linux-binary-7.1.13+deb13-cloud-arm64"},
			[]string{"linux-image-7.1.13+deb13-cloud-arm64"}},
		"7.2": {[]string{"linux-binary-7.2.12+deb13-cloud-arm64"},
			[]string{"linux-binary-unsigned-7.2.12+deb13-cloud-arm64", "linux-image-7.2.12+deb13-cloud-arm64"}},
		"7.3": {[]string{"linux-binary-7.3.4+deb13-cloud-arm64", "linux-binary-7.3-cloud-arm64"},
			[]string{"linux-binary-unsigned-7.3.4+deb13-cloud-arm64", "linux-image-7.3.4+deb13-cloud-arm64", "linux-binary-7.3.4+deb13-cloud-amd64"}},
	} {
		e, ok := Lookup(name, arch.ARM64)
		assert.Assert(t, ok, name)
		re := regexp.MustCompile(e.Package)
		for _, m := range tc.match {
			assert.Assert(t, re.MatchString(m), "%s arm64 should match %s", name, m)
		}
		for _, r := range tc.reject {
			assert.Assert(t, !re.MatchString(r), "%s arm64 should not match %s", name, r)
		}
	}
}

func TestCatalogChecks(t *testing.T) {
	for _, bad := range []string{
		`[{"name": "a", "suites": ["s"], "packages": {"amd64": "(amd64"}, "status": "enabled", "abi": 1}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"amd64": "amd64"}, "status": "on", "abi": 1}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"amd64": "amd64"}, "status": "enabled", "abi": 0}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"amd64": "amd64"}, "status": "absent", "abi": 3}]`,
		`[{"name": "a", "suites": [], "packages": {"amd64": "amd64"}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s", ""], "packages": {"amd64": "amd64"}, "status": "absent"}]`,
		`[{"name": "a", "suite": "s", "packages": {"amd64": "amd64"}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "package": "amd64", "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "packages": {}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"x86_64": "x86_64"}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"arm64": "^linux-image-6\\.1-cloud-amd64$"}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"amd64": "amd64"}, "status": "absent"}, {"name": "a", "suites": ["s"], "packages": {"arm64": "arm64"}, "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "packages": {"arm64": "^x-arm64$"}, "status": "absent"}]`, // no flavour to replace
		`{`,
	} {
		func() {
			defer func() { assert.Assert(t, recover() != nil, bad) }()
			mustCatalog([]byte(bad))
		}()
	}
	good := mustCatalog([]byte(`[{"name": "a", "suites": ["s"], "packages": {"arm64": "^x-cloud-arm64$"}, "status": "absent"}]`))
	assert.Equal(t, len(good), 1, "a series may exist for one architecture only")
}
