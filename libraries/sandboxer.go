// Package libraries provides the Landlock libraries under test that are
// not Go modules: today the kernel's reference sandboxer
// (samples/landlock/sandboxer.c), built statically from Debian's
// linux-source package — downloaded and verified against the signed
// Debian index like the kernels — and put into the initramfs.
package libraries

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/vm"
)

// sourceSuites and sourcePattern pick the kernel source the sandboxer is
// built from: the newest released linux-source-X.Y in trixie-backports
// (its 7.3.4 knows ABI 11).
var (
	sourceSuites  = []string{"trixie-backports", "trixie"}
	sourcePattern = `^linux-source-\d+\.\d+$`
)

// Sandboxer returns a static sandboxer binary for the architecture arch
// (amd64, arm64) and its version ("7.3.4-1~bpo13+1"), building it once per
// source package and architecture (cached under the libraries cache).
func Sandboxer(ctx context.Context, f *kernels.Fetcher, ar arch.Arch, note func(string)) ([]byte, string, error) {
	deb, p, err := KernelSource(ctx, f, "sandboxer source")
	if err != nil {
		return nil, "", fmt.Errorf("the kernel's sandboxer: %w", err)
	}
	cache, err := diskio.CacheDir("libraries")
	if err != nil {
		return nil, "", err
	}
	bin := filepath.Join(cache, "sandboxer-"+p.Version)
	if ar != arch.AMD64 {
		bin = filepath.Join(cache, "sandboxer-"+string(ar)+"-"+p.Version)
	}
	if b, err := os.ReadFile(bin); err == nil {
		return b, p.Version, nil
	}
	cc, _, err := CompilerFor(ar)
	if err != nil {
		return nil, "", fmt.Errorf("%w (needed for --library sandboxer on %s)", err, ar)
	}
	if note != nil {
		note(fmt.Sprintf("building the kernel's sandboxer for %s from %s %s (once; unpacking takes a minute)", ar, p.Name, p.Version))
	}
	b, err := build(ctx, cc, deb)
	if err != nil {
		return nil, "", fmt.Errorf("building the kernel's sandboxer from %s %s: %w", p.Name, p.Version, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, "", err
	}
	return b, p.Version, diskio.WriteAtomic(bin, b, 0o755)
}

// KernelSource is the linux-source package the sandboxer is built from
// (and the README's kernel recipe starts from), verified against the
// signed index and kept in the kernels' package cache; label names it in
// the progress lines.
func KernelSource(ctx context.Context, f *kernels.Fetcher, label string) (string, kernels.Package, error) {
	return f.FetchDeb(ctx, label, sourceSuites, sourcePattern)
}

// Files are the initramfs files of the libraries that need any, for a
// guest of the architecture arch.
func Files(ctx context.Context, f *kernels.Fetcher, a arch.Arch, libs []string, note func(string)) ([]vm.File, error) {
	var out []vm.File
	for _, l := range libs {
		if l != "sandboxer" {
			continue
		}
		b, version, err := Sandboxer(ctx, f, a, note)
		if err != nil {
			return nil, err
		}
		// The initramfs paths are relative; the adapter reads them in the guest.
		guest := strings.TrimPrefix(adapter.SandboxerPath, "/")
		out = append(out, vm.File{Path: guest, Data: b, Mode: 0o755},
			vm.File{Path: guest + ".version", Data: []byte(version + "\n"), Mode: 0o644})
	}
	return out, nil
}

// wanted are the files of the source tree the build needs.
var wanted = regexp.MustCompile(`^[^/]+/(samples/landlock/sandboxer\.c|include/uapi/linux/landlock\.h)$`)

// build unpacks sandboxer.c and the UAPI header it needs from the
// linux-source .deb (a source tarball inside the package's payload) and
// compiles it with gcc (the compiler cc) -static.
func build(ctx context.Context, gcc, debPath string) ([]byte, error) {
	payload, closeDeb, err := kernels.OpenDebFiles(debPath)
	if err != nil {
		return nil, err
	}
	defer closeDeb()
	files, err := sourceFiles(payload)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "llconform-sandboxer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, b := range files {
		dst := filepath.Join(dir, "src", name)
		if strings.HasSuffix(name, "landlock.h") {
			dst = filepath.Join(dir, "include", "linux", "landlock.h")
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(dir, "sandboxer")
	cmd := exec.CommandContext(ctx, gcc, "-static", "-O2", "-I", filepath.Join(dir, "include"), "-o", out, filepath.Join(dir, "src", "sandboxer.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s -static: %v: %s (is its libc6-dev installed?)", filepath.Base(gcc), err, bytes.TrimSpace(b))
	}
	return os.ReadFile(out)
}

// sourceFiles takes sandboxer.c and the UAPI landlock.h out of the source
// tarball in the package payload, and stops there.
func sourceFiles(payload *tar.Reader) (map[string][]byte, error) {
	got := map[string][]byte{}
	err := SourceFiles(payload, wanted, func(m []string, b []byte) (bool, error) {
		got[filepath.Base(m[1])] = b
		return len(got) == 2, nil
	})
	if err == nil && len(got) < 2 {
		err = errors.New("the source tarball lacks samples/landlock/sandboxer.c or include/uapi/linux/landlock.h")
	}
	return got, err
}
