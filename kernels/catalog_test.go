package kernels

import (
	"regexp"
	"strings"
	"testing"

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
	assert.Equal(t, len(Catalog()), len(want))
	assert.DeepEqual(t, Names(), []string{"5.10", "6.1", "6.12", "6.12-nolandlock", "6.18", "7.0", "7.1", "7.2", "7.3"})
	for _, e := range Catalog() {
		w := want[e.Name]
		assert.DeepEqual(t, e.Suites, w.suites)
		assert.Equal(t, e.Status, w.status, e.Name)
		assert.Equal(t, e.ABI, w.abi, e.Name)
	}
	e, ok := Lookup("6.12-nolandlock")
	assert.Assert(t, ok)
	six12, _ := Lookup("6.12")
	assert.Equal(t, e.Package, six12.Package, "the same kernel, booted differently")
	assert.Assert(t, strings.HasPrefix(e.Cmdline, "lsm=") && !strings.Contains(e.Cmdline, "landlock"))
	_, ok = Lookup("4.19")
	assert.Assert(t, !ok)

	// Catalog returns a copy.
	c := Catalog()
	c[0].Name = "changed"
	assert.Equal(t, Catalog()[0].Name, "5.10")
}

// TestCatalogPatterns pins each pattern to real package names of the
// archive, and away from the unsigned, debug and non-cloud variants.
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
			[]string{"linux-binary-unsigned-7.0.13+deb13-cloud-amd64", "linux-binary-7.0.13+deb13-amd64"}},
		"7.1": {[]string{"linux-binary-7.1.13+deb13-cloud-amd64"},
			[]string{"linux-binary-7.10.1+deb13-cloud-amd64"}},
		"7.2": {[]string{"linux-binary-7.2.12+deb13-cloud-amd64"},
			[]string{"linux-binary-unsigned-7.2.11+deb13-amd64"}},
		"7.3": {[]string{"linux-binary-7.3.4+deb13-cloud-amd64", "linux-binary-7.3-cloud-amd64"},
			[]string{"linux-binary-unsigned-7.3-amd64", "linux-binary-7.3.4+deb13-amd64", "linux-binary-7.30.1+deb13-cloud-amd64",
				"linux-binary-unsigned-7.3.4+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-arm64"}},
	} {
		e, ok := Lookup(name)
		assert.Assert(t, ok, name)
		re := regexp.MustCompile(e.Package)
		for _, m := range tc.match {
			assert.Assert(t, re.MatchString(m), "%s should match %s", name, m)
		}
		for _, r := range tc.reject {
			assert.Assert(t, !re.MatchString(r), "%s should not match %s", name, r)
		}
	}
}

func TestCatalogChecks(t *testing.T) {
	for _, bad := range []string{
		`[{"name": "a", "suites": ["s"], "package": "(", "status": "enabled", "abi": 1}]`,
		`[{"name": "a", "suites": ["s"], "package": "x", "status": "on", "abi": 1}]`,
		`[{"name": "a", "suites": ["s"], "package": "x", "status": "enabled", "abi": 0}]`,
		`[{"name": "a", "suites": ["s"], "package": "x", "status": "absent", "abi": 3}]`,
		`[{"name": "a", "suites": [], "package": "x", "status": "absent"}]`,
		`[{"name": "a", "suites": ["s", ""], "package": "x", "status": "absent"}]`,
		`[{"name": "a", "suite": "s", "package": "x", "status": "absent"}]`,
		`[{"name": "a", "suites": ["s"], "package": "x", "status": "absent"}, {"name": "a", "suites": ["s"], "package": "x", "status": "absent"}]`,
		`{`,
	} {
		func() {
			defer func() { assert.Assert(t, recover() != nil, bad) }()
			mustCatalog([]byte(bad))
		}()
	}
}
