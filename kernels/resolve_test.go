package kernels

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// binaryPkg is a linux-binary package of the usr/lib/modules layout.
func binaryPkg(t testing.TB, name, version, release string) fakePkg {
	file := "pool/main/l/linux/" + name + "_" + version + "_amd64.deb"
	return fakePkg{name, version, file, fakeDeb(t, "usr/lib/modules/"+release+"/vmlinuz", fakeImage(release), "xz")}
}

// mirror73 is today's archive for the 7.3 series: released 7.3.x in
// trixie-backports, and experimental's release candidate, whose index
// expired (experimentalUntil; zero: valid).
func mirror73(t *testing.T, experimentalUntil time.Time, backports ...fakePkg) *fakeMirror {
	key, _ := testKeys(t)
	m := newFakeMirror(t, "trixie-backports", append(kernelPackages(t)[:2], backports...))
	m.publishUntil(t, "experimental", []fakePkg{
		binaryPkg(t, "linux-binary-7.3-cloud-amd64", "7.3~rc7-1~exp1", "7.3-rc7"),
	}, key, experimentalUntil)
	return m
}

func catalog73(t *testing.T) Entry {
	e, ok := Lookup("7.3", arch.AMD64)
	assert.Assert(t, ok)
	return e
}

func TestResolveNewestReleaseAcrossSuites(t *testing.T) {
	expired := time.Now().Add(-24 * time.Hour)
	m := mirror73(t, expired,
		binaryPkg(t, "linux-binary-7.3.2+deb13-cloud-amd64", "7.3.2-1~bpo13+1", "7.3.2+deb13-cloud-amd64"),
		binaryPkg(t, "linux-binary-7.3.4+deb13-cloud-amd64", "7.3.4-1~bpo13+1", "7.3.4+deb13-cloud-amd64"),
		binaryPkg(t, "linux-binary-unsigned-7.3.5+deb13-cloud-amd64", "7.3.5-1~bpo13+1", "unsigned"))
	var progress bytes.Buffer
	f := m.fetcher(t, t.TempDir())
	f.Progress = &progress

	k, err := f.Fetch(context.Background(), catalog73(t))
	assert.NilError(t, err, "an expired experimental index is no hard stop when trixie-backports has the series")
	assert.Equal(t, k.Package, "linux-binary-7.3.4+deb13-cloud-amd64")
	assert.Equal(t, k.Version, "7.3.4-1~bpo13+1")
	assert.Equal(t, k.Suite, "trixie-backports")
	assert.Equal(t, readImageVersion(t, k.Image), "7.3.4+deb13-cloud-amd64")
	want := "warning: the experimental index expired on " + expired.UTC().Format(time.DateOnly) +
		" (Valid-Until): the mirror is out of date for experimental; 7.3 uses 7.3.4-1~bpo13+1 from trixie-backports\n"
	assert.Assert(t, is.Contains(progress.String(), want))

	// The warning is given once per run, however many entries meet it.
	_, err = f.Resolve(context.Background(), catalog73(t))
	assert.NilError(t, err)
	assert.Equal(t, strings.Count(progress.String(), "index expired"), 1)

	// A second run from the cache still says it (not a silent pass), and
	// the cached kernel remembers its suite.
	progress.Reset()
	f2 := m.fetcher(t, f.CacheDir)
	f2.Progress = &progress
	k2, err := f2.Fetch(context.Background(), catalog73(t))
	assert.NilError(t, err)
	assert.Assert(t, k2.Cached)
	assert.Equal(t, k2.Suite, "trixie-backports")
	assert.Assert(t, is.Contains(progress.String(), "experimental index expired"))
}

