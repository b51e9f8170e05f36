package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/internal/arch"
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
		_, err := FromPath(write(name, body), "", arch.AMD64, nil)
		assert.ErrorContains(t, err, "is not an x86 bzImage")
		assert.ErrorContains(t, err, "give a bzImage, a .deb or a kernel build directory")
	}
	_, err := FromPath(filepath.Join(dir, "vmlinux"), "", arch.AMD64, nil)
	assert.ErrorContains(t, err, "ELF file, probably vmlinux")

	img := write("bzImage", fakeImage("6.99.1-custom"))
	k, err := FromPath(img, "", arch.AMD64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "6.99.1-custom", "the name comes from the image header")
	assert.Equal(t, k.Version, "6.99.1-custom")
	assert.Equal(t, k.Image, img)
	assert.Assert(t, k.ExpectedABI == nil)
	assert.Equal(t, k.ExpectedStatus, landlock.State(""))
	assert.Equal(t, k.ImageSHA256, sha256Hex(fakeImage("6.99.1-custom")))
	assert.Equal(t, k.Arch, arch.AMD64)

	noVersion := fakeImage("")
	noVersion[0x20e], noVersion[0x20f] = 0, 0
	k, err = FromPath(write("my-kernel", noVersion), "", arch.AMD64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "my-kernel", "else from the file name")

	write("linux/arch/x86/boot/bzImage", fakeImage("7.4.0-rc1"))
	abi := 12
	k, err = FromPath(filepath.Join(dir, "linux"), "mine", arch.AMD64, &abi)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "mine")
	assert.Equal(t, *k.ExpectedABI, 12)
	assert.Equal(t, k.ExpectedStatus, landlock.Enabled)

	_, err = FromPath(t.TempDir(), "", arch.AMD64, nil)
	assert.ErrorContains(t, err, "without arch/x86/boot/bzImage: build the kernel first")
	_, err = FromPath(t.TempDir(), "", "", nil)
	assert.ErrorContains(t, err, "without arch/x86/boot/bzImage or arch/arm64/boot/Image: build the kernel first")

	for _, layout := range []string{"boot/vmlinuz-6.12.99-custom", "usr/lib/modules/6.12.99-custom/vmlinuz"} {
		deb := write("linux-image-custom_6.12.99_amd64.deb", fakeDeb(t, layout, fakeImage("6.12.99-custom"), "xz"))
		k, err = FromPath(deb, "", arch.AMD64, nil)
		assert.NilError(t, err, layout)
		assert.Equal(t, k.Name, "6.12.99-custom")
		assert.Equal(t, k.Package, "linux-image-custom_6.12.99_amd64.deb")
		b, _ := os.ReadFile(deb)
		assert.Equal(t, k.DebSHA256, sha256Hex(b))
		assert.Equal(t, readImageVersion(t, k.Image), "6.12.99-custom")
		assert.Equal(t, k.Arch, arch.AMD64)
		assert.Assert(t, filepath.IsAbs(k.Image))
	}
	// A .deb by content, whatever its name.
	k, err = FromPath(write("kernel.pkg", fakeDeb(t, "boot/vmlinuz-1", fakeImage("1.0"), "gz")), "", arch.AMD64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "1.0")

	_, err = FromPath(write("tools.deb", fakeDeb(t, "", nil, "xz")), "", arch.AMD64, nil)
	assert.ErrorContains(t, err, "is it a kernel image package?")

	_, err = FromPath(filepath.Join(dir, "missing"), "", arch.AMD64, nil)
	assert.ErrorContains(t, err, "missing")
}

