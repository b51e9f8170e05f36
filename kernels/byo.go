package kernels

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/landlock"
)

// FromPath accepts a kernel the user brings: an x86 bzImage, a local .deb
// (the image is extracted into the cache) or a kernel build directory
// (arch/x86/boot/bzImage). name defaults to the release in the image
// header, else the file name. expectedABI may be nil: the caller then
// takes whatever the kernel reports. A positive expected ABI also means
// Landlock is expected to be enabled; 0 leaves the state open (absent and
// disabled both report no ABI).
func FromPath(path, name string, expectedABI *int) (Kernel, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel %s: %w: give a bzImage, a .deb or a kernel build directory", path, err)
	}
	src := path
	if st.IsDir() {
		src = filepath.Join(path, "arch", "x86", "boot", "bzImage")
		if _, err := os.Stat(src); err != nil {
			return Kernel{}, fmt.Errorf("%s is a directory without arch/x86/boot/bzImage: build the kernel first (make bzImage), or give the image itself", path)
		}
	}
	k := Kernel{Name: name, ExpectedABI: expectedABI, Cached: true}
	if expectedABI != nil && *expectedABI > 0 {
		k.ExpectedStatus = landlock.Enabled
	}
	head, err := readHead(src, 16)
	if err != nil {
		return Kernel{}, err
	}
	img := src
	if string(head[:min(len(head), len(debMagic))]) == debMagic {
		if img, k.DebSHA256, err = fromDeb(src); err != nil {
			return Kernel{}, err
		}
		k.Package = filepath.Base(src)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		return Kernel{}, err
	}
	if !isBzImage(data) {
		return Kernel{}, notBzImage(src, head)
	}
	if img, err = filepath.Abs(img); err != nil {
		return Kernel{}, err
	}
	k.Image, k.ImageSHA256, k.Version = img, sha256Hex(data), bzImageVersion(data)
	if k.Name == "" {
		k.Name = k.Version
	}
	if k.Name == "" {
		k.Name = filepath.Base(filepath.Clean(path))
	}
	return k, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return b[:m], err
}

// fromDeb extracts the image of a user's .deb into the cache, keyed by the
// package's hash, and returns its path and the package's SHA256.
func fromDeb(src string) (string, string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	b, member, err := extractVmlinuz(bufio.NewReaderSize(io.TeeReader(f, h), 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", src, err)
	}
	if !isBzImage(b) {
		return "", "", notBzImage(src+":"+member, b[:min(len(b), 16)])
	}
	if _, err := io.Copy(h, f); err != nil { // the rest of the package, for its hash
		return "", "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	cache, err := diskio.CacheDir("kernels")
	if err != nil {
		return "", "", err
	}
	dir := filepath.Join(cache, "local-"+sum[:16])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	img := filepath.Join(dir, "vmlinuz")
	if err := diskio.WriteAtomic(img, b, 0o644); err != nil {
		return "", "", err
	}
	return img, sum, nil
}
