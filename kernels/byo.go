package kernels

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FromPath accepts a kernel the user brings: a bzImage, a local .deb or a
// kernel build directory (arch/x86/boot/bzImage). The name defaults to the
// version string in the image; the expected ABI may be unknown (nil).
func FromPath(path, name string, expectedABI *int) (Kernel, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel %s: %w", path, err)
	}
	img := path
	if st.IsDir() {
		img = filepath.Join(path, "arch", "x86", "boot", "bzImage")
		if _, err := os.Stat(img); err != nil {
			return Kernel{}, fmt.Errorf("%s is a directory without arch/x86/boot/bzImage: build the kernel first (make bzImage)", path)
		}
	}
	var data []byte
	k := Kernel{Name: name, ExpectedABI: expectedABI}
	if strings.HasSuffix(img, ".deb") {
		f, err := os.Open(img)
		if err != nil {
			return Kernel{}, err
		}
		defer f.Close()
		b, _, err := extractVmlinuz(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return Kernel{}, fmt.Errorf("%s: %w", img, err)
		}
		data = b
		cache, err := os.UserCacheDir()
		if err != nil {
			return Kernel{}, err
		}
		sum := sha256.Sum256(b)
		dir := filepath.Join(cache, "llconform", "kernels", "local-"+hex.EncodeToString(sum[:8]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Kernel{}, err
		}
		img = filepath.Join(dir, "vmlinuz")
		if err := writeAtomic(img, b); err != nil {
			return Kernel{}, err
		}
		k.Package = filepath.Base(path)
	} else if data, err = os.ReadFile(img); err != nil {
		return Kernel{}, err
	}
	if !isBzImage(data) {
		return Kernel{}, fmt.Errorf("%s is not an x86 bzImage (no HdrS boot header): give a bzImage, a .deb or a kernel build directory", path)
	}
	sum := sha256.Sum256(data)
	k.Image, k.ImageSHA256, k.Version = img, hex.EncodeToString(sum[:]), bzImageVersion(data)
	if k.Name == "" {
		k.Name = k.Version
		if k.Name == "" {
			k.Name = filepath.Base(path)
		}
	}
	return k, nil
}
