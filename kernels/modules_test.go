package kernels

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/debtest"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
)

// fakeModule is a minimal ELF64 relocatable object whose only section
// besides the section names is .modinfo with the given strings, ending
// like a signed module.
func fakeModule(modinfo ...string) []byte {
	return append(unsignedModule(modinfo...), moduleSigMagic...)
}

func unsignedModule(modinfo ...string) []byte {
	var info []byte
	for _, s := range modinfo {
		info = append(append(info, s...), 0)
	}
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	le := binary.LittleEndian
	var b bytes.Buffer
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(hdr[16:], 1)  // ET_REL
	le.PutUint16(hdr[18:], 62) // EM_X86_64
	le.PutUint32(hdr[20:], 1)
	shoff := 64 + len(info) + len(shstr)
	shoff += (8 - shoff%8) % 8
	le.PutUint64(hdr[40:], uint64(shoff))
	le.PutUint16(hdr[52:], 64) // e_ehsize
	le.PutUint16(hdr[58:], 64) // e_shentsize
	le.PutUint16(hdr[60:], 3)  // e_shnum
	le.PutUint16(hdr[62:], 2)  // e_shstrndx
	b.Write(hdr)
	b.Write(info)
	b.Write(shstr)
	for b.Len() < shoff {
		b.WriteByte(0)
	}
	section := func(name, typ uint32, off, size int) {
		sh := make([]byte, 64)
		le.PutUint32(sh[0:], name)
		le.PutUint32(sh[4:], typ)
		le.PutUint64(sh[24:], uint64(off))
		le.PutUint64(sh[32:], uint64(size))
		le.PutUint64(sh[48:], 1)
		b.Write(sh)
	}
	section(0, 0, 0, 0)
	section(1, 1, 64, len(info))             // .modinfo, PROGBITS
	section(10, 3, 64+len(info), len(shstr)) // .shstrtab, STRTAB
	return b.Bytes()
}

// The modules asked for come with what they depend on, dependencies
// first, whatever the compression and however the file names spell "_".
func TestExtractModules(t *testing.T) {
	dir := "./usr/lib/modules/x/kernel/"
	deb := debWith(t, "xz",
		debFile{dir + "net/sctp/sctp.ko.xz", debtest.Xz(t, fakeModule("license=GPL", "depends=udp_tunnel,libcrc32c", "name=sctp"))},
		debFile{dir + "fs/overlayfs/overlay.ko.xz", debtest.Xz(t, fakeModule("depends=", "name=overlay"))},
		debFile{dir + "net/ipv4/udp_tunnel.ko", fakeModule("depends=", "name=udp_tunnel")},
		debFile{dir + "lib/libcrc32c.ko.xz", debtest.Xz(t, fakeModule("depends=crc32c_generic", "name=libcrc32c"))},
		debFile{dir + "crypto/crc32c-generic.ko", fakeModule("name=crc32c_generic")},
		debFile{dir + "net/unrelated.ko", fakeModule("depends=sctp", "name=unrelated")},
	)
	path := filepath.Join(t.TempDir(), "m.deb")
	assert.NilError(t, os.WriteFile(path, deb, 0o644))
	mods, err := extractModules(path, []string{"overlay", "sctp"})
	assert.NilError(t, err)
	var names []string
	for _, m := range mods {
		names = append(names, m.name)
	}
	assert.DeepEqual(t, names, []string{"overlay", "udp_tunnel", "crc32c_generic", "libcrc32c", "sctp"})

	cached, err := writeModuleDir(filepath.Join(t.TempDir(), "mods"), mods)
	assert.NilError(t, err)
	assert.Equal(t, len(cached), 5)
	assert.Equal(t, cached[3].Name, "libcrc32c")
	assert.Equal(t, filepath.Base(cached[3].Path), "03-libcrc32c.ko")
	got, err := os.ReadFile(cached[3].Path)
	assert.NilError(t, err)
	assert.Assert(t, bytes.HasPrefix(got, []byte("\x7fELF")), "decompressed")

	_, err = extractModules(path, []string{"nosuch"})
	assert.ErrorContains(t, err, "no module nosuch in the package")
}

