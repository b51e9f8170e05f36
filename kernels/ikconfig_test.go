package kernels

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/internal/debtest"

	"gotest.tools/v3/assert"
)

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	return buf.Bytes()
}

// withPayload makes a fake bzImage carry payload as its compressed kernel.
func withPayload(payload []byte) []byte {
	img := fakeImage("7.3.4")
	img[0x1f1] = 1 // one setup sector: the kernel starts at 0x400
	binary.LittleEndian.PutUint32(img[0x248:], 0)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	return append(img, payload...)
}

// A kernel built with CONFIG_IKCONFIG brings its config inside the image:
// read from a gzip bzImage and from an uncompressed Image, not from what
// llconform cannot unpack.
func TestImageConfig(t *testing.T) {
	config := "CONFIG_X86_64=y\n# CONFIG_AUDIT is not set\n"
	kernel := append(append([]byte("\x7fELF code ... IKCFG_ST"), gzipBytes(t, []byte(config))...), "IKCFG_ED more code"...)

	assert.Equal(t, string(imageConfig(withPayload(gzipBytes(t, kernel)))), config)
	assert.Equal(t, string(imageConfig(kernel)), config, "an uncompressed image")
	assert.Assert(t, imageConfig(withPayload(debtest.Xz(t, kernel))) == nil, "xz: not read")
	assert.Assert(t, imageConfig(withPayload(gzipBytes(t, []byte("no config in this kernel")))) == nil)
	assert.Assert(t, imageConfig(fakeImage("7.3.4")) == nil)

	img := filepath.Join(t.TempDir(), "bzImage")
	assert.NilError(t, os.WriteFile(img, withPayload(gzipBytes(t, kernel)), 0o644))
	b, source, err := OwnConfig(img)
	assert.NilError(t, err)
	assert.Equal(t, source, img+" (CONFIG_IKCONFIG)")
	assert.Equal(t, string(b), config)
}
