package kernels

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func readImageVersion(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	return imageVersion(b)
}

// cacheEntries lists the top level of a cache directory, hidden staging
// directories included.
func cacheEntries(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	assert.NilError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchNewestBothLayoutsThenCache(t *testing.T) {
	ctx := context.Background()
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	var progress bytes.Buffer
	f := m.fetcher(t, cache)
	f.Progress = &progress

	p, err := f.Resolve(ctx, image618)
	assert.NilError(t, err)
	assert.Equal(t, p.Version, "6.18.15-1~bpo13+1", "6.18.15 beats 6.18.9, the unsigned package does not match")

	k, err := f.Fetch(ctx, image618)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "6.18")
	assert.Equal(t, k.Package, "linux-image-6.18.15+deb13-cloud-amd64")
	assert.Equal(t, k.Version, "6.18.15-1~bpo13+1")
	assert.Equal(t, *k.ExpectedABI, 7)
	assert.Equal(t, k.ExpectedStatus, landlock.Enabled)
	assert.Assert(t, !k.Cached)
	assert.Equal(t, k.DebSHA256, p.SHA256)
	assert.Equal(t, k.DownloadBytes, p.Size)
	assert.Equal(t, readImageVersion(t, k.Image), "6.18.15+deb13-cloud-amd64", "boot/vmlinuz-* layout")
	img, _ := os.ReadFile(k.Image)
	assert.Equal(t, k.ImageSHA256, sha256Hex(img))
	assert.Assert(t, is.Contains(progress.String(), "downloaded 6.18 (linux-image-6.18.15+deb13-cloud-amd64 6.18.15-1~bpo13+1)"))
	assert.Assert(t, is.Contains(progress.String(), "downloaded index test"))

	var meta map[string]any
	b, err := os.ReadFile(filepath.Join(filepath.Dir(k.Image), "meta.json"))
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(b, &meta))
	for _, key := range []string{"package", "version", "deb_sha256", "deb_size", "vmlinuz_sha256", "vmlinuz_size", "download_ms", "downloaded_at"} {
		assert.Assert(t, meta[key] != nil, "meta.json lacks %s", key)
	}
	assert.Equal(t, meta["vmlinuz_path"], "boot/vmlinuz-6.18.15+deb13-cloud-amd64")

	k73, err := f.Fetch(ctx, binary73)
	assert.NilError(t, err)
	assert.Equal(t, k73.Version, "7.3~rc7-1~exp1")
	assert.Equal(t, readImageVersion(t, k73.Image), "7.3-rc7", "usr/lib/modules/*/vmlinuz layout")
	assert.Equal(t, m.hitsOf("dists/test/InRelease"), 1, "one index download for both entries")

	// The same and a new Fetcher (a second run) download nothing at all.
	before := m.total.Load()
	for _, f := range []*Fetcher{f, m.fetcher(t, cache)} {
		for _, e := range []Entry{image618, binary73} {
			k2, err := f.Fetch(ctx, e)
			assert.NilError(t, err)
			assert.Assert(t, k2.Cached)
		}
	}
	assert.Equal(t, m.total.Load(), before, "a second run makes no HTTP request")

	k2, _ := f.Fetch(ctx, image618)
	assert.DeepEqual(t, k2.Image, k.Image)
	assert.Equal(t, k2.DownloadBytes, k.DownloadBytes, "the cache remembers the download")
	assert.DeepEqual(t, cacheEntries(t, cache), []string{"index",
		"linux-binary-7.3-cloud-amd64_7.3~rc7-1~exp1", "linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1"})
	assert.Assert(t, !strings.Contains(strings.Join(cacheEntries(t, filepath.Dir(k.Image)), " "), ".deb"), "the .deb is not kept")
}

func TestFetchStaleIndexIsRefreshedNotTheKernel(t *testing.T) {
	ctx := context.Background()
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	_, err := m.fetcher(t, cache).Fetch(ctx, image618)
	assert.NilError(t, err)

	f := m.fetcher(t, cache)
	f.IndexMaxAge = -1 // every index is stale
	before := m.total.Load()
	k, err := f.Fetch(ctx, image618)
	assert.NilError(t, err)
	assert.Assert(t, k.Cached)
	assert.Equal(t, m.total.Load()-before, int64(2), "InRelease and Packages.xz only")
}