// A soft dependency (libcrc32c's "pre: crc32c" of the generic and rt
// kernels, where the crc32c algorithm is a module) is loaded before the
// module, by the module that provides the alias, the generic one first.
func TestExtractModulesSoftdep(t *testing.T) {
	dir := "./usr/lib/modules/x/kernel/"
	deb := debWith(t, "xz",
		debFile{dir + "net/sctp/sctp.ko.xz", debtest.Xz(t, fakeModule("depends=libcrc32c", "name=sctp"))},
		debFile{dir + "lib/libcrc32c.ko.xz", debtest.Xz(t, fakeModule("softdep=pre: crc32c", "depends=", "name=libcrc32c"))},
		debFile{dir + "arch/x86/crypto/crc32c-intel.ko.xz", debtest.Xz(t, fakeModule("alias=crypto-crc32c", "alias=crc32c", "name=crc32c_intel"))},
		debFile{dir + "crypto/crc32c_generic.ko.xz", debtest.Xz(t, fakeModule("alias=crypto-crc32c", "alias=crc32c", "name=crc32c_generic"))},
		debFile{dir + "crypto/crc32c_nothere.ko", fakeModule("alias=other", "name=crc32c_nothere")},
		debFile{dir + "fs/overlayfs/overlay.ko.xz", debtest.Xz(t, fakeModule("softdep=pre: nosuchalias", "name=overlay"))},
	)
	path := filepath.Join(t.TempDir(), "m.deb")
	assert.NilError(t, os.WriteFile(path, deb, 0o644))
	mods, err := extractModules(path, []string{"overlay", "sctp"})
	assert.NilError(t, err, "a soft dependency nothing provides is no error: the kernel may have it built in")
	var names []string
	for _, m := range mods {
		names = append(names, m.name)
	}
	assert.DeepEqual(t, names, []string{"overlay", "crc32c_generic", "libcrc32c", "sctp"})
}

func TestModulesPackage(t *testing.T) {
	assert.Equal(t, modulesPackage("linux-binary-7.3.4+deb13-cloud-arm64"), "linux-modules-7.3.4+deb13-cloud-arm64")
	assert.Equal(t, modulesPackage("linux-image-6.1.0-50-cloud-amd64"), "linux-image-6.1.0-50-cloud-amd64")
}

func TestModuleFile(t *testing.T) {
	for _, c := range []struct{ base, stem, comp string }{
		{"crc32c-intel.ko.xz", "crc32c_intel", "xz"},
		{"sctp.ko", "sctp", ""},
		{"overlay.ko.zst", "overlay", "zst"},
	} {
		stem, comp, ok := moduleFile(c.base)
		assert.Assert(t, ok, c.base)
		assert.Equal(t, stem, c.stem)
		assert.Equal(t, comp, c.comp)
	}
	for _, base := range []string{"modules.order", "x.ko.sig", ".ko"} {
		_, _, ok := moduleFile(base)
		assert.Assert(t, !ok, base)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(fakeModule("name=x"))
	assert.NilError(t, zw.Close())
	got, err := decompressModule(&gz, "gz")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, fakeModule("name=x"))
	_, err = decompressModule(bytes.NewReader(nil), "zst")
	assert.ErrorContains(t, err, "zst-compressed module")
}

