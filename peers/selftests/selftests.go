// Package selftests builds the peer of `llconform bench`: the kernel's
// own Landlock selftests (tools/testing/selftests/landlock), compiled
// statically from the same verified linux-source package the sandboxer
// comes from, against that source's UAPI headers, for the guest's
// architecture. The agent runs them in its selftests mode
// (harness/agent/selftests.go).
package selftests

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/libraries"
	"github.com/llconform/llconform/vm"
)

// Files are the initramfs files of the selftests for a guest of the
// architecture a, under protocol.SelftestsDir, and the version of the
// source package they were built from. The build happens once per source
// version and architecture; its binaries stay in the cache.
func Files(ctx context.Context, f *kernels.Fetcher, a arch.Arch, note func(string)) ([]vm.File, string, error) {
	dir, version, err := Build(ctx, f, a, note)
	if err != nil {
		return nil, "", err
	}
	var out []vm.File
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, vm.File{Path: protocol.SelftestsDir + "/" + filepath.ToSlash(rel), Data: b, Mode: 0o755})
		return nil
	})
	return out, version, err
}

// Build returns the cache directory holding, for architecture a, the
// static selftest programs and their helpers in landlock/ and the busybox
// they call as /bin/sh and ip, building it when the cache lacks it.
func Build(ctx context.Context, f *kernels.Fetcher, a arch.Arch, note func(string)) (string, string, error) {
	a = a.OrDefault()
	deb, p, err := libraries.KernelSource(ctx, f, "selftests source")
	if err != nil {
		return "", "", fmt.Errorf("the kernel's selftests: %w", err)
	}
	cache, err := diskio.CacheDir("peers")
	if err != nil {
		return "", "", err
	}
	out := filepath.Join(cache, "selftests-"+string(a)+"-"+p.Version)
	if _, err := os.Stat(out); err == nil {
		return out, p.Version, nil
	}
	tc, err := toolchainFor(a)
	if err != nil {
		return "", "", err
	}
	if err := tc.check(ctx); err != nil {
		return "", "", err
	}
	src := filepath.Join(cache, "selftests-src-"+p.Version)
	if _, err := os.Stat(src); err != nil {
		if note != nil {
			note(fmt.Sprintf("unpacking the kernel's selftests from %s %s (once; a minute or two)", p.Name, p.Version))
		}
		if err := unpack(deb, src); err != nil {
			return "", "", fmt.Errorf("unpacking the selftests from %s %s: %w", p.Name, p.Version, err)
		}
	}
	if note != nil {
		note(fmt.Sprintf("building the kernel's Landlock selftests for %s from %s %s (once)", a, p.Name, p.Version))
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", err
	}
	tmp, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	if err := compile(ctx, tc.gcc, src, filepath.Join(tmp, "landlock")); err != nil {
		return "", "", fmt.Errorf("building the selftests of %s %s for %s: %w", p.Name, p.Version, a, err)
	}
	bb, err := busybox(ctx, tc)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "busybox"), bb, 0o755); err != nil {
		return "", "", err
	}
	return out, p.Version, publish(tmp, out)
}

// busybox is Debian's busybox-static for the toolchain's architecture,
// which apt-get downloads and checks against the host's signed index: the
// net tests run "ip link set dev lo up" through system(), which needs
// /bin/sh and ip.
func busybox(ctx context.Context, tc toolchain) ([]byte, error) {
	dir, err := os.MkdirTemp("", "llconform-busybox-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pkg := "busybox-static:" + string(tc.arch)
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apt-get download %s: %v: %s (the selftests call /bin/sh and ip; %s)", pkg, err, tail(string(b), 500), tc.indexHint)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download %s left %d packages", pkg, len(debs))
	}
	payload, closeDeb, err := kernels.OpenDebFiles(debs[0])
	if err != nil {
		return nil, err
	}
	defer closeDeb()
	for {
		h, err := payload.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s has no bin/busybox", filepath.Base(debs[0]))
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimPrefix(h.Name, "./") == "bin/busybox" && h.Typeflag == tar.TypeReg {
			return io.ReadAll(payload)
		}
	}
}

// toolchain is the C compiler for one guest architecture and the Debian
// packages that bring it and the static libcap the tests link.
type toolchain struct {
	arch      arch.Arch
	gcc       string
	install   string // what to run when something is missing
	indexHint string // how apt gets to know the architecture's packages
}

func toolchainFor(a arch.Arch) (toolchain, error) {
	gcc, install, err := libraries.CompilerFor(a, "libcap-dev")
	if err != nil {
		return toolchain{}, fmt.Errorf("%w (needed to build the kernel's selftests for %s)", err, a)
	}
	tc := toolchain{arch: a, gcc: gcc, install: install, indexHint: "run apt-get update"}
	if a != arch.Arch(runtime.GOARCH) {
		tc.indexHint = fmt.Sprintf("run dpkg --add-architecture %s && apt-get update", a)
	}
	return tc, nil
}

// check asks the compiler for the static libcap: gcc prints the bare name
// back when no directory of its search path has the file.
func (tc toolchain) check(ctx context.Context) error {
	b, err := exec.CommandContext(ctx, tc.gcc, "-print-file-name=libcap.a").Output()
	if err != nil {
		return fmt.Errorf("%s -print-file-name: %v", filepath.Base(tc.gcc), err)
	}
	if !strings.Contains(string(b), "/") {
		return fmt.Errorf("no libcap.a for %s: %s (the kernel's selftests link libcap statically)", tc.arch, tc.install)
	}
	return nil
}