func TestFetchSharedPackageDownloadsOnce(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	f := m.fetcher(t, t.TempDir())
	var wg sync.WaitGroup
	ks := make([]Kernel, 4)
	errs := make([]error, 4)
	for i := range ks {
		wg.Go(func() {
			e := image618
			if i%2 == 1 {
				e = noLL618
			}
			ks[i], errs[i] = f.Fetch(context.Background(), e)
		})
	}
	wg.Wait()
	for i := range ks {
		assert.NilError(t, errs[i])
		assert.Equal(t, ks[i].Image, ks[0].Image)
	}
	assert.Equal(t, ks[1].Cmdline, "lsm=capability")
	assert.Equal(t, ks[1].ExpectedStatus, landlock.Disabled)
	assert.Equal(t, *ks[1].ExpectedABI, 0)
	assert.Equal(t, m.hitsOf("pool/main/l/linux/linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1_amd64.deb"), 1)
	assert.Equal(t, m.hitsOf("dists/test/InRelease"), 1)
}

func TestFetchRejectsTamperedPackage(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	m.edit(func(files map[string][]byte) {
		p := "pool/main/l/linux/linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1_amd64.deb"
		b := bytes.Clone(files[p])
		b[len(b)-1] ^= 0xff
		files[p] = b
	})
	cache := t.TempDir()
	_, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "corrupted download of linux-image-6.18.15+deb13-cloud-amd64 6.18.15-1~bpo13+1: sha256 ")
	assert.ErrorContains(t, err, "deleted, run again")
	assert.DeepEqual(t, cacheEntries(t, cache), []string{"index"}) // no kernel, no staging leftovers
}

func TestFetchRejectsBadSignatures(t *testing.T) {
	key, stranger := testKeys(t)
	for name, tamper := range map[string]func(files map[string][]byte){
		"text changed after signing": func(files map[string][]byte) {
			files["dists/test/InRelease"] = bytes.Replace(files["dists/test/InRelease"], []byte("Origin: Debian"), []byte("Origin: Evil!!"), 1)
		},
		"signed by a key not in the keyring": func(files map[string][]byte) {
			text := strings.SplitN(string(files["dists/test/InRelease"]), "\n\n", 2)[1]
			text = text[:strings.Index(text, "\n-----BEGIN PGP SIGNATURE")]
			files["dists/test/InRelease"] = clearsigned(t, stranger, text)
		},
		"not signed at all": func(files map[string][]byte) {
			files["dists/test/InRelease"] = []byte("Suite: test\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := newFakeMirror(t, "test", kernelPackages(t))
			m.edit(tamper)
			cache := t.TempDir()
			_, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
			assert.Assert(t, err != nil)
			assert.Assert(t, strings.Contains(err.Error(), "bad signature") || strings.Contains(err.Error(), "not clearsigned"), err.Error())
			assert.Assert(t, is.Len(cacheEntries(t, cache), 0))
		})
	}

	// A good signature over another suite's Release is refused too.
	m := newFakeMirror(t, "test", kernelPackages(t))
	m.edit(func(files map[string][]byte) {
		files["dists/test/InRelease"] = clearsigned(t, key, "Suite: oldstable\nCodename: bullseye\nSHA256:\n")
	})
	_, err := m.fetcher(t, t.TempDir()).Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "is for oldstable/bullseye")
}

func TestFetchRejectsTamperedIndex(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	m.edit(func(files map[string][]byte) {
		p := "dists/test/main/binary-amd64/Packages.xz"
		files[p] = append(bytes.Clone(files[p]), 0)
	})
	cache := t.TempDir()
	_, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "corrupted download of the test index")
	assert.Assert(t, is.Len(cacheEntries(t, cache), 0))
}

