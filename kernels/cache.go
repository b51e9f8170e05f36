package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/llconform/llconform/internal/arch"
)

// The kernel cache, under CacheDir:
//
//	<package>_<version>/vmlinuz     the extracted image
//	<package>_<version>/meta.json   where it came from (meta)
//	index/<suite>.json              the verified kernel stanzas of a suite (amd64)
//	index/<suite>_<arch>.json       the same for another architecture
//	local-<sha256 prefix>/vmlinuz   images extracted from a user's .deb
//
// Entries appear by renaming a fully written and verified staging
// directory, so a reader never sees half of one.

// meta is what the cache keeps next to each kernel image.
type meta struct {
	Suite         string    `json:"suite"`
	Arch          arch.Arch `json:"arch,omitempty"` // "" in entries written before arm64: amd64
	Package       string    `json:"package"`
	Version       string    `json:"version"`
	DebSHA256     string    `json:"deb_sha256"`
	DebSize       int64     `json:"deb_size"`
	ImageSHA256   string    `json:"vmlinuz_sha256"`
	ImageSize     int64     `json:"vmlinuz_size"`
	ImagePath     string    `json:"vmlinuz_path"` // inside the package
	DownloadMS    int64     `json:"download_ms"`
	DownloadedAt  time.Time `json:"downloaded_at"`
	DownloadedURL string    `json:"downloaded_from"`
}

func kernelDir(cacheDir string, p Package) string {
	return filepath.Join(cacheDir, p.Name+"_"+p.Version)
}

// readMeta returns the meta of a complete cache entry.
func readMeta(dir string) (meta, bool) {
	m, err := checkEntry(dir)
	return m, err == nil
}

// checkEntry returns the meta of a complete cache entry, or why it is not
// one (an error wrapping fs.ErrNotExist when there is no entry at all).
// The image is hashed again (about 10 ms for 14 MB) so that a damaged
// cache is refetched instead of booted.
func checkEntry(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(dir); derr == nil {
			return meta{}, errors.New("has no meta.json (an unfinished or older entry)")
		}
		return meta{}, err
	}
	if err != nil {
		return meta{}, fmt.Errorf("has an unreadable meta.json (%v)", err)
	}
	if json.Unmarshal(b, &m) != nil || m.ImageSHA256 == "" {
		return meta{}, errors.New("has an invalid meta.json")
	}
	f, err := os.Open(filepath.Join(dir, "vmlinuz"))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return meta{}, fmt.Errorf("has no readable image (%v)", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return meta{}, fmt.Errorf("has an unreadable image (%v)", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != m.ImageSHA256 {
		return meta{}, errors.New("image failed its SHA256 check")
	}
	return m, nil
}

// newestCached finds the newest cached kernel matching an entry (at its
// version, when the entry pins one).
func newestCached(cacheDir string, e Entry) (meta, string, bool) {
	re, err := regexp.Compile(e.Package)
	if err != nil {
		return meta{}, "", false
	}
	dirs, _ := os.ReadDir(cacheDir)
	var best meta
	var bestDir string
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(cacheDir, d.Name())
		m, ok := readMeta(dir)
		if !ok || !slices.Contains(e.Suites, m.Suite) || !re.MatchString(m.Package) || (e.Version != "" && m.Version != e.Version) {
			continue
		}
		if bestDir == "" || CompareVersions(m.Version, best.Version) > 0 {
			best, bestDir = m, dir
		}
	}
	return best, bestDir, bestDir != ""
}

// publish renames a complete staging directory to dir. If another process
// published a valid entry first, that one is kept.
func publish(staging, dir string) error {
	if err := os.Rename(staging, dir); err == nil {
		return nil
	}
	if _, ok := readMeta(dir); ok {
		return os.RemoveAll(staging)
	}
	// A broken leftover (e.g. from an older llconform): replace it.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(staging, dir)
}
