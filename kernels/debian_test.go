package kernels

import (
	"context"
	"errors"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParsePackageName(t *testing.T) {
	for name, want := range map[string]PackageName{
		"linux-image-7.3.4+deb13-rt-amd64":           {Upstream: "7.3.4+deb13", Series: "7.3", Flavour: FlavourRT, Arch: arch.AMD64},
		"linux-binary-7.3.4+deb13-amd64":             {Upstream: "7.3.4+deb13", Series: "7.3", Flavour: FlavourGeneric, Arch: arch.AMD64},
		"linux-binary-7.3-cloud-arm64":               {Upstream: "7.3", Series: "7.3", Flavour: FlavourCloud, Arch: arch.ARM64},
		"linux-image-6.1.0-50-cloud-arm64":           {Upstream: "6.1.0-50", Series: "6.1", Flavour: FlavourCloud, Arch: arch.ARM64},
		"linux-image-7.3-arm64-16k":                  {Upstream: "7.3", Series: "7.3", Flavour: "16k", Arch: arch.ARM64},
		"linux-binary-unsigned-7.2.6+deb13-rt-amd64": {Upstream: "7.2.6+deb13", Series: "7.2", Flavour: FlavourRT, Arch: arch.AMD64, Unsigned: true},
		"linux-image-6.12.117+deb13-amd64-unsigned":  {Upstream: "6.12.117+deb13", Series: "6.12", Flavour: FlavourGeneric, Arch: arch.AMD64, Unsigned: true},
	} {
		got, err := ParsePackageName(name)
		assert.NilError(t, err, name)
		assert.DeepEqual(t, got, want)
	}
	for name, msg := range map[string]string{
		"bash":                                 "not a kernel package",
		"linux-headers-7.3.4+deb13-rt-amd64":   "not a kernel package",
		"linux-image-amd64":                    "is a metapackage",
		"linux-image-cloud-amd64":              "is a metapackage",
		"linux-image-amd64-signed-template":    "is a metapackage",
		"linux-image-7.3.4+deb13-rt-amd64-dbg": "debug symbols",
		"linux-image-7.3.4+deb13-rt-armhf":     "no architecture llconform boots",
		"linux-image-7.3 x":                    "not a Debian package name",
	} {
		_, err := ParsePackageName(name)
		assert.Check(t, errors.As(err, new(InputError)), name)
		assert.Check(t, is.ErrorContains(err, msg), name)
	}
}

func TestParseDebian(t *testing.T) {
	spec, ok, err := ParseDebian("debian:linux-image-7.3.4+deb13-rt-amd64=7.3.4-1~bpo13+1")
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.DeepEqual(t, spec, DebianSpec{Package: "linux-image-7.3.4+deb13-rt-amd64", Version: "7.3.4-1~bpo13+1"})
	_, ok, err = ParseDebian("7.3")
	assert.Assert(t, !ok && err == nil)
	_, ok, err = ParseDebian("debian:linux-image-7.3.4+deb13-rt-amd64=")
	assert.Assert(t, ok)
	assert.ErrorContains(t, err, "empty version")
	_, _, err = ParseDebian("debian:linux-libc-dev")
	assert.ErrorContains(t, err, "not a kernel package")
}

// debianMirror is trixie-backports as Debian has it since 7.0: a small
// linux-image-X that depends on linux-binary-X, several uploads of 7.2,
// and a series the catalog lacks.
func debianMirror(t *testing.T) *fakeMirror {
	stub := func(name, version string) fakePkg {
		return fakePkg{name, version, "pool/main/l/linux-signed-amd64/" + name + "_" + version + "_amd64.deb",
			debWith(t, "xz", debFile{"./usr/share/doc/" + name + "/changelog", []byte("stub")})}
	}
	return newFakeMirror(t, "trixie-backports", []fakePkg{
		stub("linux-image-7.3.4+deb13-rt-amd64", "7.3.4-1~bpo13+1"),
		binaryPkg(t, "linux-binary-7.3.4+deb13-rt-amd64", "7.3.4-1~bpo13+1", "7.3.4+deb13-rt-amd64"),
		binaryPkg(t, "linux-binary-7.3.4+deb13-cloud-amd64", "7.3.4-1~bpo13+1", "7.3.4+deb13-cloud-amd64"),
		binaryPkg(t, "linux-binary-7.2.6+deb13-cloud-amd64", "7.2.6-1~bpo13+1", "7.2.6+deb13-cloud-amd64"),
		binaryPkg(t, "linux-binary-7.2.12+deb13-cloud-amd64", "7.2.12-1~bpo13+1", "7.2.12+deb13-cloud-amd64"),
		binaryPkg(t, "linux-binary-6.19.14+deb13-cloud-amd64", "6.19.14-1~bpo13+1", "6.19.14+deb13-cloud-amd64"),
	})
}

func TestDebianEntry(t *testing.T) {
	ctx := context.Background()
	m := debianMirror(t)
	f := m.fetcher(t, t.TempDir())
	suites := []string{"trixie-backports"}

	e, err := f.DebianEntry(ctx, DebianSpec{Package: "linux-image-7.3.4+deb13-rt-amd64"}, suites)
	assert.NilError(t, err)
	assert.Equal(t, e.Name, "7.3.4+deb13-rt")
	assert.Equal(t, e.Flavour, FlavourRT)
	assert.Equal(t, e.Package, `^linux-binary-7\.3\.4\+deb13-rt-amd64$`, "the kernel of the 7.x linux-image-X is in linux-binary-X")
	assert.Equal(t, e.Status, catalog73(t).Status)
	assert.Equal(t, e.ABI, catalog73(t).ABI, "a flavour expects what its series does")
	k, err := f.Fetch(ctx, e)
	assert.NilError(t, err)
	assert.Equal(t, k.Package, "linux-binary-7.3.4+deb13-rt-amd64")
	assert.Equal(t, k.Flavour, FlavourRT)
	assert.Equal(t, *k.ExpectedABI, 11)
	assert.Equal(t, readImageVersion(t, k.Image), "7.3.4+deb13-rt-amd64")

	// An older upload, by its package and version.
	e, err = f.DebianEntry(ctx, DebianSpec{Package: "linux-binary-7.2.6+deb13-cloud-amd64", Version: "7.2.6-1~bpo13+1"}, suites)
	assert.NilError(t, err)
	assert.Equal(t, e.Name, "7.2.6+deb13-cloud=7.2.6-1~bpo13+1")
	k, err = f.Fetch(ctx, e)
	assert.NilError(t, err)
	assert.Equal(t, k.Version, "7.2.6-1~bpo13+1")
	assert.Equal(t, readImageVersion(t, k.Image), "7.2.6+deb13-cloud-amd64", "the version asked for, not the newest 7.2")

	// A series the catalog does not have: nothing expected.
	e, err = f.DebianEntry(ctx, DebianSpec{Package: "linux-binary-6.19.14+deb13-cloud-amd64"}, suites)
	assert.NilError(t, err)
	k, err = f.Fetch(ctx, e)
	assert.NilError(t, err)
	assert.Assert(t, k.ExpectedABI == nil && k.ExpectedStatus == "")

	// What the index does not hold is the user's mistake, never a
	// download from the pool.
	for spec, msg := range map[DebianSpec]string{
		{Package: "linux-binary-7.2.6+deb13-cloud-amd64", Version: "7.2.6-1~bpo13+2"}: "is not in the signed indexes (they hold 7.2.6-1~bpo13+1 in trixie-backports)",
		{Package: "linux-binary-7.2.9+deb13-cloud-amd64"}:                             "hold no package linux-binary-7.2.9+deb13-cloud-amd64 (of 7.2 they hold linux-binary-7.2.12+deb13-cloud-amd64, linux-binary-7.2.6+deb13-cloud-amd64)",
		{Package: "linux-image-amd64"}:                                                "metapackage",
	} {
		before := m.total.Load()
		_, err := f.DebianEntry(ctx, spec, suites)
		assert.Check(t, errors.As(err, new(InputError)), "%v: %v", spec, err)
		assert.Check(t, is.ErrorContains(err, msg))
		assert.Check(t, m.total.Load() == before, "the cached index answers; nothing is fetched")
	}
}

// With the mirror down, a pinned version is taken from the cache only at
// that version, never as another version of the package.
func TestPinnedVersionOffline(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	f := m.fetcher(t, t.TempDir())
	newest, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Equal(t, newest.Version, "6.18.15-1~bpo13+1")

	m.srv.Close()
	f.IndexMaxAge = -1
	pinned := image618
	pinned.Version = "6.18.9-1~bpo13+1"
	_, err = f.Fetch(context.Background(), pinned)
	assert.ErrorContains(t, err, "cannot reach the Debian mirror")
	pinned.Version = newest.Version
	k, err := f.Fetch(context.Background(), pinned)
	assert.NilError(t, err)
	assert.Assert(t, k.Cached)
	assert.Equal(t, k.Version, newest.Version)
}
