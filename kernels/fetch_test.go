package kernels

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ulikunitz/xz"
	"gotest.tools/v3/assert"
)

// fakeImage is a minimal bzImage: boot sector signature, HdrS and a
// version string.
func fakeImage(version string) []byte {
	b := make([]byte, 0x400)
	b[0x1fe], b[0x1ff] = 0x55, 0xaa
	copy(b[0x202:], "HdrS")
	b[0x20e], b[0x20f] = 0x00, 0x01 // version string at 0x100+0x200
	copy(b[0x300:], version+" (debian@example) #1")
	return b
}

func xzBytes(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	assert.NilError(t, err)
	_, err = w.Write(data)
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	return buf.Bytes()
}

// fakeDeb builds a .deb (ar with data.tar.xz) holding the image at path.
func fakeDeb(t *testing.T, path string, img []byte) []byte {
	var tbuf bytes.Buffer
	tw := tar.NewWriter(&tbuf)
	for _, d := range []string{"./boot/", "./usr/", "./usr/lib/", "./usr/lib/modules/"} {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}))
	}
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "./" + path, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(img))}))
	tw.Write(img)
	assert.NilError(t, tw.Close())
	data := xzBytes(t, tbuf.Bytes())
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	member := func(name string, body []byte) {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(body))
		ar.Write(body)
		if len(body)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.xz", xzBytes(t, []byte("x")))
	member("data.tar.xz", data)
	return ar.Bytes()
}

type fakeMirror struct {
	srv      *httptest.Server
	keyring  string
	requests atomic.Int64
	files    map[string][]byte
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// newFakeMirror serves a signed suite "test" with two versions of a
// linux-image package and one linux-binary package.
func newFakeMirror(t *testing.T, tamper func(map[string][]byte)) *fakeMirror {
	m := &fakeMirror{files: map[string][]byte{}}
	ent, err := openpgp.NewEntity("test archive", "", "archive@example.org", nil)
	assert.NilError(t, err)
	var pub bytes.Buffer
	assert.NilError(t, ent.Serialize(&pub))
	m.keyring = filepath.Join(t.TempDir(), "keyring.gpg")
	assert.NilError(t, os.WriteFile(m.keyring, pub.Bytes(), 0o644))

	debs := map[string][]byte{
		"pool/linux-image-6.18.9_amd64.deb":  fakeDeb(t, "boot/vmlinuz-6.18.9+deb13-cloud-amd64", fakeImage("6.18.9")),
		"pool/linux-image-6.18.15_amd64.deb": fakeDeb(t, "boot/vmlinuz-6.18.15+deb13-cloud-amd64", fakeImage("6.18.15")),
		"pool/linux-binary-7.3_amd64.deb":    fakeDeb(t, "usr/lib/modules/7.3-cloud-amd64/vmlinuz", fakeImage("7.3")),
	}
	stanza := func(name, version, file string) string {
		return fmt.Sprintf("Package: %s\nVersion: %s\nFilename: %s\nSize: %d\nSHA256: %s\n\n", name, version, file, len(debs[file]), sum(debs[file]))
	}
	packages := stanza("linux-image-6.18.9+deb13-cloud-amd64", "6.18.9-1~bpo13+1", "pool/linux-image-6.18.9_amd64.deb") +
		stanza("linux-image-6.18.15+deb13-cloud-amd64", "6.18.15-1~bpo13+1", "pool/linux-image-6.18.15_amd64.deb") +
		stanza("linux-binary-7.3-cloud-amd64", "7.3~rc7-1~exp1", "pool/linux-binary-7.3_amd64.deb") +
		"Package: bash\nVersion: 5\nFilename: pool/bash.deb\nSize: 1\nSHA256: 00\n\n"
	pxz := xzBytes(t, []byte(packages))
	release := fmt.Sprintf("Suite: test\nSHA256:\n %s %d main/binary-amd64/Packages.xz\n", sum(pxz), len(pxz))
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, ent.PrivateKey, nil)
	assert.NilError(t, err)
	w.Write([]byte(release))
	assert.NilError(t, w.Close())

	m.files["dists/test/InRelease"] = signed.Bytes()
	m.files["dists/test/main/binary-amd64/Packages.xz"] = pxz
	for k, v := range debs {
		m.files[k] = v
	}
	if tamper != nil {
		tamper(m.files)
	}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		b, ok := m.files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeMirror) fetcher(t *testing.T) *Fetcher {
	f, err := NewFetcher()
	assert.NilError(t, err)
	f.Mirror, f.Keyring, f.CacheDir = m.srv.URL, m.keyring, t.TempDir()
	return f
}

var (
	image618 = Entry{Name: "6.18", Suite: "test", Package: `^linux-image-6\.18\.\d+\+deb13-cloud-amd64$`, Status: "enabled", ABI: 7}
	binary73 = Entry{Name: "7.3", Suite: "test", Package: `^linux-binary-7\.3-cloud-amd64$`, Status: "enabled", ABI: 11}
)