func TestResolvePreReleaseOnlyWithoutRelease(t *testing.T) {
	for name, until := range map[string]time.Time{"valid": {}, "expired": time.Now().Add(-time.Hour)} {
		t.Run(name, func(t *testing.T) {
			m := mirror73(t, until) // trixie-backports has no 7.3 at all
			var progress bytes.Buffer
			f := m.fetcher(t, t.TempDir())
			f.Progress = &progress
			p, err := f.Resolve(context.Background(), catalog73(t))
			assert.NilError(t, err)
			assert.Equal(t, p.Version, "7.3~rc7-1~exp1")
			assert.Equal(t, p.Suite, "experimental")
			assert.Assert(t, is.Contains(progress.String(), "7.3: no released package in trixie-backports, experimental: using the pre-release linux-binary-7.3-cloud-amd64 7.3~rc7-1~exp1"))
			if !until.IsZero() {
				assert.Assert(t, is.Contains(progress.String(), "warning: the experimental index expired on"))
				assert.Assert(t, is.Contains(progress.String(), "7.3 resolves to linux-binary-7.3-cloud-amd64 7.3~rc7-1~exp1 from it; update the mirror"))
			} else {
				assert.Assert(t, !strings.Contains(progress.String(), "expired"))
			}
		})
	}
}

func TestResolveSkipsASuiteTheMirrorLacks(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	var progress bytes.Buffer
	f := m.fetcher(t, t.TempDir())
	f.Progress = &progress
	e := image618
	e.Suites = []string{"gone-backports", "test"}
	p, err := f.Resolve(context.Background(), e)
	assert.NilError(t, err)
	assert.Equal(t, p.Suite, "test")
	assert.Assert(t, is.Contains(progress.String(), "warning: 6.18: the mirror has no suite gone-backports"))

	e.Suites = []string{"gone-backports"}
	_, err = f.Resolve(context.Background(), e)
	assert.ErrorContains(t, err, "the mirror has no suite gone-backports")
}

func TestCachedKernelFetchedAgainSaysWhy(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	k, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	img, err := os.ReadFile(k.Image)
	assert.NilError(t, err)
	for _, tc := range []struct {
		damage func()
		why    string
	}{
		{func() {
			b := bytes.Clone(img)
			b[len(b)/2] ^= 1
			assert.NilError(t, os.WriteFile(k.Image, b, 0o644))
		}, "image failed its SHA256 check"},
		{func() { assert.NilError(t, os.Remove(k.Image)) }, "has no readable image (no such file or directory)"},
		{func() {
			assert.NilError(t, os.WriteFile(filepath.Join(filepath.Dir(k.Image), "meta.json"), []byte("{"), 0o644))
		}, "has an invalid meta.json"},
	} {
		tc.damage()
		var progress bytes.Buffer
		f := m.fetcher(t, cache)
		f.Progress = &progress
		k2, err := f.Fetch(context.Background(), image618)
		assert.NilError(t, err)
		assert.Assert(t, !k2.Cached)
		assert.Assert(t, is.Contains(progress.String(),
			"6.18: the cached linux-image-6.18.15+deb13-cloud-amd64 6.18.15-1~bpo13+1 "+tc.why+": fetching again\n"))
	}

	// An intact entry is used silently.
	var progress bytes.Buffer
	f := m.fetcher(t, cache)
	f.Progress = &progress
	k3, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Assert(t, k3.Cached)
	assert.Equal(t, progress.String(), "")
}

