package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/internal/debtest"

	"gotest.tools/v3/assert"
)

// ownTree is a kernel build directory with a .config, a built image and
// the .ko files a build with overlayfs and SCTP as modules leaves.
func ownTree(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range map[string][]byte{
		"Kconfig":                 []byte("mainmenu \"Linux\"\n"),
		".config":                 []byte("CONFIG_X86_64=y\nCONFIG_OVERLAY_FS=m\n"),
		"arch/x86/boot/bzImage":   fakeImage("7.3.4"),
		"fs/overlayfs/overlay.ko": unsignedModule("name=overlay"),
		"net/sctp/sctp.ko":        unsignedModule("depends=libcrc32c", "name=sctp"),
		"lib/libcrc32c.ko":        unsignedModule("name=libcrc32c"),
		"drivers/other.ko":        unsignedModule("name=other"),
	} {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, body, 0o644))
	}
	return dir
}

func moduleNames(mods []Module) []string {
	var out []string
	for _, m := range mods {
		out = append(out, m.Name)
	}
	return out
}

func TestOwnConfig(t *testing.T) {
	dir := ownTree(t)
	for _, p := range []string{dir, filepath.Join(dir, "arch", "x86", "boot", "bzImage")} {
		b, source, err := OwnConfig(p)
		assert.NilError(t, err)
		assert.Equal(t, source, filepath.Join(dir, ".config"), p)
		assert.Equal(t, string(b), "CONFIG_X86_64=y\nCONFIG_OVERLAY_FS=m\n")
	}

	// A bare image brings no config.
	img := filepath.Join(t.TempDir(), "bzImage")
	assert.NilError(t, os.WriteFile(img, fakeImage("7.3.4"), 0o644))
	b, source, err := OwnConfig(img)
	assert.NilError(t, err)
	assert.Assert(t, b == nil && source == "")

	deb := filepath.Join(t.TempDir(), "k.deb")
	assert.NilError(t, os.WriteFile(deb, fakeDeb(t, "boot/vmlinuz-x", fakeImage("7.3.4"), "xz"), 0o644))
	b, source, err = OwnConfig(deb)
	assert.NilError(t, err)
	assert.Equal(t, source, deb+":boot/config-x")
	assert.Equal(t, string(b), "CONFIG_SECURITY_LANDLOCK=y\n")
}

// The modules of a user's kernel come from its build directory, its
// .deb or --modules, with their dependencies, as a catalog kernel's do.
func TestOwnModules(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", t.TempDir())
	dir := ownTree(t)
	for _, p := range []string{dir, filepath.Join(dir, "arch", "x86", "boot", "bzImage")} {
		mods, source, err := OwnModules(p, "", GuestModules)
		assert.NilError(t, err)
		assert.Equal(t, source, dir)
		assert.DeepEqual(t, moduleNames(mods), []string{"overlay", "libcrc32c", "sctp"})
		b, err := os.ReadFile(mods[2].Path)
		assert.NilError(t, err)
		assert.DeepEqual(t, b, unsignedModule("depends=libcrc32c", "name=sctp"))
	}

	// --modules wins over the build directory; a name it lacks is
	// built in (or not built): left out.
	only := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(only, "overlay.ko.xz"), debtest.Xz(t, unsignedModule("name=overlay")), 0o644))
	mods, source, err := OwnModules(dir, only, GuestModules)
	assert.NilError(t, err)
	assert.Equal(t, source, only)
	assert.DeepEqual(t, moduleNames(mods), []string{"overlay"})
	_, _, err = OwnModules(dir, filepath.Join(only, "overlay.ko.xz"), GuestModules)
	assert.ErrorContains(t, err, "not a directory")

	// A dependency that is missing is an error that says where.
	assert.NilError(t, os.Remove(filepath.Join(dir, "lib", "libcrc32c.ko")))
	_, _, err = OwnModules(dir, "", GuestModules)
	assert.ErrorContains(t, err, "no module libcrc32c in "+dir)

	// A .deb that carries its modules.
	deb := filepath.Join(t.TempDir(), "k.deb")
	m := "./usr/lib/modules/x/kernel/"
	assert.NilError(t, os.WriteFile(deb, debWith(t, "xz",
		debFile{"./boot/vmlinuz-x", fakeImage("7.3.4")},
		debFile{m + "net/sctp/sctp.ko", unsignedModule("name=sctp")}), 0o644))
	mods, source, err = OwnModules(deb, "", GuestModules)
	assert.NilError(t, err)
	assert.Equal(t, source, deb)
	assert.DeepEqual(t, moduleNames(mods), []string{"sctp"})

	// A bare image has none.
	img := filepath.Join(t.TempDir(), "bzImage")
	assert.NilError(t, os.WriteFile(img, fakeImage("7.3.4"), 0o644))
	mods, source, err = OwnModules(img, "", GuestModules)
	assert.NilError(t, err)
	assert.Assert(t, mods == nil && source == "")
}
