package kernels

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ulikunitz/xz"
)

// GuestModules are the modules some cases need that Debian's cloud kernels
// build as loadable modules: overlayfs (the fs/mount overlay cases) and
// SCTP (the tcp cases that SCTP is not a TCP right's business). The VM's
// initramfs loads them, with their dependencies, before the suites run;
// without them those cases skip with the reason.
var GuestModules = []string{"overlay", "sctp"}

// Module is one kernel module, decompressed, ready for finit_module.
type Module struct {
	Name string // the module's own name (modinfo name=)
	Path string // the .ko in the cache
}

// Modules returns the named modules of the catalog kernel k and every
// module they depend on, dependencies first, from the kernel's own Debian
// packages: linux-image-* carries its modules, linux-binary-* leaves them
// to linux-modules-* of the same version. The first call downloads that
// package (verified against the signed index like the kernel), keeps the
// modules asked for under modules/<package>_<version>/ in the cache and
// drops the package.
func (f *Fetcher) Modules(ctx context.Context, k Kernel, names []string) ([]Module, error) {
	if k.Suite == "" {
		return nil, fmt.Errorf("%s: not a catalog kernel, its modules are not known", k.Name)
	}
	pkg := modulesPackage(k.Package)
	cache, err := f.cacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "modules", pkg+"_"+k.Version, strings.Join(names, "+"))
	defer f.lock(dir)()
	if mods, err := readModuleDir(dir); err == nil {
		return mods, nil
	}
	debPath, p, err := f.fetchDeb(ctx, Entry{Name: k.Name + " modules", Arch: k.Arch, Suites: []string{k.Suite}, Package: "^" + regexp.QuoteMeta(pkg) + "$"})
	if errors.As(err, new(noPackageError)) {
		// Seen for 7.0 and 7.1 in trixie-backports: the signed kernels
		// stay listed, their modules package is no longer. The pool may
		// still hold it: nothing signed vouches for its bytes then, but
		// each module carries Debian's signature, which the guest kernel
		// checks against its built-in key (module.sig_enforce=1 in the
		// VM) before it loads a byte of it.
		debPath, err = f.fetchUnlisted(ctx, k, pkg)
		if err != nil {
			return nil, fmt.Errorf("the signed %s index (%s) no longer lists %s, and the pool does not have it either (%v): the archive does not carry this kernel's modules any more", k.Suite, k.Arch, pkg, err)
		}
		p = Package{Name: pkg, Version: k.Version}
	} else if err != nil {
		return nil, err
	} else if p.Version != k.Version {
		os.Remove(debPath)
		return nil, fmt.Errorf("%s: the index lists %s %s, the kernel is %s: its modules would not load", k.Name, pkg, p.Version, k.Version)
	}
	defer os.Remove(debPath) // only the few modules are kept
	mods, err := extractModules(debPath, names)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", k.Name, pkg, p.Version, err)
	}
	for _, m := range mods {
		if !bytes.HasSuffix(m.data, []byte(moduleSigMagic)) {
			return nil, fmt.Errorf("%s: %s %s: module %s carries no signature: refused", k.Name, pkg, p.Version, m.name)
		}
	}
	return writeModuleDir(dir, mods)
}

// moduleSigMagic ends a signed module. Every Debian module is signed, so
// an unsigned one is not Debian's; the guest kernel checks the signature
// itself.
const moduleSigMagic = "~Module signature appended~\n"

// fetchUnlisted downloads a kernel's modules package that its suite's
// index no longer lists from where Debian's pool keeps the packages of
// the linux source (pool/main/l/linux/<package>_<version>_<arch>.deb).
func (f *Fetcher) fetchUnlisted(ctx context.Context, k Kernel, pkg string) (string, error) {
	dir, err := f.packagesDir()
	if err != nil {
		return "", err
	}
	rel := fmt.Sprintf("pool/main/l/linux/%s_%s_%s.deb", pkg, k.Version, k.Arch)
	path, _, err := f.getTemp(ctx, dir, rel, 0, fmt.Sprintf("%s modules (%s %s, not in the index)", k.Name, pkg, k.Version))
	return path, err
}

