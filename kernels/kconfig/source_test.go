package kconfig_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/kernels/kconfig"
	"github.com/llconform/llconform/libraries"
	"github.com/ulikunitz/xz"
	"gotest.tools/v3/assert"
)

// The README's recipe on a real tree: the linux-source package the
// sandboxer comes from (fetched and verified the same way, and cached),
// make tinyconfig, then the fragment merged in with merge_config.sh and
// make olddefconfig. tinyconfig lacks what the suites need; with the
// fragment nothing is missing, so no option of the fragment is dropped by
// Kconfig for a dependency it does not name. The kernel build itself is
// a manual step (README).
func TestRecipeConfigOnARealTree(t *testing.T) {
	if testing.Short() {
		t.Skip("unpacks and configures a kernel source tree (about two minutes the first time)")
	}
	for _, tool := range []string{"make", "gcc", "flex", "bison"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: apt-get install make gcc flex bison (the kernel's config tools need them)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	f, err := kernels.NewFetcher()
	assert.NilError(t, err)
	deb, p, err := libraries.KernelSource(ctx, f, "kernel source")
	if kernels.IsUnreachable(err) {
		t.Skipf("offline: %v", err)
	}
	assert.NilError(t, err)
	src := configTree(t, deb, p)

	out := t.TempDir()
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		assert.NilError(t, err, "%s: %s", strings.Join(args, " "), b)
	}
	// Out of tree (O=): the cached source stays as unpacked.
	run(src, "make", "-s", "O="+out, "ARCH=x86_64", "tinyconfig")
	tiny, err := kconfig.Load(filepath.Join(out, ".config"))
	assert.NilError(t, err)
	missing := map[string]bool{}
	for _, o := range tiny.Missing() {
		missing[o.Name] = true
	}
	for _, want := range []string{"SECURITY_LANDLOCK", "AUDIT", "DEVTMPFS", "TMPFS", "SERIAL_8250", "USER_NS", "OVERLAY_FS", "ACPI"} {
		assert.Assert(t, missing[want], "tinyconfig has %s", want)
	}

	frag := filepath.Join(out, "llconform.config")
	assert.NilError(t, os.WriteFile(frag, []byte(kconfig.Fragment("amd64")), 0o644))
	run(out, filepath.Join(src, "scripts", "kconfig", "merge_config.sh"), "-m", ".config", frag)
	run(src, "make", "-s", "O="+out, "ARCH=x86_64", "olddefconfig")
	merged, err := kconfig.Load(filepath.Join(out, ".config"))
	assert.NilError(t, err)
	var left []string
	for _, o := range merged.Missing() {
		left = append(left, o.Name)
	}
	assert.DeepEqual(t, left, []string(nil))
	assert.Equal(t, merged.Arch(), arch.AMD64)
}

// configPart matches the files of a kernel tree that make's config
// targets read: every Kconfig, Makefile and Kbuild file, the scripts and
// the config fragments (make tinyconfig reads kernel/configs/tiny.config
// and arch/x86/configs/tiny.config).
var configPart = regexp.MustCompile(`^[^/]+/((.*/)?(Kconfig|Makefile|Kbuild)[^/]*|scripts/.*|arch/[^/]+/(configs|tools)/.*|kernel/configs/.*)$`)

// configTree unpacks the config part of the source package's tree into
// the cache once per version (about 50 MB of the 1.5 GB tree) and
// returns its directory.
func configTree(t *testing.T, deb string, p kernels.Package) string {
	cache, err := diskio.CacheDir("libraries")
	assert.NilError(t, err)
	dir := filepath.Join(cache, "kconfig-"+p.Name+"_"+p.Version)
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err == nil {
		return dir
	}
	t.Logf("unpacking the config part of %s %s into %s (once)", p.Name, p.Version, dir)
	staging := dir + ".staging"
	os.RemoveAll(staging)
	fh, err := os.Open(deb)
	assert.NilError(t, err)
	defer fh.Close()
	payload, err := kernels.DebFiles(fh)
	assert.NilError(t, err)
	for {
		h, err := payload.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: no usr/src/linux-source-*.tar.xz", deb)
		}
		assert.NilError(t, err)
		if !strings.HasPrefix(strings.TrimPrefix(h.Name, "./"), "usr/src/linux-source-") || !strings.HasSuffix(h.Name, ".tar.xz") {
			continue
		}
		xr, err := xz.NewReader(payload)
		assert.NilError(t, err)
		unpack(t, tar.NewReader(xr), staging)
		break
	}
	os.RemoveAll(dir)
	assert.NilError(t, os.Rename(staging, dir))
	return dir
}

// unpack writes the config part of a source tarball under dir, without
// its top directory.
func unpack(t *testing.T, src *tar.Reader, dir string) {
	for {
		h, err := src.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		assert.NilError(t, err)
		if !configPart.MatchString(h.Name) || strings.Contains(h.Name, "..") {
			continue
		}
		_, rel, _ := strings.Cut(h.Name, "/")
		dst := filepath.Join(dir, rel)
		assert.NilError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(src)
			assert.NilError(t, err)
			assert.NilError(t, os.WriteFile(dst, b, os.FileMode(h.Mode)&0o777))
		case tar.TypeSymlink:
			assert.NilError(t, os.Symlink(h.Linkname, dst))
		}
	}
}
