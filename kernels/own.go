package kernels

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llconform/llconform/internal/diskio"
)

// ownBuildDir is the kernel build directory of a path given as a user's
// kernel: the directory itself, or the tree an image under arch/*/boot/
// was built in; "" for anything else.
func ownBuildDir(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	dir := path
	if !st.IsDir() {
		boot := filepath.Dir(path)
		if filepath.Base(boot) != "boot" || filepath.Base(filepath.Dir(filepath.Dir(boot))) != "arch" {
			return ""
		}
		dir = filepath.Dir(filepath.Dir(filepath.Dir(boot)))
	}
	if _, err := os.Stat(filepath.Join(dir, "Kconfig")); err != nil {
		if _, err := os.Stat(filepath.Join(dir, ".config")); err != nil {
			return ""
		}
	}
	return dir
}

// OwnConfig returns the kernel config of a user's kernel (a path as
// FromPath takes it): a build directory's .config, the .config of the
// tree an image was built in, the boot/config-* a .deb carries, or the
// config an image embeds (CONFIG_IKCONFIG, where reading it is cheap:
// imageConfig). source says where it came from; a kernel that brings
// none gives nil and no error.
func OwnConfig(path string) (data []byte, source string, err error) {
	if dir := ownBuildDir(path); dir != "" {
		p := filepath.Join(dir, ".config")
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
		return b, p, err
	}
	if !isDeb(path) {
		img, err := os.ReadFile(path)
		if err != nil {
			return nil, "", err
		}
		if c := imageConfig(img); c != nil {
			return c, path + " (CONFIG_IKCONFIG)", nil
		}
		return nil, "", nil
	}
	t, closeDeb, err := OpenDebFiles(path)
	if err != nil {
		return nil, "", err
	}
	defer closeDeb()
	for {
		h, err := t.Next()
		if err == io.EOF {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		if p := strings.TrimPrefix(h.Name, "./"); h.Typeflag == tar.TypeReg && strings.HasPrefix(p, "boot/config-") {
			b, err := io.ReadAll(t)
			return b, path + ":" + p, err
		}
	}
}

func isDeb(path string) bool {
	head, err := readHead(path, len(debMagic))
	return err == nil && string(head) == debMagic
}

// OwnModules returns the named modules of a user's kernel that it built
// as loadable modules, with what they depend on, dependencies first, as
// Fetcher.Modules does for a catalog kernel. They come from modulesDir
// when given (a directory with .ko files under it, such as an installed
// lib/modules/<release>), else from the build directory of path (the .ko
// files the build left), else from the .deb path names. A name with no
// module file is built in, or not built: it is left out. source says
// where the modules came from ("" with none).
func OwnModules(path, modulesDir string, names []string) ([]Module, string, error) {
	var files map[string]moduleFileData
	var source string
	var err error
	switch dir := ownBuildDir(path); {
	case modulesDir != "":
		if st, err := os.Stat(modulesDir); err != nil || !st.IsDir() {
			return nil, "", fmt.Errorf("--modules %s: not a directory", modulesDir)
		}
		files, source = moduleFilesUnder(modulesDir), modulesDir
	case dir != "":
		files, source = moduleFilesUnder(dir), dir
	case isDeb(path):
		if files, err = moduleFiles(path); err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		source = path
	default:
		return nil, "", nil
	}
	var present []string
	for _, n := range names {
		if _, ok := files[n]; ok {
			present = append(present, n)
		}
	}
	if len(present) == 0 {
		return nil, "", nil
	}
	mods, err := resolveModules(files, present, source)
	if err != nil {
		return nil, "", err
	}
	cache, err := diskio.CacheDir("kernels")
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, m := range mods {
		h.Write(m.data)
	}
	out, err := writeModuleDir(filepath.Join(cache, "modules", "own-"+hex.EncodeToString(h.Sum(nil))[:16]), mods)
	return out, source, err
}

// moduleFilesUnder finds the module files under dir by the name the
// kernel uses, to be read when needed. Of two files of one name, the
// first in walk order counts.
func moduleFilesUnder(dir string) map[string]moduleFileData {
	out := map[string]moduleFileData{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable corner of a tree is no reason to stop
		}
		if d.IsDir() {
			if p != dir && slices.Contains([]string{".git", "Documentation", "include", "scripts", "tools"}, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		stem, comp, ok := moduleFile(d.Name())
		if _, seen := out[stem]; ok && !seen && d.Type().IsRegular() {
			out[stem] = moduleFileData{base: d.Name(), comp: comp, path: p}
		}
		return nil
	})
	return out
}
