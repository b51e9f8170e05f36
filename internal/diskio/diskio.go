// Package diskio holds the two file-system habits every llconform package
// shares: where the cache lives, and writing a file so that no reader
// ever sees it half written.
package diskio

import (
	"errors"
	"os"
	"path/filepath"
)

// CacheDir is the cache directory for one kind of content (kernels, vm):
// $LLCONFORM_CACHE/<kind>, else <user cache dir>/llconform/<kind>.
func CacheDir(kind string) (string, error) {
	if d := os.Getenv("LLCONFORM_CACHE"); d != "" {
		return filepath.Join(d, kind), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errors.New("no cache directory: set LLCONFORM_CACHE (or HOME or XDG_CACHE_HOME)")
	}
	return filepath.Join(d, "llconform", kind), nil
}

// WriteAtomic writes b to path through a unique temporary name in the same
// directory and renames it into place: concurrent writers never share a
// temporary file, and readers see the old content or the new, never part.
func WriteAtomic(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), perm); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
