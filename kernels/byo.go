package kernels

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/landlock"
)

// FromPath accepts a kernel the user brings: a kernel image (an x86
// bzImage for amd64, an arm64 Image for arm64), a local .deb (the image
// is extracted into the cache) or a kernel build directory
// (arch/x86/boot/bzImage, arch/arm64/boot/Image). arch is the
// architecture the run boots: an image of another one is refused with both
// named; "" accepts either, and the image says which. name defaults to the
// release in the image, else the file name. expectedABI may be nil: the
// caller then takes whatever the kernel reports. A positive expected ABI
// also means Landlock is expected to be enabled; 0 leaves the state open
// (absent and disabled both report no ABI).
func FromPath(path, name string, a arch.Arch, expectedABI *int) (Kernel, error) {
	if a != "" {
		if _, err := arch.Parse(string(a)); err != nil {
			return Kernel{}, err
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel %s: %w: %s", path, err, giveImage(a))
	}
	src := path
	if st.IsDir() {
		if src, err = buildDirImage(path, a); err != nil {
			return Kernel{}, err
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
	label := src
	var data []byte
	if string(head[:min(len(head), len(debMagic))]) == debMagic {
		var member string
		if data, member, k.DebSHA256, err = fromDeb(src); err != nil {
			return Kernel{}, err
		}
		k.Package = filepath.Base(src)
		label = src + ":" + member
	} else if data, err = os.ReadFile(src); err != nil {
		return Kernel{}, err
	}
	got, _ := imageArch(data)
	want := a
	if want == "" && got != "" {
		want = got
	}
	if want == "" {
		want = arch.AMD64 // for the message: neither architecture's image
	}
	if err := checkImage(label, want, data); err != nil {
		return Kernel{}, err
	}
	img := src
	if k.DebSHA256 != "" {
		if img, err = cacheLocal(k.DebSHA256, data); err != nil {
			return Kernel{}, err
		}
	}
	if img, err = filepath.Abs(img); err != nil {
		return Kernel{}, err
	}
	k.Arch, k.Image, k.ImageSHA256, k.Version = got, img, sha256Hex(data), imageVersion(data)
	if k.Name == "" {
		k.Name = k.Version
	}
	if k.Name == "" {
		k.Name = filepath.Base(filepath.Clean(path))
	}
	return k, nil
}

// buildDirImage finds the image of a kernel build directory: the one of
// arch, or ("" arch) whichever exists.
func buildDirImage(dir string, ar arch.Arch) (string, error) {
	paths := map[arch.Arch]string{arch.AMD64: filepath.Join("arch", "x86", "boot", "bzImage"), arch.ARM64: filepath.Join("arch", "arm64", "boot", "Image")}
	var tried []string
	for _, a := range arch.All {
		if ar != "" && a != ar {
			continue
		}
		p := filepath.Join(dir, paths[a])
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, paths[a])
	}
	return "", fmt.Errorf("%s is a directory without %s: build the kernel first (make), or give the image itself", dir, strings.Join(tried, " or "))
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

// fromDeb reads the image of a user's .deb and returns it, its path in
// the package and the package's SHA256.
func fromDeb(src string) ([]byte, string, string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, "", "", err
	}
	defer f.Close()
	h := sha256.New()
	b, member, err := extractVmlinuz(bufio.NewReaderSize(io.TeeReader(f, h), 1<<20))
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", src, err)
	}
	if _, err := io.Copy(h, f); err != nil { // the rest of the package, for its hash
		return nil, "", "", err
	}
	return b, member, hex.EncodeToString(h.Sum(nil)), nil
}

// cacheLocal keeps the checked image of a user's .deb in the cache, keyed
// by the package's hash, and returns its path.
func cacheLocal(debSHA256 string, img []byte) (string, error) {
	cache, err := diskio.CacheDir("kernels")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "local-"+debSHA256[:16])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "vmlinuz")
	return path, diskio.WriteAtomic(path, img, 0o644)
}