// A linux-binary kernel's modules come from linux-modules-* of the same
// version, in the index of the kernel's architecture; the second call
// reads the cache and downloads nothing.
func TestModulesOfAnArm64Kernel(t *testing.T) {
	key, _ := testKeys(t)
	mods := "./usr/lib/modules/7.3.4+deb13-cloud-arm64/kernel/"
	m := newFakeMirror(t, "trixie-backports", nil)
	m.publishArches(t, "trixie-backports", map[string][]fakePkg{
		"amd64": {{"linux-modules-7.3.4+deb13-cloud-arm64", "7.3.4-1~bpo13+1", "pool/main/l/linux/wrong_amd64.deb",
			debWith(t, "xz")}},
		"arm64": {
			{"linux-binary-7.3.4+deb13-cloud-arm64", "7.3.4-1~bpo13+1", "pool/main/l/linux-signed-arm64/k_arm64.deb",
				fakeDeb(t, "usr/lib/modules/7.3.4+deb13-cloud-arm64/vmlinuz", fakeArm64Image("7.3.4+deb13-cloud-arm64"), "xz")},
			{"linux-modules-7.3.4+deb13-cloud-arm64", "7.3.4-1~bpo13+1", "pool/main/l/linux/m_arm64.deb", debWith(t, "xz",
				debFile{mods + "fs/overlayfs/overlay.ko.xz", debtest.Xz(t, fakeModule("depends=", "name=overlay"))},
				debFile{mods + "net/sctp/sctp.ko.xz", debtest.Xz(t, fakeModule("depends=udp_tunnel", "name=sctp"))},
				debFile{mods + "net/ipv4/udp_tunnel.ko.xz", debtest.Xz(t, fakeModule("depends=", "name=udp_tunnel"))})},
		},
	}, key, time.Time{})
	f := m.fetcher(t, t.TempDir())
	e, ok := Lookup("7.3", arch.ARM64)
	assert.Assert(t, ok)
	e.Suites = []string{"trixie-backports"}
	k, err := f.Fetch(context.Background(), e)
	assert.NilError(t, err)
	for range 2 {
		got, err := f.Modules(context.Background(), k, GuestModules)
		assert.NilError(t, err)
		var names []string
		for _, m := range got {
			names = append(names, m.Name)
		}
		assert.DeepEqual(t, names, []string{"overlay", "udp_tunnel", "sctp"})
	}
	assert.Equal(t, m.hitsOf("pool/main/l/linux/m_arm64.deb"), 1, "the second call reads the cache")
	assert.Equal(t, m.hitsOf("pool/main/l/linux/wrong_amd64.deb"), 0)
	_, err = os.Stat(filepath.Join(f.CacheDir, "packages", "linux-modules-7.3.4+deb13-cloud-arm64_7.3.4-1~bpo13+1.deb"))
	assert.Assert(t, os.IsNotExist(err), "only the modules are kept, not the package")

	_, err = f.Modules(context.Background(), Kernel{Name: "mine", Package: "x.deb"}, GuestModules)
	assert.ErrorContains(t, err, "not a catalog kernel")
}

// A modules package the signed index no longer lists is taken from the
// pool, where the linux source keeps it, when its modules are signed; when
// the pool lacks it too, that is said, not a series that left the archive.
func TestModulesTheIndexNoLongerLists(t *testing.T) {
	key, _ := testKeys(t)
	m := newFakeMirror(t, "trixie-backports", nil)
	m.publishArches(t, "trixie-backports", map[string][]fakePkg{
		"amd64": {binaryPkg(t, "linux-binary-7.3.4+deb13-cloud-amd64", "7.3.4-1~bpo13+1", "7.3.4+deb13-cloud-amd64")},
	}, key, time.Time{})
	f := m.fetcher(t, t.TempDir())
	e, ok := Lookup("7.3", arch.AMD64)
	assert.Assert(t, ok)
	e.Suites = []string{"trixie-backports"}
	k, err := f.Fetch(context.Background(), e)
	assert.NilError(t, err)
	_, err = f.Modules(context.Background(), k, GuestModules)
	assert.ErrorContains(t, err, "the signed trixie-backports index (amd64) no longer lists linux-modules-7.3.4+deb13-cloud-amd64, and the pool does not have it either")

	mods := "./usr/lib/modules/7.3.4+deb13-cloud-amd64/kernel/"
	pool := "pool/main/l/linux/linux-modules-7.3.4+deb13-cloud-amd64_7.3.4-1~bpo13+1_amd64.deb"
	publish := func(overlay []byte) {
		m.edit(func(files map[string][]byte) {
			files[pool] = debWith(t, "xz",
				debFile{mods + "fs/overlayfs/overlay.ko.xz", debtest.Xz(t, overlay)},
				debFile{mods + "net/sctp/sctp.ko.xz", debtest.Xz(t, fakeModule("depends=", "name=sctp"))})
		})
	}
	publish(unsignedModule("depends=", "name=overlay"))
	_, err = f.Modules(context.Background(), k, GuestModules)
	assert.ErrorContains(t, err, "module overlay carries no signature: refused")

	publish(fakeModule("depends=", "name=overlay"))
	got, err := f.Modules(context.Background(), k, GuestModules)
	assert.NilError(t, err)
	assert.Equal(t, len(got), 2)
	left, _ := filepath.Glob(filepath.Join(f.CacheDir, "packages", "*"))
	assert.Equal(t, len(left), 0, "only the modules are kept: %v", left)
}
