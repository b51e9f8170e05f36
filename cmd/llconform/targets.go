package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llconform/llconform/harness"
)

// resolveTargets turns --kernel values into bootable targets.
func resolveTargets(ctx context.Context, names []string, byoName string, expectABI int) ([]harness.Target, error) {
	var out []harness.Target
	for _, n := range names {
		if _, err := os.Stat(n); err == nil {
			t := harness.Target{Name: byoName, Image: n}
			if t.Name == "" {
				t.Name = filepath.Base(n)
			}
			if expectABI >= 0 {
				t.Host.ExpectedABI = &expectABI
			}
			out = append(out, t)
			continue
		}
		return nil, fmt.Errorf("--kernel %s: no such file, and the kernel catalog is not available yet", n)
	}
	return out, nil
}
