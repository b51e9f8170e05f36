package kernels

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/debtest"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"gotest.tools/v3/assert"
)

// fakeImage is a minimal bzImage: boot sector signature, HdrS and a
// version string where the kernel_version field points.
func fakeImage(version string) []byte {
	b := make([]byte, 0x400)
	b[0x1fe], b[0x1ff] = 0x55, 0xaa
	copy(b[0x202:], "HdrS")
	b[0x20e], b[0x20f] = 0x00, 0x01 // version string at 0x100+0x200
	copy(b[0x300:], version+" (debian-kernel@lists.debian.org) #1 SMP")
	return b
}

// fakeDeb builds a .deb: an ar archive with debian-binary, control.tar.xz
// and a data.tar.<comp> holding some files and the image at path.
func fakeDeb(t testing.TB, path string, img []byte, comp string) []byte {
	files := []debFile{{"./boot/config-x", []byte("CONFIG_SECURITY_LANDLOCK=y\n")}, {"./usr/lib/modules/x/modules.order", []byte("odd length")}}
	if path != "" {
		files = append(files, debFile{"./" + path, img})
	}
	return debWith(t, comp, files...)
}

type debFile struct {
	name string
	body []byte
}

// debWith builds a .deb whose data.tar.<comp> holds files (and the
// directories ./boot/ and ./usr/lib/modules/x/).
func debWith(t testing.TB, comp string, files ...debFile) []byte {
	var tbuf bytes.Buffer
	tw := tar.NewWriter(&tbuf)
	for _, d := range []string{"./", "./boot/", "./usr/", "./usr/lib/", "./usr/lib/modules/", "./usr/lib/modules/x/"} {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}))
	}
	for _, f := range files {
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))}))
		_, err := tw.Write(f.body)
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	var data []byte
	switch comp {
	case "xz":
		data = debtest.Xz(t, tbuf.Bytes())
	case "gz":
		var g bytes.Buffer
		w := gzip.NewWriter(&g)
		w.Write(tbuf.Bytes())
		assert.NilError(t, w.Close())
		data = g.Bytes()
	case "":
		data = tbuf.Bytes()
	default:
		data = []byte("opaque")
	}
	name := "data.tar"
	if comp != "" {
		name += "." + comp
	}
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
	member("control.tar.xz", debtest.Xz(t, []byte("odd")))
	member(name, data)
	return ar.Bytes()
}

// Test keys: EdDSA keeps generation fast.
var (
	keysOnce          sync.Once
	archiveKey, other *openpgp.Entity
)

func testKeys(t testing.TB) (*openpgp.Entity, *openpgp.Entity) {
	keysOnce.Do(func() {
		cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
		var err error
		archiveKey, err = openpgp.NewEntity("test archive", "", "archive@example.org", cfg)
		assert.NilError(t, err)
		other, err = openpgp.NewEntity("someone else", "", "other@example.org", cfg)
		assert.NilError(t, err)
	})
	return archiveKey, other
}

func writeKeyring(t testing.TB, e *openpgp.Entity) string {
	var pub bytes.Buffer
	assert.NilError(t, e.Serialize(&pub))
	path := filepath.Join(t.TempDir(), "keyring.gpg")
	assert.NilError(t, os.WriteFile(path, pub.Bytes(), 0o644))
	return path
}

func clearsigned(t testing.TB, signer *openpgp.Entity, text string) []byte {
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, signer.PrivateKey, nil)
	assert.NilError(t, err)
	_, err = w.Write([]byte(text))
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	return signed.Bytes()
}

type fakePkg struct {
	name, version, file string
	deb                 []byte
}

// fakeMirror is a Debian archive over HTTP that counts requests.
type fakeMirror struct {
	srv     *httptest.Server
	keyring string

	mu      sync.Mutex
	files   map[string][]byte
	hits    map[string]int
	total   atomic.Int64
	blocker chan struct{} // when set, .deb downloads wait on it
}

