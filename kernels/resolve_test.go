package kernels

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	e, ok := Lookup("7.3")
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
