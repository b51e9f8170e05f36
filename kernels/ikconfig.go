package kernels

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
)

// ikcfgStart marks the config a kernel built with CONFIG_IKCONFIG
// carries: a gzip stream after it, IKCFG_ED after that (kernel/configs.c).
const ikcfgStart = "IKCFG_ST"

// maxConfig bounds what an embedded config may inflate to: a real one is
// a few hundred KiB.
const maxConfig = 8 << 20

// imageConfig returns the config an image embeds (CONFIG_IKCONFIG), or
// nil. It looks where that is cheap: in an uncompressed image (arm64's
// Image) and in a bzImage whose payload is gzip; the payload of an xz
// bzImage (tinyconfig's default) carries the x86 BCJ filter, which the
// xz reader here does not have, and zstd has no reader here at all.
func imageConfig(img []byte) []byte {
	if c := embeddedConfig(img); c != nil {
		return c
	}
	payload := bzImagePayload(img)
	if len(payload) < 2 || payload[0] != 0x1f || payload[1] != 0x8b {
		return nil
	}
	z, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil
	}
	vmlinux, err := io.ReadAll(io.LimitReader(z, 256<<20))
	if err != nil && len(vmlinux) == 0 {
		return nil
	}
	return embeddedConfig(vmlinux)
}

// bzImagePayload is the compressed kernel of a bzImage (boot protocol
// 2.08+: payload_offset and payload_length, from the start of the
// protected-mode code after the setup sectors), or nil.
func bzImagePayload(img []byte) []byte {
	if !isBzImage(img) || len(img) < 0x250 {
		return nil
	}
	setup := int(img[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(img[0x248:]))
	n := int(binary.LittleEndian.Uint32(img[0x24c:]))
	if off < 0 || n <= 0 || off+n > len(img) {
		return nil
	}
	return img[off : off+n]
}

// embeddedConfig inflates the config between the IKCONFIG markers of an
// uncompressed kernel, or returns nil.
func embeddedConfig(kernel []byte) []byte {
	i := bytes.Index(kernel, []byte(ikcfgStart))
	if i < 0 {
		return nil
	}
	z, err := gzip.NewReader(bytes.NewReader(kernel[i+len(ikcfgStart):]))
	if err != nil {
		return nil
	}
	z.Multistream(false)
	b, err := io.ReadAll(io.LimitReader(z, maxConfig))
	if err != nil || !bytes.Contains(b, []byte("CONFIG_")) {
		return nil
	}
	return b
}