// wanted are the files of the source tree the build needs: the Landlock
// selftests, the kselftest harness headers, and the UAPI headers.
var wanted = regexp.MustCompile(`^[^/]+/(tools/testing/selftests/(kselftest[^/]*\.h|landlock/[^/]+)|include/uapi/linux/.+\.h)$`)

// unpack takes the wanted files out of the source tarball in the package
// payload into dst: the selftests under selftests/, the UAPI headers
// prepared as `make headers_install` does under usr/include/linux.
func unpack(debPath, dst string) error {
	payload, closeDeb, err := kernels.OpenDebFiles(debPath)
	if err != nil {
		return err
	}
	defer closeDeb()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := sourceFiles(payload, func(name string, b []byte) error {
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o644)
	}); err != nil {
		return err
	}
	return publish(tmp, dst)
}

// publish renames the finished directory tmp to dst; another run that
// published it first leaves its copy in place.
func publish(tmp, dst string) error {
	err := os.Rename(tmp, dst)
	if err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil
		}
	}
	return err
}

// sourceFiles passes each wanted file of the source tarball in the
// package payload to put, under its name in the prepared tree.
func sourceFiles(payload *tar.Reader, put func(name string, data []byte) error) error {
	found := map[string]bool{}
	err := libraries.SourceFiles(payload, wanted, func(m []string, b []byte) (bool, error) {
		name := strings.TrimPrefix(m[1], "tools/testing/")
		if rest, ok := strings.CutPrefix(m[1], "include/uapi/"); ok {
			name, b = "usr/include/"+rest, exportHeader(b)
		}
		found[name] = true
		return false, put(name, b)
	})
	if err != nil {
		return err
	}
	for _, need := range []string{"selftests/landlock/Makefile", "selftests/kselftest_harness.h", "usr/include/linux/landlock.h"} {
		if !found[need] {
			return fmt.Errorf("the source tarball lacks %s", need)
		}
	}
	return nil
}

// The rewrites of the kernel's scripts/headers_install.sh: kernel-only
// annotations go, the compiler keywords take their reserved spelling, and
// the include guards lose their _UAPI prefix. (Its unifdef of
// __EXPORTED_HEADERS__ is the compiler's -D in compile.)
var exportRewrites = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`([ \t(])(__user|__force|__iomem)[ \t]`), "$1"},
	{regexp.MustCompile(`__attribute_const__([ \t]|$)`), "$1"},
	{regexp.MustCompile(`(?m)^#include <linux/compiler(|_types)\.h>`), ""},
	{regexp.MustCompile(`(^|[^a-zA-Z0-9])__packed([^a-zA-Z0-9_]|$)`), "${1}__attribute__((packed))$2"},
	{regexp.MustCompile(`(^|[ \t(])(inline|asm|volatile)([ \t(]|$)`), "${1}__${2}__$3"},
	{regexp.MustCompile(`(?m)^#(ifndef|define|endif[ \t]*/[*])[ \t]*_UAPI`), "#$1 "},
}

// exportHeader rewrites one UAPI header as headers_install does, line by
// line (the script's sed works on lines).
func exportHeader(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		for _, r := range exportRewrites {
			l = r.re.ReplaceAll(l, []byte(r.with))
		}
		lines[i] = l
	}
	return bytes.Join(lines, []byte("\n"))
}

// helpers are the programs the Landlock Makefile lists in
// TEST_GEN_PROGS_EXTENDED: the tests execute them (./true and so on).
func helpers(makefile []byte) []string {
	var out []string
	text := strings.ReplaceAll(string(makefile), "\\\n", " ")
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "TEST_GEN_PROGS_EXTENDED" || (f[1] != ":=" && f[1] != "+=" && f[1] != "=") {
			continue
		}
		for _, p := range f[2:] {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// programs are the tests the Makefile builds from $(wildcard *_test.c),
// in name order. fs_bench, which it builds too, is left out: a benchmark
// of path walks (10000 directories, 100000 lookups by default), not a
// test with verdicts.
func programs(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*_test.c"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(filepath.Base(m), ".c"))
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no *_test.c in %s", dir)
	}
	return out, nil
}

// compile builds every test and helper statically from the prepared tree
// src into the new directory out. The
// flags are the selftests' own (lib.mk and the Landlock Makefile), with
// the source's headers in place of an installed usr/include.
func compile(ctx context.Context, gcc, src, out string) error {
	dir := filepath.Join(src, "selftests", "landlock")
	mk, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		return err
	}
	tests, err := programs(dir)
	if err != nil {
		return err
	}
	helps := helpers(mk)
	if len(helps) == 0 {
		return errors.New("the Landlock Makefile lists no TEST_GEN_PROGS_EXTENDED")
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	flags := []string{"-Wall", "-O2", "-D_GNU_SOURCE=", "-D__EXPORTED_HEADERS__",
		"-I", filepath.Join(src, "selftests"), "-isystem", filepath.Join(src, "usr", "include"), "-static"}
	for _, p := range append(tests, helps...) {
		args := append(slices.Clone(flags), "-o", filepath.Join(out, p), p+".c")
		if !slices.Contains(helps, p) {
			args = append(args, "-lcap", "-lpthread")
		}
		cmd := exec.CommandContext(ctx, gcc, args...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s.c: %v: %s", filepath.Base(gcc), p, err, tail(string(b), 2000))
		}
	}
	return nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
