package kernels

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// debMagic opens every .deb: it is an ar archive.
const debMagic = "!<arch>\n"

// extractVmlinuz finds the kernel image in a .deb without dpkg: the ar
// archive's data.tar.* holds it at boot/vmlinuz-<ver> (linux-image-*) or
// usr/lib/modules/<ver>/vmlinuz (linux-binary-*). It returns the image and
// its path inside the package.
func extractVmlinuz(deb io.Reader) ([]byte, string, error) {
	t, err := DebFiles(deb)
	if err != nil {
		return nil, "", fmt.Errorf("%w: extract the kernel yourself (dpkg-deb -x) and give the bzImage", err)
	}
	const name = "the package payload"
	for {
		h, err := t.Next()
		if err == io.EOF {
			return nil, "", errors.New("no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in the package: is it a kernel image package?")
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", name, err)
		}
		p := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeReg && isImagePath(p) {
			b, err := io.ReadAll(t)
			if err != nil {
				return nil, "", fmt.Errorf("reading %s from %s: %w", p, name, err)
			}
			return b, p, nil
		}
	}
}

// isImagePath matches both layouts (and the pre-merged-/usr lib/modules).
func isImagePath(p string) bool {
	if strings.HasPrefix(p, "boot/vmlinuz-") {
		return true
	}
	for _, pre := range []string{"usr/lib/modules/", "lib/modules/"} {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			ver, file, ok := strings.Cut(rest, "/")
			return ok && ver != "" && file == "vmlinuz"
		}
	}
	return false
}

// arMember returns a reader for the first member of an ar archive whose
// name starts with prefix, and its full name. The format is an 8-byte
// magic, then per member a 60-byte text header (name 16, mtime 12, uid 6,
// gid 6, mode 8, size 10, "`\n") and the data padded to an even length.
func arMember(r io.Reader, prefix string) (io.Reader, string, error) {
	magic := make([]byte, len(debMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != debMagic {
		return nil, "", errors.New("not a Debian package (no ar header)")
	}
	hdr := make([]byte, 60)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return nil, "", fmt.Errorf("no %s* member in the package", prefix)
			}
			return nil, "", fmt.Errorf("truncated package: %w", err)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, "", errors.New("corrupt ar member header in the package")
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, "", fmt.Errorf("bad ar header for %q", name)
		}
		if strings.HasPrefix(name, prefix) {
			return io.LimitReader(r, size), name, nil
		}
		if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
			return nil, "", fmt.Errorf("truncated package: %w", err)
		}
	}
}