func TestFetchUnreachableMirror(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	f := m.fetcher(t, t.TempDir())
	m.srv.Close()
	_, err := f.Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "cannot reach the Debian mirror "+m.srv.URL+": ")
	assert.ErrorContains(t, err, "set LLCONFORM_MIRROR or --mirror")
}

func TestFetchFallsBackToCacheWhenOffline(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	k, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	m.srv.Close()

	var progress bytes.Buffer
	f := m.fetcher(t, cache)
	f.IndexMaxAge = -1 // the index must be downloaded again, which fails
	f.Progress = &progress
	k2, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Equal(t, k2.Image, k.Image)
	assert.Assert(t, k2.Cached)
	assert.Assert(t, is.Contains(progress.String(), "cannot reach the Debian mirror"))
	assert.Assert(t, is.Contains(progress.String(), "using the cached linux-image-6.18.15+deb13-cloud-amd64 6.18.15-1~bpo13+1"))

	// Nothing cached for this entry: the error stands.
	_, err = f.Fetch(context.Background(), binary73)
	assert.ErrorContains(t, err, "cannot reach the Debian mirror")
}

func TestFetchNoFallbackOnBadSignature(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	_, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	_, stranger := testKeys(t)
	m.publish(t, "test", kernelPackages(t), stranger)
	f := m.fetcher(t, cache)
	f.IndexMaxAge = -1
	_, err = f.Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "bad signature", "a forged index is an error, not a reason to go offline")
}

func TestFetchRefreshesIndexWhenPackageIsGone(t *testing.T) {
	ctx := context.Background()
	pkgs := kernelPackages(t)
	m := newFakeMirror(t, "test", pkgs)
	f := m.fetcher(t, t.TempDir())
	_, err := f.Resolve(ctx, image618) // caches the index, downloads no kernel
	assert.NilError(t, err)

	// The archive moves on: 6.18.15 is replaced by 6.18.17.
	key, _ := testKeys(t)
	newer := fakePkg{"linux-image-6.18.17+deb13-cloud-amd64", "6.18.17-1~bpo13+1", "pool/main/l/linux/linux-image-6.18.17.deb",
		fakeDeb(t, "boot/vmlinuz-6.18.17+deb13-cloud-amd64", fakeImage("6.18.17+deb13-cloud-amd64"), "xz")}
	m.edit(func(files map[string][]byte) { delete(files, pkgs[1].file) })
	m.publish(t, "test", []fakePkg{pkgs[0], newer}, key)
	m.edit(func(files map[string][]byte) { delete(files, pkgs[1].file) })

	k, err := f.Fetch(ctx, image618)
	assert.NilError(t, err)
	assert.Equal(t, k.Version, "6.18.17-1~bpo13+1")
	assert.Equal(t, m.hitsOf("dists/test/InRelease"), 2)
}

func TestFetchErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	m := newFakeMirror(t, "test", kernelPackages(t))

	f := m.fetcher(t, t.TempDir())
	f.Keyring = filepath.Join(t.TempDir(), "missing.gpg")
	_, err := f.Fetch(ctx, image618)
	assert.ErrorContains(t, err, "apt-get install debian-archive-keyring")

	f = m.fetcher(t, t.TempDir())
	_, err = f.Fetch(ctx, Entry{Name: "x", Suites: []string{"nosuch"}, Package: "^linux-image-"})
	assert.ErrorContains(t, err, "the mirror has no suite nosuch")

	_, err = f.Fetch(ctx, Entry{Name: "4.19", Suites: []string{"test"}, Package: `^linux-image-4\.19`})
	assert.ErrorContains(t, err, "no package matching")

	f.Mirror = m.srv.URL + "/sub"
	_, err = f.Fetch(ctx, image618)
	assert.ErrorContains(t, err, "full Debian archive mirror")

	defer func(d string) { aptSourcesDir = d }(aptSourcesDir)
	aptSourcesDir = t.TempDir() // no sources at all
	f = m.fetcher(t, t.TempDir())
	f.Mirror = ""
	_, err = f.Fetch(ctx, image618)
	assert.ErrorContains(t, err, "no Debian archive mirror in the apt sources")
	assert.ErrorContains(t, err, "set LLCONFORM_MIRROR or --mirror")
}

