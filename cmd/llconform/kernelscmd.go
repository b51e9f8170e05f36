package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/results"
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
		fmt.Fprintln(os.Stderr, "usage: llconform kernels list [--resolve] | llconform kernels fetch [NAME ...]")
		return exitError(2)
	}
	fs := flag.NewFlagSet("kernels "+args[0], flag.ExitOnError)
	mirror := fs.String("mirror", "", "Debian mirror URL (default: LLCONFORM_MIRROR, else the apt sources)")
	keyring := fs.String("keyring", "", "Debian archive keyring (default: LLCONFORM_KEYRING, else "+kernels.DefaultKeyring+")")
	resolve := fs.Bool("resolve", false, "list: also resolve each entry to its newest package")
	fs.Parse(args[1:])
	f, err := newFetcher(*mirror, *keyring)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	entries, err := catalogEntries(fs.Args())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	defer tw.Flush()
	if args[0] == "list" {
		fmt.Fprintln(tw, "NAME\tSUITE\tPACKAGE\tEXPECTS\tCMDLINE\tRESOLVED")
		for _, e := range entries {
			res := ""
			if *resolve {
				if p, err := f.Resolve(ctx, e); err != nil {
					res = "error: " + err.Error()
				} else {
					res = p.Name + " " + p.Version
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Suite, e.Package, expects(e), e.Cmdline, res)
		}
		return nil
	}
	fmt.Fprintln(tw, "NAME\tPACKAGE\tVERSION\tDOWNLOAD\tTIME\tCACHED\tIMAGE")
	var failed []string
	for _, e := range entries {
		k, err := f.Fetch(ctx, e)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", e.Name, err)
			failed = append(failed, e.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t%.1fs\t%v\t%s\n", k.Name, k.Package, k.Version, float64(k.DownloadBytes)/(1<<20), k.Download.Seconds(), k.Cached, k.Image)
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not fetch %s", strings.Join(failed, ", "))
	}
	return nil
}

func expects(e kernels.Entry) string {
	if e.Status == "enabled" {
		return fmt.Sprintf("ABI %d", e.ABI)
	}
	return e.Status
}

// catalogEntries returns the named entries, or the whole catalog.
func catalogEntries(names []string) ([]kernels.Entry, error) {
	if len(names) == 0 {
		return kernels.Catalog(), nil
	}
	var out []kernels.Entry
	for _, n := range names {
		e, ok := kernels.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("no kernel %q in the catalog (have: %s)", n, strings.Join(kernels.Names(), ", "))
		}
		out = append(out, e)
	}
	return out, nil
}

// target turns a fetched kernel into a matrix target.
func target(k kernels.Kernel) harness.Target {
	return harness.Target{Name: k.Name, Image: k.Image, Cmdline: k.Cmdline, ExpectedStatus: k.ExpectedStatus,
		DownloadMS: k.Download.Milliseconds(),
		Host:       results.Env{Package: k.Package, PackageVersion: k.Version, SHA256: k.ImageSHA256, ExpectedABI: k.ExpectedABI}}
}

// fetchTargets fetches catalog entries (downloads count only when they
// happened in this run).
func fetchTargets(ctx context.Context, f *kernels.Fetcher, entries []kernels.Entry) ([]harness.Target, error) {
	var out []harness.Target
	for _, e := range entries {
		k, err := f.Fetch(ctx, e)
		if err != nil {
			return nil, err // the fetcher names the kernel
		}
		t := target(k)
		if k.Cached {
			t.DownloadMS = 0
		}
		out = append(out, t)
	}
	return out, nil
}
