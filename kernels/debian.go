package kernels

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/llconform/llconform/internal/arch"
)

// DebianPrefix marks a --kernel value that names a Debian package:
// debian:PACKAGE or debian:PACKAGE=VERSION.
const DebianPrefix = "debian:"

// InputError is a mistake in what the user asked for (a package that is
// not a kernel, a version the index does not hold): the message says what
// is valid. The command exits 2 on it.
type InputError struct{ msg string }

func (e InputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) error {
	return InputError{fmt.Sprintf(format, args...)}
}

// DebianSpec is a Debian kernel package the user names, at an exact
// version or ("") the newest the indexes hold.
type DebianSpec struct {
	Package string
	Version string
}

// ParseDebian reads "debian:PACKAGE[=VERSION]"; ok is false when s does
// not start with debian:.
func ParseDebian(s string) (spec DebianSpec, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, DebianPrefix)
	if !ok {
		return spec, false, nil
	}
	spec.Package, spec.Version, _ = strings.Cut(rest, "=")
	if _, err := ParsePackageName(spec.Package); err != nil {
		return spec, true, err
	}
	if strings.Contains(s, "=") && spec.Version == "" {
		return spec, true, inputErrorf("%s: an empty version after =: give debian:PACKAGE=VERSION, or leave =VERSION out for the newest", s)
	}
	return spec, true, nil
}

// PackageName is what the name of a Debian kernel package says.
type PackageName struct {
	Upstream string    // the version in the name: 7.3.4+deb13, 6.1.0-50, 7.3
	Series   string    // its first two numbers: 7.3, 6.1
	Flavour  string    // cloud, rt, generic (no flavour word), or another word Debian uses (16k)
	Arch     arch.Arch // amd64 or arm64
	Unsigned bool      // the -unsigned build of the image
}

var packageWord = regexp.MustCompile(`^[a-z0-9][a-z0-9.+~-]*$`)

// ParsePackageName checks that name is a kernel image package of an
// architecture llconform boots (linux-image-VERSION[-FLAVOUR]-ARCH or
// linux-binary-VERSION[-FLAVOUR]-ARCH, also their unsigned builds) and
// splits it. Metapackages (linux-image-amd64), debug symbols and other
// linux-* packages are refused with what to give instead.
func ParsePackageName(name string) (PackageName, error) {
	const list = "llconform kernels list --all lists the kernel packages of the indexes"
	var pn PackageName
	var rest string
	switch {
	case strings.HasPrefix(name, "linux-image-"):
		rest = strings.TrimPrefix(name, "linux-image-")
	case strings.HasPrefix(name, "linux-binary-"):
		rest = strings.TrimPrefix(name, "linux-binary-")
	default:
		return pn, inputErrorf("%q is not a kernel package: want linux-image-VERSION-FLAVOUR-ARCH or linux-binary-VERSION-FLAVOUR-ARCH (%s)", name, list)
	}
	if !packageWord.MatchString(rest) {
		return pn, inputErrorf("%q is not a Debian package name (%s)", name, list)
	}
	if strings.HasSuffix(rest, "-dbg") {
		return pn, inputErrorf("%s holds debug symbols, not a kernel: drop -dbg", name)
	}
	if r, ok := strings.CutPrefix(rest, "unsigned-"); ok {
		rest, pn.Unsigned = r, true
	}
	if r, ok := strings.CutSuffix(rest, "-unsigned"); ok {
		rest, pn.Unsigned = r, true
	}
	words := strings.Split(rest, "-")
	i := 0
	for i < len(words) && words[i] != "" && words[i][0] >= '0' && words[i][0] <= '9' {
		i++
	}
	if i == 0 {
		return pn, inputErrorf("%s is a metapackage (it only depends on the newest kernel of its flavour) or not a kernel: name the versioned package, such as linux-image-6.12.117+deb13-cloud-amd64 (%s)", name, list)
	}
	pn.Upstream = strings.Join(words[:i], "-")
	a := -1
	for j := i; j < len(words); j++ {
		if _, err := arch.Parse(words[j]); err == nil {
			a = j
		}
	}
	if a < 0 {
		return pn, inputErrorf("%s names no architecture llconform boots (%s)", name, arch.Names())
	}
	pn.Arch = arch.Arch(words[a])
	flav := append(slices.Clone(words[i:a]), words[a+1:]...)
	pn.Flavour = strings.Join(flav, "-")
	if pn.Flavour == "" {
		pn.Flavour = FlavourGeneric
	}
	nums := strings.FieldsFunc(pn.Upstream, func(r rune) bool { return r < '0' || r > '9' })
	if len(nums) < 2 {
		return pn, inputErrorf("%s: cannot read a kernel series from %q", name, pn.Upstream)
	}
	pn.Series = nums[0] + "." + nums[1]
	return pn, nil
}