// kernelPackages is the suite "test": two linux-image versions (boot/
// layout), two linux-binary release candidates (usr/lib/modules layout),
// an unsigned variant and an unrelated package.
func kernelPackages(t testing.TB) []fakePkg {
	mk := func(name, version, path, rel, comp string) fakePkg {
		file := "pool/main/l/linux/" + name + "_" + version + "_amd64.deb"
		return fakePkg{name, version, file, fakeDeb(t, path, fakeImage(rel), comp)}
	}
	return []fakePkg{
		mk("linux-image-6.18.9+deb13-cloud-amd64", "6.18.9-1~bpo13+1", "boot/vmlinuz-6.18.9+deb13-cloud-amd64", "6.18.9+deb13-cloud-amd64", "xz"),
		mk("linux-image-6.18.15+deb13-cloud-amd64", "6.18.15-1~bpo13+1", "boot/vmlinuz-6.18.15+deb13-cloud-amd64", "6.18.15+deb13-cloud-amd64", "xz"),
		mk("linux-image-6.18.15+deb13-cloud-amd64-unsigned", "6.18.16-1~bpo13+1", "boot/vmlinuz-6.18.16+deb13-cloud-amd64", "6.18.16-unsigned", "xz"),
		mk("linux-binary-7.3-cloud-amd64", "7.3~rc6-1~exp1", "usr/lib/modules/7.3-cloud-amd64/vmlinuz", "7.3-rc6", "xz"),
		mk("linux-binary-7.3-cloud-amd64", "7.3~rc7-1~exp1", "usr/lib/modules/7.3-cloud-amd64/vmlinuz", "7.3-rc7", "xz"),
	}
}

func newFakeMirror(t testing.TB, suite string, pkgs []fakePkg) *fakeMirror {
	key, _ := testKeys(t)
	m := &fakeMirror{files: map[string][]byte{}, hits: map[string]int{}, keyring: writeKeyring(t, key)}
	m.publish(t, suite, pkgs, key)
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.total.Add(1)
		path := strings.TrimPrefix(r.URL.Path, "/")
		m.mu.Lock()
		m.hits[path]++
		b, ok := m.files[path]
		block := m.blocker
		m.mu.Unlock()
		if block != nil && strings.HasSuffix(path, ".deb") {
			<-block
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// publish (re)writes a signed suite with the given packages.
func (m *fakeMirror) publish(t testing.TB, suite string, pkgs []fakePkg, signer *openpgp.Entity) {
	m.publishUntil(t, suite, pkgs, signer, time.Time{})
}

// publishUntil is publish with a Valid-Until (none when zero).
func (m *fakeMirror) publishUntil(t testing.TB, suite string, pkgs []fakePkg, signer *openpgp.Entity, until time.Time) {
	m.publishArches(t, suite, map[string][]fakePkg{"amd64": pkgs}, signer, until)
}

// publishArches (re)writes a signed suite with an index per architecture.
func (m *fakeMirror) publishArches(t testing.TB, suite string, byArch map[string][]fakePkg, signer *openpgp.Entity, until time.Time) {
	validUntil := ""
	if !until.IsZero() {
		validUntil = "Valid-Until: " + until.UTC().Format(time.RFC1123) + "\n"
	}
	release := fmt.Sprintf("Origin: Debian\nSuite: %s\nCodename: %s\nDate: Sat, 21 Nov 2026 08:00:00 UTC\n%sSHA256:\n", suite, suite, validUntil)
	files := map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		pkgs, ok := byArch[arch]
		if !ok {
			continue
		}
		var idx strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&idx, "Package: %s\nSource: linux\nVersion: %s\nArchitecture: %s\nFilename: %s\nSize: %d\nSHA256: %s\nDescription: Linux for cloud\n a continuation line\n\n",
				p.name, p.version, arch, p.file, len(p.deb), sha256Hex(p.deb))
			files[p.file] = p.deb
		}
		idx.WriteString("Package: bash\nVersion: 5.2-1\nFilename: pool/main/b/bash/bash.deb\nSize: 1\nSHA256: 00\n\n")
		pxz := debtest.Xz(t, []byte(idx.String()))
		release += fmt.Sprintf(" 0000 12 main/binary-%s/Packages\n %s %d main/binary-%s/Packages.xz\n", arch, sha256Hex(pxz), len(pxz), arch)
		files["dists/"+suite+"/main/binary-"+arch+"/Packages.xz"] = pxz
	}
	files["dists/"+suite+"/InRelease"] = clearsigned(t, signer, release)
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range files {
		m.files[k] = v
	}
}

func (m *fakeMirror) edit(f func(files map[string][]byte)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m.files)
}

func (m *fakeMirror) hitsOf(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

func (m *fakeMirror) fetcher(t testing.TB, cache string) *Fetcher {
	return &Fetcher{Mirror: m.srv.URL, Keyring: m.keyring, CacheDir: cache}
}

var (
	image618 = Entry{Name: "6.18", Suites: []string{"test"}, Package: `^linux-image-6\.18\.\d+\+deb13-cloud-amd64$`, Status: "enabled", ABI: 7}
	binary73 = Entry{Name: "7.3", Suites: []string{"test"}, Package: `^linux-binary-7\.3-cloud-amd64$`, Status: "enabled", ABI: 11}
	noLL618  = Entry{Name: "6.18-nolandlock", Suites: []string{"test"}, Package: image618.Package, Cmdline: "lsm=capability", Status: "disabled"}
)
