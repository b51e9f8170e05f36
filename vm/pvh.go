package vm

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// An x86 bzImage is a decompressor with the kernel as its payload. Under
// TCG the decompressor is slow: a Debian 7.3 bzImage took 2.8 s from
// QEMU's start to the kernel's first line, its uncompressed ELF (booted
// through the PVH entry that QEMU finds in the ELF's notes) 0.65 s. The
// kernel that runs is the same: the payload, byte for byte.

// pvhKernel returns the image to boot for the x86 kernel at path: the
// uncompressed kernel of a bzImage whose kernel has a PVH entry, made once
// and kept in the cache under the bzImage's SHA-256, or else path itself
// (an image that is no bzImage, or whose payload cannot be used: why).
func pvhKernel(path string) (string, string) {
	img, err := os.ReadFile(path)
	if err != nil {
		return path, err.Error()
	}
	sum := sha256.Sum256(img)
	cache, err := diskio.CacheDir("vm")
	if err != nil {
		return path, err.Error()
	}
	elfPath := filepath.Join(cache, "vmlinux-pvh-"+hex.EncodeToString(sum[:12]))
	if _, err := os.Stat(elfPath); err == nil {
		return elfPath, ""
	}
	vmlinux, err := bzImagePayload(img)
	if err == nil {
		err = hasPVHEntry(vmlinux)
	}
	if err != nil {
		return path, err.Error()
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return path, err.Error()
	}
	if err := diskio.WriteAtomic(elfPath, vmlinux, 0o644); err != nil {
		return path, err.Error()
	}
	return elfPath, ""
}

// bzImagePayload decompresses the kernel of a bzImage (x86 boot protocol
// 2.08 or later: payload_offset and payload_length in the setup header).
// The build appends the uncompressed size (le32) to every payload; it
// must match.
func bzImagePayload(img []byte) ([]byte, error) {
	if len(img) < 0x250 || string(img[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage")
	}
	if v := binary.LittleEndian.Uint16(img[0x206:]); v < 0x208 {
		return nil, fmt.Errorf("boot protocol %#x has no payload fields", v)
	}
	setupSects := int(img[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	off := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(img[0x248:]))
	n := int(binary.LittleEndian.Uint32(img[0x24c:]))
	if n < 8 || off+n > len(img) {
		return nil, errors.New("payload outside the image")
	}
	payload, size := img[off:off+n-4], binary.LittleEndian.Uint32(img[off+n-4:])
	r, err := decompressor(payload)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := io.CopyN(out, r, int64(size)); err != nil {
		return nil, fmt.Errorf("decompressing the payload: %w", err)
	}
	return out.Bytes(), nil
}

// decompressor reads the payload by its magic number: the compressors
// the kernel's build offers, except LZO (no Go reader).
func decompressor(p []byte) (io.Reader, error) {
	br := bytes.NewReader(p)
	switch {
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<31))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case bytes.HasPrefix(p, []byte{0x02, 0x21, 0x4c, 0x18}): // LZ4 legacy frames
		return lz4.NewReader(br), nil
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xz.NewReader(br)
	case bytes.HasPrefix(p, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(p, []byte{0x5d, 0, 0}):
		return lzma.NewReader(br)
	}
	return nil, fmt.Errorf("payload compressed with an unknown method (magic % x)", p[:min(4, len(p))])
}

// hasPVHEntry checks that b is an x86-64 ELF with the Xen note that names
// the PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY, type 18): QEMU boots an
// ELF kernel only through it.
func hasPVHEntry(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("the payload is not an ELF: %w", err)
	}
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("the payload is an ELF for %v", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(p.Open())
		if err != nil {
			return err
		}
		for len(notes) >= 12 {
			nameSz := int(binary.LittleEndian.Uint32(notes))
			descSz := int(binary.LittleEndian.Uint32(notes[4:]))
			typ := binary.LittleEndian.Uint32(notes[8:])
			name := notes[12:min(len(notes), 12+nameSz)]
			if typ == 18 && string(bytes.TrimRight(name, "\x00")) == "Xen" {
				return nil
			}
			next := 12 + align4(nameSz) + align4(descSz)
			if next > len(notes) {
				break
			}
			notes = notes[next:]
		}
	}
	return errors.New("the kernel has no PVH entry (CONFIG_PVH)")
}

func align4(n int) int { return (n + 3) &^ 3 }