// An arm64 Image, .deb or build directory boots with --arch arm64; a
// kernel of the other architecture is refused with both named, whichever
// way it comes.
func TestFromPathArm64(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", t.TempDir())
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	img := write("Image", fakeArm64Image("6.12.117+deb13-cloud-arm64"))
	k, err := FromPath(img, "", arch.ARM64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Arch, arch.ARM64)
	assert.Equal(t, k.Name, "6.12.117+deb13-cloud-arm64", "the name comes from the Image's banner")

	k, err = FromPath(img, "", "", nil)
	assert.NilError(t, err, "no architecture asked: the image says")
	assert.Equal(t, k.Arch, arch.ARM64)

	_, err = FromPath(img, "", arch.AMD64, nil)
	assert.Error(t, err, img+" is an arm64 Image, an arm64 kernel, but this run boots amd64: run with --arch arm64, "+
		"or give a bzImage, a .deb or a kernel build directory")

	bz := write("bzImage", fakeImage("6.99.1-custom"))
	_, err = FromPath(bz, "", arch.ARM64, nil)
	assert.Error(t, err, bz+" is an x86 bzImage, an amd64 kernel, but this run boots arm64: run with --arch amd64, "+
		"or give an Image (arch/arm64/boot/Image), a .deb or a kernel build directory")

	deb := write("linux-image-6.12.117+deb13-cloud-arm64_6.12.117-1_arm64.deb",
		fakeDeb(t, "boot/vmlinuz-6.12.117+deb13-cloud-arm64", fakeArm64Image("6.12.117+deb13-cloud-arm64"), "xz"))
	_, err = FromPath(deb, "", arch.AMD64, nil)
	assert.ErrorContains(t, err, deb+":boot/vmlinuz-6.12.117+deb13-cloud-arm64 is an arm64 Image, an arm64 kernel, but this run boots amd64: run with --arch arm64")
	cached, _ := filepath.Glob(filepath.Join(os.Getenv("LLCONFORM_CACHE"), "kernels", "local-*"))
	assert.Equal(t, len(cached), 0, "a refused package leaves nothing in the cache")
	k, err = FromPath(deb, "", arch.ARM64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Arch, arch.ARM64)
	assert.Equal(t, k.Package, filepath.Base(deb))
	b, err := os.ReadFile(k.Image)
	assert.NilError(t, err)
	assert.Assert(t, isArm64Image(b))

	write("linux/arch/arm64/boot/Image", fakeArm64Image("7.4.0-rc1"))
	k, err = FromPath(filepath.Join(dir, "linux"), "", arch.ARM64, nil)
	assert.NilError(t, err)
	assert.Equal(t, k.Name, "7.4.0-rc1")
	_, err = FromPath(filepath.Join(dir, "linux"), "", arch.AMD64, nil)
	assert.ErrorContains(t, err, "without arch/x86/boot/bzImage")

	for name, body := range map[string][]byte{
		"Image.gz": {0x1f, 0x8b, 8, 0},
		"vmlinux":  elfHeader(0xb7),
	} {
		_, err := FromPath(write(name, body), "", arch.ARM64, nil)
		assert.ErrorContains(t, err, "is not an arm64 Image")
		assert.ErrorContains(t, err, "give an Image (arch/arm64/boot/Image), a .deb or a kernel build directory")
	}
	_, err = FromPath(filepath.Join(dir, "vmlinux"), "", arch.ARM64, nil)
	assert.ErrorContains(t, err, "probably vmlinux (arm64): boot arch/arm64/boot/Image instead")
	_, err = FromPath(img, "", "riscv64", nil)
	assert.ErrorContains(t, err, `architecture "riscv64": want one of amd64, arm64`)
}

// fakeArm64Image is the header of an arm64 Image (booting.rst: a branch,
// text_offset, image_size, flags, the magic at 0x38) and a banner.
func fakeArm64Image(version string) []byte {
	b := make([]byte, 0x1000)
	copy(b, []byte{0x4d, 0x5a, 0x00, 0x91}) // "MZ" (EFI stub), then a branch
	copy(b[0x38:], "ARM\x64")
	copy(b[0x200:], "Linux version %s (%s)\n") // a format string first
	copy(b[0x400:], "Linux version "+version+" (debian-kernel@lists.debian.org) (gcc) #1 SMP Debian\n")
	return b
}

func elfHeader(machine uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	b[18], b[19] = byte(machine), byte(machine>>8)
	return b
}
