package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
)

func TestFromPath(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", t.TempDir())
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, b, 0o644))
		return p
	}

	for name, body := range map[string][]byte{
		"garbage": []byte("not a kernel"),
		"empty":   nil,
		"vmlinux": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 0x300)...),
	} {
		_, err := FromPath(write(name, body), "", nil)
		assert.ErrorContains(t, err, "is not an x86 bzImage")
		assert.ErrorContains(t, err, "give a bzImage, a .deb or a kernel build directory")
	}
	_, err := FromPath(filepath.Join(dir, "vmlinux"), "", nil)
	assert.ErrorContains(t, err, "ELF file, probably vmlinux")

	img := write("bzImage", fakeImage("6.99.1-custom"))
	k, err := FromPath(img, "", nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "6.99.1-custom", "the name comes from the image header")
	assert.Equal(t, k.Version, "6.99.1-custom")
	assert.Equal(t, k.Image, img)
	assert.Assert(t, k.ExpectedABI == nil)
	assert.Equal(t, k.ExpectedStatus, landlock.State(""))
	assert.Equal(t, k.ImageSHA256, sha256Hex(fakeImage("6.99.1-custom")))

	noVersion := fakeImage("")
	noVersion[0x20e], noVersion[0x20f] = 0, 0
	k, err = FromPath(write("my-kernel", noVersion), "", nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "my-kernel", "else from the file name")

	write("linux/arch/x86/boot/bzImage", fakeImage("7.4.0-rc1"))
	abi := 12
	k, err = FromPath(filepath.Join(dir, "linux"), "mine", &abi)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "mine")
	assert.Equal(t, *k.ExpectedABI, 12)
	assert.Equal(t, k.ExpectedStatus, landlock.Enabled)

	_, err = FromPath(t.TempDir(), "", nil)
	assert.ErrorContains(t, err, "without arch/x86/boot/bzImage: build the kernel first")

	for _, layout := range []string{"boot/vmlinuz-6.12.99-custom", "usr/lib/modules/6.12.99-custom/vmlinuz"} {
		deb := write("linux-image-custom_6.12.99_amd64.deb", fakeDeb(t, layout, fakeImage("6.12.99-custom"), "xz"))
		k, err = FromPath(deb, "", nil)
		assert.NilError(t, err, layout)
		assert.Equal(t, k.Name, "6.12.99-custom")
		assert.Equal(t, k.Package, "linux-image-custom_6.12.99_amd64.deb")
		b, _ := os.ReadFile(deb)
		assert.Equal(t, k.DebSHA256, sha256Hex(b))
		assert.Equal(t, readImageVersion(t, k.Image), "6.12.99-custom")
		assert.Assert(t, filepath.IsAbs(k.Image))
	}
	// A .deb by content, whatever its name.
	k, err = FromPath(write("kernel.pkg", fakeDeb(t, "boot/vmlinuz-1", fakeImage("1.0"), "gz")), "", nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "1.0")

	_, err = FromPath(write("tools.deb", fakeDeb(t, "", nil, "xz")), "", nil)
	assert.ErrorContains(t, err, "is it a kernel image package?")

	_, err = FromPath(filepath.Join(dir, "missing"), "", nil)
	assert.ErrorContains(t, err, "missing")
}