func TestFetchNewestVerifiedAndCached(t *testing.T) {
	m := newFakeMirror(t, nil)
	f := m.fetcher(t)
	k, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Equal(t, k.Version, "6.18.15-1~bpo13+1", "the newest version wins")
	assert.Equal(t, *k.ExpectedABI, 7)
	img, err := os.ReadFile(k.Image)
	assert.NilError(t, err)
	assert.Equal(t, bzImageVersion(img), "6.18.15")

	k73, err := f.Fetch(context.Background(), binary73)
	assert.NilError(t, err)
	img, _ = os.ReadFile(k73.Image)
	assert.Equal(t, bzImageVersion(img), "7.3", "usr/lib/modules layout")

	before := m.requests.Load()
	k2, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Equal(t, m.requests.Load(), before, "a second fetch downloads nothing")
	assert.Assert(t, k2.Cached)
	assert.Equal(t, k2.Image, k.Image)
}

func TestFetchRejectsTamperedPackage(t *testing.T) {
	m := newFakeMirror(t, func(files map[string][]byte) {
		b := files["pool/linux-image-6.18.15_amd64.deb"]
		b[len(b)-1] ^= 0xff
	})
	f := m.fetcher(t)
	_, err := f.Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "corrupted download")
	_, ok := readMeta(filepath.Join(f.CacheDir, "linux-image-6.18.15+deb13-cloud-amd64_6.18.15-1~bpo13+1"))
	assert.Assert(t, !ok, "nothing cached")
}

func TestFetchRejectsBadSignature(t *testing.T) {
	m := newFakeMirror(t, func(files map[string][]byte) {
		files["dists/test/InRelease"] = bytes.Replace(files["dists/test/InRelease"], []byte("Suite: test"), []byte("Suite: evil"), 1)
	})
	_, err := m.fetcher(t).Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "signature")
}

func TestFetchRejectsTamperedIndex(t *testing.T) {
	m := newFakeMirror(t, func(files map[string][]byte) {
		files["dists/test/main/binary-amd64/Packages.xz"] = append(files["dists/test/main/binary-amd64/Packages.xz"], 0)
	})
	_, err := m.fetcher(t).Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "corrupted index")
}

func TestFetchUnreachableMirror(t *testing.T) {
	m := newFakeMirror(t, nil)
	f := m.fetcher(t)
	m.srv.Close()
	_, err := f.Fetch(context.Background(), image618)
	assert.ErrorContains(t, err, "cannot reach the Debian mirror")
	assert.ErrorContains(t, err, "LLCONFORM_MIRROR")
}

func TestFetchFallsBackToCacheWhenOffline(t *testing.T) {
	m := newFakeMirror(t, nil)
	f := m.fetcher(t)
	k, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	m.srv.Close()
	f.IndexMaxAge = 0 // force a new index download, which fails
	k2, err := f.Fetch(context.Background(), image618)
	assert.NilError(t, err)
	assert.Equal(t, k2.Image, k.Image)
}

func TestFromPath(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	assert.NilError(t, os.WriteFile(garbage, []byte("not a kernel"), 0o644))
	_, err := FromPath(garbage, "", nil)
	assert.ErrorContains(t, err, "not an x86 bzImage")

	img := filepath.Join(dir, "bzImage")
	assert.NilError(t, os.WriteFile(img, fakeImage("6.99.1-custom"), 0o644))
	k, err := FromPath(img, "", nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "6.99.1-custom")
	assert.Assert(t, k.ExpectedABI == nil)

	build := filepath.Join(dir, "linux")
	assert.NilError(t, os.MkdirAll(filepath.Join(build, "arch/x86/boot"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(build, "arch/x86/boot/bzImage"), fakeImage("7.4-rc1"), 0o644))
	k, err = FromPath(build, "mine", nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "mine")

	_, err = FromPath(filepath.Join(dir, "missing"), "", nil)
	assert.ErrorContains(t, err, "missing")
}

func TestMirrorFromApt(t *testing.T) {
	dir := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "sources.list.d", "debian.sources"), []byte(
		"Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"), 0o644))
	m, err := MirrorFromApt(dir)
	assert.NilError(t, err)
	assert.Equal(t, m, "http://mirror.example/debian")

	list := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(list, "sources.list"), []byte(
		"# comment\ndeb [arch=amd64 trusted=yes signed-by=/k.gpg] http://list.example/debian bookworm main\n"), 0o644))
	m, err = MirrorFromApt(list)
	assert.NilError(t, err)
	assert.Equal(t, m, "http://list.example/debian")

	empty := t.TempDir()
	_, err = MirrorFromApt(empty)
	assert.ErrorContains(t, err, "LLCONFORM_MIRROR")
}

func TestCatalog(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Catalog() {
		assert.Assert(t, !names[e.Name], "duplicate %s", e.Name)
		names[e.Name] = true
		assert.Assert(t, e.Status == "enabled" || e.Status == "disabled" || e.Status == "absent", e.Name)
	}
	assert.Equal(t, len(Catalog()), 9)
	e, ok := Lookup("6.12-nolandlock")
	assert.Assert(t, ok)
	assert.Assert(t, strings.Contains(e.Cmdline, "lsm=") && !strings.Contains(e.Cmdline, "landlock"))
}