// Each architecture resolves in its own signed index (binary-<arch>),
// cached in a file of its own, and an arm64 entry boots only an arm64
// Image: a package that holds another architecture's kernel is refused.
func TestResolveArm64FromItsOwnIndex(t *testing.T) {
	key, _ := testKeys(t)
	arm := func(name, version, path, rel string, img []byte) fakePkg {
		file := "pool/main/l/linux-signed-arm64/" + name + "_" + version + "_arm64.deb"
		return fakePkg{name, version, file, fakeDeb(t, path, img, "xz")}
	}
	m := newFakeMirror(t, "trixie-backports", nil)
	m.publishArches(t, "trixie-backports", map[string][]fakePkg{
		"amd64": {binaryPkg(t, "linux-binary-7.3.4+deb13-cloud-amd64", "7.3.4-1~bpo13+1", "7.3.4+deb13-cloud-amd64")},
		"arm64": {
			arm("linux-binary-7.3.2+deb13-cloud-arm64", "7.3.2-1~bpo13+1", "usr/lib/modules/7.3.2+deb13-cloud-arm64/vmlinuz", "7.3.2", fakeArm64Image("7.3.2+deb13-cloud-arm64")),
			arm("linux-binary-7.3.4+deb13-cloud-arm64", "7.3.4-1~bpo13+1", "usr/lib/modules/7.3.4+deb13-cloud-arm64/vmlinuz", "7.3.4", fakeArm64Image("7.3.4+deb13-cloud-arm64")),
			// 6.19's linux-image is a metapackage: no kernel in it.
			arm("linux-image-7.3.4+deb13-cloud-arm64", "7.3.4-1~bpo13+1", "", "", nil),
			// A package in the arm64 index with an x86 kernel in it.
			arm("linux-binary-7.2.12+deb13-cloud-arm64", "7.2.12-1~bpo13+1", "boot/vmlinuz-7.2.12+deb13-cloud-arm64", "7.2.12", fakeImage("7.2.12")),
		},
	}, key, time.Time{})
	f := m.fetcher(t, t.TempDir())
	e, ok := Lookup("7.3", arch.ARM64)
	assert.Assert(t, ok)
	e.Suites = []string{"trixie-backports"}
	k, err := f.Fetch(context.Background(), e)
	assert.NilError(t, err)
	assert.Equal(t, k.Arch, arch.ARM64)
	assert.Equal(t, k.Package, "linux-binary-7.3.4+deb13-cloud-arm64")
	assert.Equal(t, readImageVersion(t, k.Image), "7.3.4+deb13-cloud-arm64")
	assert.Equal(t, m.hitsOf("dists/trixie-backports/main/binary-arm64/Packages.xz"), 1)
	assert.Equal(t, m.hitsOf("dists/trixie-backports/main/binary-amd64/Packages.xz"), 0, "an arm64 run needs no amd64 index")
	b, err := os.ReadFile(filepath.Join(filepath.Dir(k.Image), "meta.json"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(b), `"arch": "arm64"`))

	e64, _ := Lookup("7.3", arch.AMD64)
	e64.Suites = e.Suites
	k64, err := f.Fetch(context.Background(), e64)
	assert.NilError(t, err)
	assert.Equal(t, k64.Arch, arch.AMD64)
	assert.Equal(t, k64.Package, "linux-binary-7.3.4+deb13-cloud-amd64")
	for _, name := range []string{"trixie-backports.json", "trixie-backports_arm64.json"} {
		_, err := os.Stat(filepath.Join(f.CacheDir, "index", name))
		assert.NilError(t, err, "the index cache keeps one file per architecture")
	}
	// Cached: both indexes are reused, each for its own architecture.
	_, err = f.Resolve(context.Background(), e)
	assert.NilError(t, err)
	assert.Equal(t, m.hitsOf("dists/trixie-backports/main/binary-arm64/Packages.xz"), 1)
	assert.Equal(t, m.hitsOf("dists/trixie-backports/main/binary-amd64/Packages.xz"), 1)

	bad := Entry{Name: "7.2", Arch: arch.ARM64, Suites: []string{"trixie-backports"}, Package: `^linux-binary-7\.2\.\d+\+deb13-cloud-arm64$`, Status: "enabled", ABI: 10}
	_, err = f.Fetch(context.Background(), bad)
	assert.ErrorContains(t, err, "boot/vmlinuz-7.2.12+deb13-cloud-arm64 in linux-binary-7.2.12+deb13-cloud-arm64 7.2.12-1~bpo13+1 is an x86 bzImage, an amd64 kernel, but this run boots arm64")
	meta := Entry{Name: "7.3", Arch: arch.ARM64, Suites: []string{"trixie-backports"}, Package: `^linux-image-7\.3\.\d+\+deb13-cloud-arm64$`, Status: "enabled", ABI: 11}
	_, err = f.Fetch(context.Background(), meta)
	assert.ErrorContains(t, err, "no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in the package")
}
