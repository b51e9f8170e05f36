package kernels

import (
	"bytes"
	"strings"
)

// Offsets of the x86 boot protocol (Documentation/arch/x86/boot.rst).
const (
	bootFlagOff  = 0x1fe // 0xAA55, the boot sector signature
	headerOff    = 0x202 // "HdrS"
	versionPtr   = 0x20e // kernel_version: offset of the version string, minus 0x200
	setupHdrBase = 0x200
)

// isBzImage checks the boot sector signature and the setup header magic.
func isBzImage(img []byte) bool {
	return len(img) >= headerOff+4 &&
		img[bootFlagOff] == 0x55 && img[bootFlagOff+1] == 0xaa &&
		string(img[headerOff:headerOff+4]) == "HdrS"
}

// bzImageVersion returns the release the image announces (the first word
// of its version string, like uname -r), or "".
func bzImageVersion(img []byte) string {
	if !isBzImage(img) || len(img) < versionPtr+2 {
		return ""
	}
	off := int(img[versionPtr]) | int(img[versionPtr+1])<<8
	if off == 0 {
		return ""
	}
	off += setupHdrBase
	if off >= len(img) {
		return ""
	}
	s := img[off:min(len(img), off+256)]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	v, _, _ := strings.Cut(string(s), " ")
	for _, c := range v {
		if c < 0x21 || c > 0x7e {
			return "" // not text: a header that lies
		}
	}
	return v
}
