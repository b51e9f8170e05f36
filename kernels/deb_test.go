package kernels

import (
	"bytes"
	"testing"

	"gotest.tools/v3/assert"
)

func TestExtractVmlinuz(t *testing.T) {
	img := fakeImage("6.1.0-50-cloud-amd64")
	for _, tc := range []struct{ path, comp string }{
		{"boot/vmlinuz-6.1.0-50-cloud-amd64", "xz"},
		{"usr/lib/modules/7.1.13+deb13-cloud-amd64/vmlinuz", "xz"},
		{"boot/vmlinuz-6.1.0-50-cloud-amd64", "gz"},
		{"lib/modules/4.0/vmlinuz", ""},
	} {
		b, p, err := extractVmlinuz(bytes.NewReader(fakeDeb(t, tc.path, img, tc.comp)))
		assert.NilError(t, err, tc)
		assert.Equal(t, p, tc.path)
		assert.DeepEqual(t, b, img)
	}

	_, _, err := extractVmlinuz(bytes.NewReader(fakeDeb(t, "", nil, "xz")))
	assert.ErrorContains(t, err, "no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz")
	_, _, err = extractVmlinuz(bytes.NewReader(fakeDeb(t, "boot/vmlinuz-x", img, "zst")))
	assert.ErrorContains(t, err, "data.tar.zst, which llconform cannot unpack")
	_, _, err = extractVmlinuz(bytes.NewReader([]byte("MZ not a deb")))
	assert.ErrorContains(t, err, "not a Debian package")
	deb := fakeDeb(t, "boot/vmlinuz-x", img, "xz")
	_, _, err = extractVmlinuz(bytes.NewReader(deb[:len(deb)/2]))
	assert.ErrorContains(t, err, "")
	_, _, err = extractVmlinuz(bytes.NewReader(deb[:100]))
	assert.ErrorContains(t, err, "truncated package")
}

func TestIsImagePath(t *testing.T) {
	for p, want := range map[string]bool{
		"boot/vmlinuz-6.12.107+deb13-cloud-amd64":          true,
		"usr/lib/modules/7.1.13+deb13-cloud-amd64/vmlinuz": true,
		"lib/modules/5.10.0-32-cloud-amd64/vmlinuz":        true,
		"boot/config-6.12.107+deb13-cloud-amd64":           false,
		"usr/lib/modules/7.1.13/kernel/vmlinuz":            false,
		"usr/lib/modules//vmlinuz":                         false,
		"usr/share/doc/vmlinuz":                            false,
	} {
		assert.Equal(t, isImagePath(p), want, p)
	}
}

func TestBzImageHeader(t *testing.T) {
	img := fakeImage("6.99.1-custom")
	assert.Assert(t, isBzImage(img))
	assert.Equal(t, bzImageVersion(img), "6.99.1-custom")

	noSig := bytes.Clone(img)
	noSig[0x1fe] = 0
	assert.Assert(t, !isBzImage(noSig))
	noPtr := bytes.Clone(img)
	noPtr[0x20e], noPtr[0x20f] = 0, 0
	assert.Equal(t, bzImageVersion(noPtr), "")
	farPtr := bytes.Clone(img)
	farPtr[0x20f] = 0x7f
	assert.Equal(t, bzImageVersion(farPtr), "")
	binary := bytes.Clone(img)
	copy(binary[0x300:], "\x01\x02\x03 x")
	assert.Equal(t, bzImageVersion(binary), "")
	assert.Assert(t, !isBzImage(img[:0x203]))
}