func TestFetchContextCancelled(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	block := make(chan struct{})
	m.edit(func(map[string][]byte) { m.blocker = block })
	defer close(block)
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	f := m.fetcher(t, cache)
	done := make(chan error)
	go func() { _, err := f.Fetch(ctx, image618); done <- err }()
	for m.hitsOf("pool/main/l/linux/linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1_amd64.deb") == 0 {
		select { // wait for the download to start
		case err := <-done:
			t.Fatalf("finished early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.DeepEqual(t, cacheEntries(t, cache), []string{"index"})
}

func TestCachedEntryDamagedIsFetchedAgain(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	k, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(k.Image, []byte("truncated"), 0o644))
	k2, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Assert(t, !k2.Cached)
	assert.Equal(t, readImageVersion(t, k2.Image), "6.18.15+deb13-cloud-amd64")
}

func TestNewFetcherDefaults(t *testing.T) {
	t.Setenv("LLCONFORM_MIRROR", "http://mirror.example/debian")
	t.Setenv("LLCONFORM_KEYRING", "/k.gpg")
	t.Setenv("LLCONFORM_CACHE", "/c")
	f, err := NewFetcher()
	assert.NilError(t, err)
	assert.Equal(t, f.Mirror, "http://mirror.example/debian")
	assert.Equal(t, f.Keyring, "/k.gpg")
	assert.Equal(t, f.CacheDir, "/c/kernels")
	assert.Equal(t, f.IndexMaxAge, defaultIndexMaxAge)
	assert.Assert(t, f.Client != nil)
}

func TestFetchReplacesLeftoverEntry(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	cache := t.TempDir()
	// An entry in an older format, from an older llconform.
	old := filepath.Join(cache, "linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1")
	assert.NilError(t, os.MkdirAll(old, 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(old, "meta.json"), []byte(`{"Package": "x", "ImageSHA256": "00"}`), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(old, "vmlinuz"), []byte("old"), 0o644))
	k, err := m.fetcher(t, cache).Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Assert(t, !k.Cached)
	assert.Equal(t, readImageVersion(t, k.Image), "6.18.15+deb13-cloud-amd64")
	st, err := os.Stat(old)
	assert.NilError(t, err)
	assert.Equal(t, st.Mode().Perm(), os.FileMode(0o755))
}

func TestFetchArmoredKeyringAndServerErrors(t *testing.T) {
	m := newFakeMirror(t, "test", kernelPackages(t))
	key, _ := testKeys(t)
	var armored bytes.Buffer
	w, err := armor.Encode(&armored, openpgp.PublicKeyType, nil)
	assert.NilError(t, err)
	assert.NilError(t, key.Serialize(w))
	assert.NilError(t, w.Close())
	f := m.fetcher(t, t.TempDir())
	f.Keyring = filepath.Join(t.TempDir(), "archive.asc")
	assert.NilError(t, os.WriteFile(f.Keyring, armored.Bytes(), 0o644))
	_, err = f.Fetch(context.Background(), image618)
	assert.NilError(t, err)

	f.Keyring = filepath.Join(t.TempDir(), "junk.gpg")
	assert.NilError(t, os.WriteFile(f.Keyring, []byte("junk"), 0o644))
	f2 := m.fetcher(t, t.TempDir())
	f2.Keyring = f.Keyring
	_, err = f2.Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "is not an OpenPGP keyring")

	// A failing mirror (5xx) counts as unreachable: the cache stands in.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	f.Mirror, f.IndexMaxAge = broken.URL, -1
	f.Keyring = m.keyring
	k, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Assert(t, k.Cached)
	_, err = f.Fetch(context.Background(), binary73)
	assert.ErrorContains(t, err, "503 Service Unavailable")
	assert.ErrorContains(t, err, "cannot reach the Debian mirror "+broken.URL)
}