// kernelName is the name a Debian package's kernel gets in results: the
// package name without its prefix and architecture
// (linux-binary-7.3.4+deb13-rt-amd64: 7.3.4+deb13-rt), with the version
// when one was asked for.
func (pn PackageName) kernelName(version string) string {
	n := pn.Upstream
	if pn.Flavour != FlavourGeneric {
		n += "-" + pn.Flavour
	}
	if pn.Unsigned {
		n += "-unsigned"
	}
	if version != "" {
		n += "=" + version
	}
	return n
}

// Suites are the Debian suites of the catalog, in catalog order, and
// extra ones after them.
func Suites(extra ...string) []string {
	var out []string
	for _, r := range catalog {
		for _, s := range r.Suites {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// IndexedKernel is a kernel package a signed index holds now.
type IndexedKernel struct {
	Package
	PackageName
}

// IndexedKernels lists the kernel packages (ParsePackageName) the signed
// indexes of the suites hold for an architecture, suite by suite.
// A suite the mirror does not have is skipped, and named in the error
// only when no suite answered.
func (f *Fetcher) IndexedKernels(ctx context.Context, suites []string, a arch.Arch) ([]IndexedKernel, error) {
	var out []IndexedKernel
	var missing []error
	for _, suite := range suites {
		si, _, err := f.index(ctx, suite, a, false)
		if errors.Is(err, errGone) {
			missing = append(missing, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range si.Packages {
			pn, err := ParsePackageName(p.Name)
			if err != nil || pn.Arch != a {
				continue
			}
			p.Suite = suite
			out = append(out, IndexedKernel{p, pn})
		}
	}
	if len(out) == 0 && len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	return out, nil
}

// DebianEntry turns a Debian package the user names into an entry the
// Fetcher fetches like a catalog one: the package at the version asked
// for (or the newest) in the signed indexes of the suites. Its
// expectation is the catalog's for the package's series (a flavour or an
// older upload expects what its series does), and unknown (detected at
// run time) for a series the catalog does not have.
//
// Since 7.0, Debian's linux-image-X is a small package that depends on
// linux-binary-X, which holds the kernel: the entry is linux-binary-X
// then. A version the indexes do not hold is refused, even when the
// pool still has it: nothing signed vouches for such a kernel.
func (f *Fetcher) DebianEntry(ctx context.Context, spec DebianSpec, suites []string) (Entry, error) {
	pn, err := ParsePackageName(spec.Package)
	if err != nil {
		return Entry{}, err
	}
	all, err := f.IndexedKernels(ctx, suites, pn.Arch)
	if err != nil {
		return Entry{}, err
	}
	var found []IndexedKernel
	for _, k := range all {
		if k.Name == spec.Package {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return Entry{}, inputErrorf("the signed indexes of %s (%s) hold no package %s%s; llconform kernels list --all %s lists what they hold (--suite adds a suite)",
			strings.Join(suites, ", "), pn.Arch, spec.Package, similar(all, pn), pn.Series)
	}
	pick := -1
	for i, k := range found {
		if spec.Version != "" && k.Version != spec.Version {
			continue
		}
		if pick < 0 || CompareVersions(k.Version, found[pick].Version) > 0 {
			pick = i
		}
	}
	if pick < 0 {
		var have []string
		for _, k := range found {
			have = append(have, k.Version+" in "+k.Suite)
		}
		return Entry{}, inputErrorf("%s %s is not in the signed indexes (they hold %s): llconform boots only what a signed index lists, not an upload that left it for the pool; "+
			"to run an unverified .deb anyway, download it and give its path (--kernel ./%s_%s_%s.deb)",
			spec.Package, spec.Version, strings.Join(have, ", "), spec.Package, strings.ReplaceAll(spec.Version, ":", "%3a"), pn.Arch)
	}
	p := found[pick]
	if rest, ok := strings.CutPrefix(p.Name, "linux-image-"); ok {
		for _, k := range all {
			if k.Name == "linux-binary-"+rest && k.Version == p.Version && k.Suite == p.Suite {
				f.logf("%s %s: the kernel is in %s (linux-image-* depends on it since 7.0)", p.Name, p.Version, k.Name)
				p = k
				break
			}
		}
	}
	e := Entry{Name: pn.kernelName(spec.Version), Arch: pn.Arch, Suites: []string{p.Suite},
		Package: "^" + regexp.QuoteMeta(p.Name) + "$", Version: p.Version, Flavour: pn.Flavour}
	if c, ok := Lookup(pn.Series, pn.Arch); ok {
		e.Status, e.ABI = c.Status, c.ABI
	}
	return e, nil
}

// similar names up to five kernel packages of the same series and
// architecture, for a package name the index does not hold.
func similar(all []IndexedKernel, pn PackageName) string {
	var names []string
	for _, k := range all {
		if k.Series == pn.Series && k.Arch == pn.Arch && !k.Unsigned && !slices.Contains(names, k.Name) {
			names = append(names, k.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.SortFunc(names, func(a, b string) int { return -CompareVersions(a, b) })
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	return " (of " + pn.Series + " they hold " + strings.Join(names, ", ") + ")"
}
