package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
)

func init() {
	commands["kernels"] = command{"list the default kernel catalog, or fetch kernels into the cache", runKernels}
}

func newFetcher(mirror, keyring string) (*kernels.Fetcher, error) {
	f, err := kernels.NewFetcher()
	if err != nil {
		return nil, err
	}
	if mirror != "" {
		f.Mirror = mirror
	}
	if keyring != "" {
		f.Keyring = keyring
	}
	f.Progress = os.Stderr
	return f, nil
}

func runKernels(args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "fetch") {
		return usagef("usage: llconform kernels list [--resolve] [--flavour F] [NAME ...] | llconform kernels list --all [--suite S] [SERIES ...] | llconform kernels fetch [NAME|debian:PACKAGE[=VERSION] ...]")
	}
	fs := flag.NewFlagSet("kernels "+args[0], flag.ContinueOnError)
	mirror, keyring := mirrorFlags(fs)
	var arch archFlag
	arch.register(fs)
	resolve := fs.Bool("resolve", false, "list: also resolve each entry to its newest package")
	all := fs.Bool("all", false, "list: every kernel package, flavour and version the signed indexes hold now (of the series given, e.g. 7.3), for debian:PACKAGE[=VERSION]")
	var flavour flavourFlag
	flavour.register(fs)
	var suites suiteFlag
	suites.register(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *all && (args[0] != "list" || *resolve) {
		return usagef("--all goes with kernels list, without --resolve")
	}
	f, err := newFetcher(*mirror, *keyring)
	if err != nil {
		return err
	}
	ctx, cancel := stoppable()
	defer cancel()
	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	defer tw.Flush()
	if *all {
		return listAll(ctx, f, tw, fs.Args(), suites.suites(), arch.arches())
	}
	sel := catalogFlags{only: fs.Args(), arch: arch, flavour: flavour, withDebian: args[0] == "fetch", suites: suites}
	entries, err := sel.entries()
	if err != nil {
		return err
	}
	for _, spec := range sel.debian {
		e, err := f.DebianEntry(ctx, spec, suites.suites())
		if err != nil {
			return asUsage(err)
		}
		entries = append(entries, e)
	}
	if args[0] == "list" {
		if !*resolve {
			fmt.Fprintln(tw, "NAME\tARCH\tSUITES\tPACKAGE\tEXPECTS\tCMDLINE")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Arch, strings.Join(e.Suites, ","), e.Package, expectsOf(e), e.Cmdline)
			}
			return nil
		}
		fmt.Fprintln(tw, "NAME\tARCH\tSUITES\tEXPECTS\tCMDLINE\tRESOLVED\tVERSION\tIN SUITE")
		var failed []string
		for _, e := range entries {
			p, err := f.Resolve(ctx, e)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s/%s: %v\n", e.Name, e.Arch, err)
				failed = append(failed, e.Name+"/"+string(e.Arch))
				p = kernels.Package{Name: "error (above)"}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Arch, strings.Join(e.Suites, ","), expectsOf(e), e.Cmdline, p.Name, p.Version, p.Suite)
		}
		if len(failed) > 0 {
			return fmt.Errorf("could not resolve %s", strings.Join(failed, ", "))
		}
		return nil
	}
	fmt.Fprintln(tw, "NAME\tARCH\tPACKAGE\tVERSION\tSUITE\tDOWNLOAD\tTIME\tCACHED\tMODULES\tIMAGE")
	var failed []string
	for _, e := range entries {
		k, err := f.Fetch(ctx, e)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s/%s: %v\n", e.Name, e.Arch, err)
			failed = append(failed, e.Name+"/"+string(e.Arch))
			continue
		}
		// The guest's modules too, so that a cache filled here serves
		// an offline run completely; a kernel without them still runs.
		mods := "none"
		if ms := guestModules(ctx, f, k); ms != nil {
			mods = fmt.Sprint(len(ms))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f MiB\t%.1fs\t%v\t%s\t%s\n", k.Name, k.Arch, k.Package, k.Version, k.Suite, float64(k.DownloadBytes)/(1<<20), k.Download.Seconds(), k.Cached, mods, k.Image)
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not fetch %s", strings.Join(failed, ", "))
	}
	return nil
}

