package kernels

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/llconform/llconform/internal/arch"
)

// The kernel images llconform boots: an x86 bzImage (amd64) and an arm64
// Image (Documentation/arch/arm64/booting.rst), which Debian's arm64
// packages ship uncompressed as vmlinuz. Their headers say which is
// which: a file of one architecture must never boot in the other's QEMU,
// where it would fail without a word.

// arm64 Image header: a 64-byte header with the magic "ARM\x64" at 0x38.
const (
	arm64MagicOff = 0x38
	arm64Magic    = "ARM\x64"
	riscvMagicOff = 0x38 // RISC-V Images put "RSC\x05" in the same place
	riscvMagic    = "RSC\x05"
)

// isArm64Image checks the magic of an arm64 Image header.
func isArm64Image(img []byte) bool {
	return len(img) >= arm64MagicOff+4 && string(img[arm64MagicOff:arm64MagicOff+4]) == arm64Magic
}

// imageArch names the architecture of a kernel image: amd64 or arm64, or
// "" with a description of what the file is instead.
func imageArch(img []byte) (a arch.Arch, what string) {
	switch {
	case isBzImage(img):
		return arch.AMD64, "an x86 bzImage"
	case isArm64Image(img):
		return arch.ARM64, "an arm64 Image"
	case len(img) == 0:
		return "", "empty"
	case bytes.HasPrefix(img, []byte("\x7fELF")):
		return "", elfWhat(img)
	case bytes.HasPrefix(img, []byte{0x1f, 0x8b}):
		return "", "gzip data"
	case len(img) >= 8 && string(img[4:8]) == "zimg":
		return "", "a compressed EFI zboot image"
	case len(img) >= riscvMagicOff+4 && string(img[riscvMagicOff:riscvMagicOff+4]) == riscvMagic:
		return "", "a RISC-V Image"
	}
	return "", "no x86 HdrS header and no arm64 Image magic"
}

// elfWhat describes an ELF file by its machine.
func elfWhat(img []byte) string {
	const what = "an ELF file, probably vmlinux"
	if len(img) < 20 {
		return what
	}
	switch elf.Machine(binary.LittleEndian.Uint16(img[18:20])) {
	case elf.EM_X86_64:
		return what + " (x86-64): boot arch/x86/boot/bzImage instead"
	case elf.EM_AARCH64:
		return what + " (arm64): boot arch/arm64/boot/Image instead"
	}
	return what
}

// imageName is how errors name an architecture's image.
func imageName(a arch.Arch) string {
	if a == arch.ARM64 {
		return "an arm64 Image"
	}
	return "an x86 bzImage"
}

// giveImage says what to give instead.
func giveImage(ar arch.Arch) string {
	if ar == arch.ARM64 {
		return "give an Image (arch/arm64/boot/Image), a .deb or a kernel build directory"
	}
	return "give a bzImage, a .deb or a kernel build directory"
}

// checkImage refuses an image that is not a kernel of arch, naming both
// architectures when it is a kernel of the other one.
func checkImage(name string, a arch.Arch, img []byte) error {
	got, what := imageArch(img)
	switch {
	case got == a:
		return nil
	case got != "":
		return fmt.Errorf("%s is %s, an %s kernel, but this run boots %s: run with --arch %s, or %s", name, what, got, a, got, giveImage(a))
	}
	return fmt.Errorf("%s is not %s (%s): %s", name, imageName(a), what, giveImage(a))
}

// imageVersion returns the release the image announces (like uname -r),
// or "": the bzImage's kernel_version field, or the banner an arm64
// Image holds ("Linux version <release> (...").
func imageVersion(img []byte) string {
	if isBzImage(img) {
		return bzImageVersion(img)
	}
	if !isArm64Image(img) {
		return ""
	}
	const banner = "Linux version "
	for rest := img; ; {
		i := bytes.Index(rest, []byte(banner))
		if i < 0 {
			return ""
		}
		rest = rest[i+len(banner):]
		s := rest[:min(len(rest), 256)]
		v, after, ok := bytes.Cut(s, []byte(" ("))
		if ok && len(v) > 0 && len(after) > 0 && printable(v) && !bytes.ContainsRune(v, '%') {
			return string(v) // the banner itself, not a format string
		}
	}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
