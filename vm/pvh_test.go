package vm

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"gotest.tools/v3/assert"
)

// tinyELF is an x86-64 ELF header with one PT_NOTE program header over
// a note of the given owner and type.
func tinyELF(owner string, typ uint32) []byte {
	le := binary.LittleEndian
	name := append([]byte(owner), 0)
	note := le.AppendUint32(nil, uint32(len(name)))
	note = le.AppendUint32(note, 4)
	note = le.AppendUint32(note, typ)
	note = append(note, name...)
	for len(note)%4 != 0 {
		note = append(note, 0)
	}
	note = le.AppendUint32(note, 0x1000000) // the entry address
	b := make([]byte, 64+56)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], 2)     // ET_EXEC
	le.PutUint16(b[18:], 62)    // EM_X86_64
	le.PutUint32(b[20:], 1)     // version
	le.PutUint64(b[32:], 64)    // phoff
	le.PutUint16(b[52:], 64)    // ehsize
	le.PutUint16(b[54:], 56)    // phentsize
	le.PutUint16(b[56:], 1)     // phnum
	le.PutUint32(b[64:], 4)     // PT_NOTE
	le.PutUint64(b[64+8:], 120) // offset
	le.PutUint64(b[64+32:], uint64(len(note)))
	le.PutUint64(b[64+40:], uint64(len(note)))
	return append(b, note...)
}

// bzImage wraps a compressed payload the way the kernel's build does:
// boot sector, setup header (protocol 2.15) with payload_offset and
// payload_length, and the uncompressed size appended to the payload.
func bzImage(payload []byte, size int) []byte {
	le := binary.LittleEndian
	img := make([]byte, 5*512+16)
	img[0x1f1] = 4
	img[0x1fe], img[0x1ff] = 0x55, 0xaa
	copy(img[0x202:], "HdrS")
	le.PutUint16(img[0x206:], 0x20f)
	le.PutUint32(img[0x248:], 16)
	payload = le.AppendUint32(append([]byte(nil), payload...), uint32(size))
	le.PutUint32(img[0x24c:], uint32(len(payload)))
	return append(img, payload...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	return w.EncodeAll(b, nil)
}

func TestBzImagePayloadIsTheKernelByteForByte(t *testing.T) {
	kernel := tinyELF("Xen", 18)
	for name, compressed := range map[string][]byte{"gzip": gz(kernel), "zstd": zst(kernel)} {
		got, err := bzImagePayload(bzImage(compressed, len(kernel)))
		assert.NilError(t, err, name)
		assert.DeepEqual(t, got, kernel)
		assert.NilError(t, hasPVHEntry(got), name)
	}
}

func TestPVHEntryIsRequired(t *testing.T) {
	assert.ErrorContains(t, hasPVHEntry(tinyELF("Xen", 17)), "no PVH entry")
	assert.ErrorContains(t, hasPVHEntry(tinyELF("GNU", 18)), "no PVH entry")
	assert.ErrorContains(t, hasPVHEntry([]byte("not an elf")), "not an ELF")
}

func TestBzImagePayloadRefusesWhatItCannotCheck(t *testing.T) {
	kernel := tinyELF("Xen", 18)
	_, err := bzImagePayload([]byte("MZ not a bzImage"))
	assert.ErrorContains(t, err, "not a bzImage")
	// A size trailer that does not match the payload: the image is damaged.
	_, err = bzImagePayload(bzImage(gz(kernel), len(kernel)+100))
	assert.ErrorContains(t, err, "decompressing")
	_, err = bzImagePayload(bzImage([]byte("LZO?payload"), 10))
	assert.ErrorContains(t, err, "unknown method")
}

// pvhKernel boots the payload when it can and falls back to the image,
// saying why, when it cannot.
func TestPVHKernelFallsBackWithAReason(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", t.TempDir())
	dir := t.TempDir()
	kernel := tinyELF("Xen", 18)
	good := filepath.Join(dir, "good")
	assert.NilError(t, os.WriteFile(good, bzImage(zst(kernel), len(kernel)), 0o644))
	path, why := pvhKernel(good)
	assert.Equal(t, why, "")
	got, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, kernel)

	noPVH := filepath.Join(dir, "nopvh")
	plain := tinyELF("Xen", 17)
	assert.NilError(t, os.WriteFile(noPVH, bzImage(gz(plain), len(plain)), 0o644))
	path, why = pvhKernel(noPVH)
	assert.Equal(t, path, noPVH)
	assert.Assert(t, why != "")
}