func expectsOf(e kernels.Entry) string {
	if e.Status == landlock.Enabled {
		return fmt.Sprintf("ABI %d", e.ABI)
	}
	return string(e.Status)
}

// catalogEntries returns the named entries, or the whole catalog, of each
// architecture in turn (all of amd64's, then all of arm64's).
func catalogEntries(names []string, arches []arch.Arch) ([]kernels.Entry, error) {
	var out []kernels.Entry
	for _, a := range arches {
		if len(names) == 0 {
			out = append(out, kernels.Catalog(a)...)
			continue
		}
		for _, n := range names {
			e, ok := kernels.LookupFlavoured(n, a)
			if !ok {
				if catalogName(n) {
					return nil, usagef("the catalog has no %s kernel for %s", n, a)
				}
				return nil, usagef("no kernel %q in the catalog (have: %s)", n, strings.Join(kernels.Names(), ", "))
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// catalogName reports whether n names a catalog series, with or without
// a flavour (7.3, 7.3-rt) on some architecture.
func catalogName(n string) bool {
	for _, a := range arch.All {
		if _, ok := kernels.LookupFlavoured(n, a); ok {
			return true
		}
	}
	return false
}

// guestModules fetches the modules of kernels.GuestModules for k. Without
// them a kernel still runs: the cases that need one skip with the reason,
// and the warning here says why they are missing.
func guestModules(ctx context.Context, f *kernels.Fetcher, k kernels.Kernel) []kernels.Module {
	ms, err := f.Modules(ctx, k, kernels.GuestModules)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "warning: %s/%s: no modules for the guest (%v); the cases that need overlayfs or SCTP will skip\n", k.Name, k.Arch, err)
	}
	return ms
}

// catalogFlags are --kernels and --arch: the catalog kernels a command
// boots.
type catalogFlags struct {
	only    listFlag
	arch    archFlag
	flavour flavourFlag
	// withDebian: --kernels takes debian:PACKAGE[=VERSION] too (matrix),
	// with --suite.
	withDebian bool
	suites     suiteFlag
	debian     []kernels.DebianSpec // set by entries
}

func (c *catalogFlags) register(fs *flag.FlagSet) {
	what := "only these catalog kernels (comma-separated; default: the whole catalog)"
	if c.withDebian {
		what = "only these kernels: catalog names (7.3, 7.3-rt) and debian:PACKAGE[=VERSION] (comma-separated; default: the whole catalog)"
		c.suites.register(fs)
	}
	fs.Var(&c.only, "kernels", what)
	c.arch.register(fs)
	c.flavour.register(fs)
}

func (c *catalogFlags) entries() ([]kernels.Entry, error) {
	var names []string
	c.debian = nil
	for _, n := range c.only {
		spec, ok, err := kernels.ParseDebian(n)
		switch {
		case !ok:
			names = append(names, n)
		case !c.withDebian:
			return nil, usagef("%s: debian:PACKAGE goes with matrix, run and kernels fetch", n)
		case err != nil:
			return nil, usagef("--kernels %s: %v", n, err)
		default:
			if pn, _ := kernels.ParsePackageName(spec.Package); !slices.Contains(c.arch.arches(), pn.Arch) {
				return nil, usagef("--kernels %s is an %s kernel, but this matrix boots %s: add --arch %s (or --arch all)", n, pn.Arch, archList(c.arch.arches()), pn.Arch)
			}
			c.debian = append(c.debian, spec)
		}
	}
	if len(names) == 0 && len(c.debian) > 0 {
		return nil, nil // only Debian packages, not the whole catalog
	}
	es, err := catalogEntries(names, c.arch.arches())
	if err != nil {
		return nil, err
	}
	return c.flavour.flavoured(es)
}

// fetch fetches the catalog entries' kernels, then the Debian packages
// of --kernels.
func (c *catalogFlags) fetch(ctx context.Context, f *kernels.Fetcher, entries []kernels.Entry) ([]matrix.Target, error) {
	out, err := fetchTargets(ctx, f, entries)
	if err != nil {
		return nil, err
	}
	for _, spec := range c.debian {
		ts, err := debianTarget(ctx, f, spec, c.suites.suites())
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// fetchCatalog fetches the entries' kernels (or finds them in the cache)
// from the default mirror.
func fetchCatalog(ctx context.Context, entries []kernels.Entry) ([]matrix.Target, error) {
	fetcher, err := newFetcher("", "")
	if err != nil {
		return nil, err
	}
	return fetchTargets(ctx, fetcher, entries)
}

// fetchTargets fetches catalog entries.
func fetchTargets(ctx context.Context, f *kernels.Fetcher, entries []kernels.Entry) ([]matrix.Target, error) {
	var out []matrix.Target
	for _, e := range entries {
		k, err := f.Fetch(ctx, e)
		if err != nil {
			return nil, err // the fetcher names the kernel
		}
		t := matrix.TargetOf(k)
		t.Modules = guestModules(ctx, f, k)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, t)
	}
	return out, nil
}

// resolveTargets turns --kernel values into bootable targets: catalog
// names are fetched for each architecture of arch, anything else must be
// a path to the user's own kernel (image, .deb or build directory) of the
// architecture asked for (with --arch all: of either). --expect-abi
// overrides a catalog entry's ABI too.
func resolveTargets(ctx context.Context, f *kernels.Fetcher, names []string, byo own, expectABI int, arch *archFlag, flavour *flavourFlag, suites *suiteFlag) ([]matrix.Target, error) {
	var abi *int
	if expectABI >= 0 {
		abi = &expectABI
	}
	var out []matrix.Target
	for _, n := range names {
		if spec, ok, err := kernels.ParseDebian(n); ok {
			if err != nil {
				return nil, usagef("--kernel %s: %v", n, err)
			}
			// As with a kernel of the user's own, the package's
			// architecture must be the run's (with --arch all, any).
			if pn, _ := kernels.ParsePackageName(spec.Package); arch.byo() != "" && pn.Arch != arch.byo() {
				return nil, usagef("--kernel %s is an %s kernel, but this run boots %s: run with --arch %s (or --arch all)", n, pn.Arch, arch.byo(), pn.Arch)
			}
			ts, err := debianTarget(ctx, f, spec, suites.suites())
			if err != nil {
				return nil, err
			}
			out = append(out, expecting(ts, abi)...)
			continue
		}
		if catalogName(n) {
			entries, err := catalogEntries([]string{n}, arch.arches())
			if err != nil {
				return nil, err
			}
			if entries, err = flavour.flavoured(entries); err != nil {
				return nil, err
			}
			ts, err := fetchTargets(ctx, f, entries)
			if err != nil {
				return nil, err
			}
			out = append(out, expecting(ts, abi)...)
			continue
		}
		if _, err := os.Stat(n); err != nil {
			return nil, usagef("--kernel %s: not a catalog name (%s), not debian:PACKAGE[=VERSION] and not a file: %v", n, strings.Join(kernels.Names(), ", "), err)
		}
		k, err := kernels.FromPath(n, byo.name, arch.byo(), abi)
		if err != nil {
			return nil, err
		}
		t, err := byo.target(n, k)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if byo.modules != "" && !slices.ContainsFunc(names, func(n string) bool { return !slices.Contains(kernels.Names(), n) }) {
		return nil, usagef("--modules %s: only your own kernels take modules from it, and every --kernel is a catalog one", byo.modules)
	}
	return out, nil
}

// expecting sets the ABI the targets must report (--expect-abi), if any.
func expecting(ts []matrix.Target, abi *int) []matrix.Target {
	for i := range ts {
		if abi != nil {
			ts[i].ExpectedABI = abi
		}
	}
	return ts
}