// noPackageError is resolve's "no package matches".
type noPackageError struct{ msg string }

func (e noPackageError) Error() string { return e.msg }

// modulesPackage names the package that carries the modules of a kernel
// package.
func modulesPackage(kernelPackage string) string {
	if rest, ok := strings.CutPrefix(kernelPackage, "linux-binary-"); ok {
		return "linux-modules-" + rest
	}
	return kernelPackage
}

type moduleData struct {
	name    string
	depends []string
	data    []byte
}

// extractModules reads the named modules and the modules they depend on
// out of a package, and returns them in load order. The package is read
// once: the dependencies are only known from the modules themselves, so
// every module file is kept as packed until they are resolved.
func extractModules(debPath string, names []string) ([]moduleData, error) {
	files, err := moduleFiles(debPath)
	if err != nil {
		return nil, err
	}
	return resolveModules(files, names, "the package")
}

// resolveModules takes the named modules and what they depend on (by
// their .modinfo) from files, dependencies first; where says where the
// files were found, for the error of a module that is not there.
func resolveModules(files map[string]moduleFileData, names []string, where string) ([]moduleData, error) {
	found := map[string]moduleData{}
	var order []moduleData
	var visit func(n string) error
	visit = func(n string) error {
		if _, ok := found[n]; ok {
			return nil
		}
		f, ok := files[n]
		if !ok {
			return fmt.Errorf("no module %s in %s", n, where)
		}
		packed := f.packed
		if packed == nil && f.path != "" {
			var err error
			if packed, err = os.ReadFile(f.path); err != nil {
				return err
			}
		}
		data, err := decompressModule(bytes.NewReader(packed), f.comp)
		if err != nil {
			return fmt.Errorf("%s: %w", f.base, err)
		}
		name, depends, err := modinfo(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f.base, err)
		}
		m := moduleData{name: name, depends: depends, data: data}
		found[n] = m
		for _, d := range depends {
			if err := visit(d); err != nil {
				return err
			}
		}
		// A soft dependency is what the module asks for at init
		// (libcrc32c the crc32c algorithm): built into the cloud
		// kernels, a module of the generic and rt ones.
		for _, alias := range softdepsPre(data) {
			if p, ok := provider(files, alias); ok {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		order = append(order, m) // after what it depends on
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleFileData is a module file of a package, as packed, or a file
// on disk (path) read when needed.
type moduleFileData struct {
	base, comp string
	packed     []byte
	path       string
}

// moduleFiles returns the module files of a package by the name the
// kernel uses (the file name with - read as _).
func moduleFiles(debPath string) (map[string]moduleFileData, error) {
	t, closeDeb, err := OpenDebFiles(debPath)
	if err != nil {
		return nil, err
	}
	defer closeDeb()
	out := map[string]moduleFileData{}
	for {
		h, err := t.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		base := path.Base(h.Name)
		stem, comp, ok := moduleFile(base)
		if h.Typeflag != tar.TypeReg || !ok || !strings.Contains(h.Name, "/kernel/") {
			continue
		}
		packed, err := io.ReadAll(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", base, err)
		}
		out[stem] = moduleFileData{base: base, comp: comp, packed: packed}
	}
}

// moduleFile splits "crc32c-intel.ko.xz" into the module name the kernel
// uses (crc32c_intel) and the compression ("xz", or "" for none).
func moduleFile(base string) (stem, comp string, ok bool) {
	i := strings.Index(base, ".ko")
	if i <= 0 {
		return "", "", false
	}
	switch rest := base[i+3:]; rest {
	case "", ".xz", ".zst", ".gz":
		return strings.ReplaceAll(base[:i], "-", "_"), strings.TrimPrefix(rest, "."), true
	}
	return "", "", false
}

func decompressModule(r io.Reader, comp string) ([]byte, error) {
	switch comp {
	case "":
		return io.ReadAll(r)
	case "xz":
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(x)
	case "gz":
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(g)
	}
	return nil, fmt.Errorf("a %s-compressed module, which llconform cannot unpack", comp)
}

// modinfo reads a module's name and dependencies from its .modinfo
// section (NUL-separated key=value strings).
func modinfo(ko []byte) (string, []string, error) {
	e, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return "", nil, err
	}
	s := e.Section(".modinfo")
	if s == nil {
		return "", nil, errors.New("no .modinfo section: not a kernel module")
	}
	b, err := s.Data()
	if err != nil {
		return "", nil, err
	}
	var name string
	var depends []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, _ := strings.Cut(string(kv), "=")
		switch k {
		case "name":
			name = v
		case "depends":
			if v != "" {
				depends = strings.Split(v, ",")
			}
		}
	}
	if name == "" {
		return "", nil, errors.New("no name in .modinfo")
	}
	return name, depends, nil
}

// modinfoValues returns the values of a key of a module's .modinfo.
func modinfoValues(ko []byte, key string) []string {
	e, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil
	}
	s := e.Section(".modinfo")
	if s == nil {
		return nil
	}
	b, err := s.Data()
	if err != nil {
		return nil
	}
	var out []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && k == key {
			out = append(out, v)
		}
	}
	return out
}

