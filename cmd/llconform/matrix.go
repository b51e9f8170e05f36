package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/kernels"
)

func init() {
	commands["matrix"] = command{"the main job: every default kernel in QEMU, one kernel × area matrix and reports", runMatrix}
}

func runMatrix(args []string) error {
	fs := flag.NewFlagSet("matrix", flag.ExitOnError)
	var f vmFlags
	f.register(fs)
	var only listFlag
	fs.Var(&only, "kernels", "only these catalog kernels (comma-separated; default: the whole catalog)")
	kshard := fs.String("kernel-shard", "", "only kernel shard i/n of the catalog (for CI jobs; merge the results with 'llconform merge')")
	mirror := fs.String("mirror", "", "Debian mirror URL (default: LLCONFORM_MIRROR, else the apt sources)")
	keyring := fs.String("keyring", "", "Debian archive keyring (default: LLCONFORM_KEYRING, else the system one)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: llconform matrix [flags]\n\nKernels: %s\n\n", strings.Join(kernels.Names(), ", "))
		fs.PrintDefaults()
	}
	fs.Parse(args)
	entries, err := catalogEntries(only)
	if err != nil {
		return err
	}
	if *kshard != "" {
		var i, n int
		if _, err := fmt.Sscanf(*kshard, "%d/%d", &i, &n); err != nil || i < 1 || i > n {
			return fmt.Errorf("--kernel-shard %q: want i/n with 1 ≤ i ≤ n", *kshard)
		}
		var sel []kernels.Entry
		for j, e := range entries {
			if j%n == i-1 {
				sel = append(sel, e)
			}
		}
		entries = sel
	}
	return bootAndReport(&f, *mirror, *keyring, func(ctx context.Context, fetcher *kernels.Fetcher) ([]harness.Target, error) {
		return fetchTargets(ctx, fetcher, entries)
	})
}
