package kernels

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
)

// extractVmlinuz finds the kernel image in a .deb without dpkg: the ar
// archive's data.tar.* holds it at boot/vmlinuz-<ver> (linux-image-*) or
// usr/lib/modules/<ver>/vmlinuz (linux-binary-*).
func extractVmlinuz(deb io.Reader) ([]byte, string, error) {
	data, name, err := arMember(deb, "data.tar")
	if err != nil {
		return nil, "", err
	}
	var tr io.Reader
	switch {
	case strings.HasSuffix(name, ".xz"):
		if tr, err = xz.NewReader(data); err != nil {
			return nil, "", err
		}
	case strings.HasSuffix(name, ".gz"):
		if tr, err = gzip.NewReader(data); err != nil {
			return nil, "", err
		}
	case name == "data.tar":
		tr = data
	default:
		return nil, "", fmt.Errorf("unsupported .deb payload %s", name)
	}
	t := tar.NewReader(tr)
	for {
		h, err := t.Next()
		if err == io.EOF {
			return nil, "", fmt.Errorf("no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in the package")
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", name, err)
		}
		p := strings.TrimPrefix(h.Name, "./")
		isImage := strings.HasPrefix(p, "boot/vmlinuz-") ||
			(strings.HasPrefix(p, "usr/lib/modules/") && path.Base(p) == "vmlinuz") ||
			(strings.HasPrefix(p, "lib/modules/") && path.Base(p) == "vmlinuz")
		if isImage && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(t)
			return b, p, err
		}
	}
}

// arMember returns the reader of the first ar member whose name starts
// with prefix, and its name.
func arMember(r io.Reader, prefix string) (io.Reader, string, error) {
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, "", fmt.Errorf("not a Debian package (no ar header)")
	}
	hdr := make([]byte, 60)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, "", fmt.Errorf("no %s* member in the package", prefix)
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("bad ar header for %q", name)
		}
		if strings.HasPrefix(name, prefix) {
			return io.LimitReader(r, size), name, nil
		}
		if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
			return nil, "", err
		}
	}
}

// bzImageVersion reads the version string an x86 bzImage carries (the
// kernel_version field of the setup header), or "".
func bzImageVersion(img []byte) string {
	if len(img) < 0x210 || string(img[0x202:0x206]) != "HdrS" {
		return ""
	}
	off := int(img[0x20e]) | int(img[0x20f])<<8
	if off == 0 || off+0x200 >= len(img) {
		return ""
	}
	s := img[off+0x200:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	v, _, _ := strings.Cut(string(s), " ")
	return v
}

// isBzImage checks the x86 boot sector signature and setup header magic.
func isBzImage(img []byte) bool {
	return len(img) > 0x206 && img[0x1fe] == 0x55 && img[0x1ff] == 0xaa && string(img[0x202:0x206]) == "HdrS"
}