// softdepsPre lists the modules (or aliases) a module wants loaded before
// it: "softdep=pre: crc32c post: x" gives crc32c.
func softdepsPre(ko []byte) []string {
	var out []string
	for _, v := range modinfoValues(ko, "softdep") {
		pre := false
		for _, w := range strings.Fields(v) {
			switch w {
			case "pre:":
				pre = true
			case "post:":
				pre = false
			default:
				if pre {
					out = append(out, strings.ReplaceAll(w, "-", "_"))
				}
			}
		}
	}
	return out
}

// provider finds the module of a package that a soft dependency names:
// the module of that name, else one named after it (crc32c_generic,
// crc32c_intel) whose aliases include it, the generic implementation
// first, which every CPU runs. Nothing found is no error: the kernel may
// have it built in.
func provider(files map[string]moduleFileData, alias string) (string, bool) {
	if _, ok := files[alias]; ok {
		return alias, true
	}
	var cands []string
	for stem := range files {
		if strings.HasPrefix(stem, alias+"_") {
			cands = append(cands, stem)
		}
	}
	slices.SortFunc(cands, func(a, b string) int {
		ga, gb := strings.HasSuffix(a, "_generic"), strings.HasSuffix(b, "_generic")
		if ga != gb {
			if ga {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, c := range cands {
		f := files[c]
		data, err := decompressModule(bytes.NewReader(f.packed), f.comp)
		if err != nil {
			continue
		}
		for _, a := range modinfoValues(data, "alias") {
			if a == alias || a == "crypto-"+alias {
				return c, true
			}
		}
	}
	return "", false
}

// The module directory holds NN-<name>.ko: the load order is the order of
// the names.
func writeModuleDir(dir string, mods []moduleData) ([]Module, error) {
	staging := dir + ".staging"
	os.RemoveAll(staging)
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, err
	}
	for i, m := range mods {
		if err := os.WriteFile(filepath.Join(staging, fmt.Sprintf("%02d-%s.ko", i, m.name)), m.data, 0o644); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(dir)
	if err := os.Rename(staging, dir); err != nil {
		return nil, err
	}
	return readModuleDir(dir)
}

func readModuleDir(dir string) ([]Module, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Module
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".ko")
		if _, name, found := strings.Cut(n, "-"); ok && found {
			out = append(out, Module{Name: name, Path: filepath.Join(dir, e.Name())})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no modules", dir)
	}
	return out, nil
}
