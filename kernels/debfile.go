package kernels

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ulikunitz/xz"
)

// FetchDeb resolves a Debian package other than a kernel (the newest
// release matching pattern across suites, as catalog entries resolve),
// downloads it unless the cache has it, and verifies it against the signed
// index. It returns the path of the verified .deb in the cache.
func (f *Fetcher) FetchDeb(ctx context.Context, label string, suites []string, pattern string) (string, Package, error) {
	return f.fetchDeb(ctx, Entry{Name: label, Suites: suites, Package: pattern})
}

// fetchDeb is FetchDeb of the package e names, in the index of e's
// architecture.
func (f *Fetcher) fetchDeb(ctx context.Context, e Entry) (string, Package, error) {
	label := e.Name
	p, _, err := f.resolve(ctx, e, false)
	if err != nil {
		return "", p, err
	}
	dir, err := f.packagesDir()
	if err != nil {
		return "", p, err
	}
	path := filepath.Join(dir, p.Name+"_"+p.Version+".deb")
	defer f.lock(path)()
	if sum, err := fileHash(path); err == nil && sum == p.SHA256 {
		return path, p, nil
	} else if err == nil {
		f.logf("%s: the cached %s %s failed its SHA256 check: fetching again", label, p.Name, p.Version)
	}
	tmp, got, err := f.getTemp(ctx, dir, p.Filename, p.Size, fmt.Sprintf("%s (%s %s)", label, p.Name, p.Version))
	if err != nil {
		return "", p, err
	}
	if got != p.SHA256 {
		os.Remove(tmp)
		return "", p, fmt.Errorf("corrupted download of %s %s: sha256 %s, want %s; deleted, run again", p.Name, p.Version, got, p.SHA256)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", p, err
	}
	return path, p, nil
}

// packagesDir is the cache's directory of downloaded packages.
func (f *Fetcher) packagesDir() (string, error) {
	cache, err := f.cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "packages")
	return dir, os.MkdirAll(dir, 0o755)
}

// getTemp downloads mirror/rel into a new hidden file in dir and returns
// its path and SHA256; nothing is left behind on failure.
func (f *Fetcher) getTemp(ctx context.Context, dir, rel string, size int64, label string) (string, string, error) {
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	_, err = f.get(ctx, rel, io.MultiWriter(tmp, h), size, label)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", "", err
	}
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

func fileHash(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// OpenDebFiles opens the .deb at path and reads its payload as DebFiles
// does (its errors name the file); closeDeb closes the file.
func OpenDebFiles(path string) (t *tar.Reader, closeDeb func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if t, err = DebFiles(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, f.Close, nil
}

// DebFiles reads the payload (data.tar.*) of a .deb as a tar stream.
func DebFiles(deb io.Reader) (*tar.Reader, error) {
	data, name, err := arMember(deb, "data.tar")
	if err != nil {
		return nil, err
	}
	switch name {
	case "data.tar.xz":
		r, err := xz.NewReader(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return tar.NewReader(r), nil
	case "data.tar.gz":
		r, err := gzip.NewReader(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return tar.NewReader(r), nil
	case "data.tar":
		return tar.NewReader(data), nil
	}
	return nil, fmt.Errorf("the package payload is %s, which llconform cannot unpack", name)
}
