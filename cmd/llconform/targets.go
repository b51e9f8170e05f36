package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/kernels"
)

// resolveTargets turns --kernel values into bootable targets: catalog
// names are fetched, anything else must be a path to the user's own
// kernel (bzImage, .deb or build directory).
func resolveTargets(ctx context.Context, f *kernels.Fetcher, names []string, byoName string, expectABI int) ([]harness.Target, error) {
	var out []harness.Target
	for _, n := range names {
		if e, ok := kernels.Lookup(n); ok {
			ts, err := fetchTargets(ctx, f, []kernels.Entry{e})
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
			continue
		}
		var abi *int
		if expectABI >= 0 {
			abi = &expectABI
		}
		if _, err := os.Stat(n); err != nil {
			return nil, fmt.Errorf("--kernel %s: not a catalog name (%s) and not a file: %w", n, strings.Join(kernels.Names(), ", "), err)
		}
		k, err := kernels.FromPath(n, byoName, abi)
		if err != nil {
			return nil, err
		}
		out = append(out, target(k))
	}
	return out, nil
}
