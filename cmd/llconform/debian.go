package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
)

// suiteFlag is --suite: Debian suites searched for debian:PACKAGE besides
// the catalog's.
type suiteFlag struct{ extra listFlag }

func (s *suiteFlag) register(fs *flag.FlagSet) {
	fs.Var(&s.extra, "suite", "Debian suites to search for debian:PACKAGE and kernels list --all, besides the catalog's (comma-separated, e.g. sid; verified like the catalog's)")
}

func (s *suiteFlag) suites() []string { return kernels.Suites(s.extra...) }

// debianTarget fetches a debian:PACKAGE[=VERSION] kernel; what the user
// got wrong (not a kernel package, a version the index does not hold) is
// bad usage.
func debianTarget(ctx context.Context, f *kernels.Fetcher, spec kernels.DebianSpec, suites []string) ([]matrix.Target, error) {
	e, err := f.DebianEntry(ctx, spec, suites)
	if err != nil {
		return nil, asUsage(err)
	}
	return fetchTargets(ctx, f, []kernels.Entry{e})
}

// asUsage turns the kernels package's InputError into a usage error
// (exit 2).
func asUsage(err error) error {
	var ie kernels.InputError
	if errors.As(err, &ie) {
		return usageError{err.Error()}
	}
	return err
}

// listAll prints every kernel package the signed indexes of the suites
// hold for the architectures, of the series given (all when none).
func listAll(ctx context.Context, f *kernels.Fetcher, w io.Writer, series []string, suites []string, arches []arch.Arch) error {
	for _, s := range series {
		if !seriesLike.MatchString(s) {
			return usagef("kernels list --all %s: want a kernel series such as 7.3 or 6.12", s)
		}
	}
	var rows []string
	for _, a := range arches {
		ks, err := f.IndexedKernels(ctx, suites, a)
		if err != nil {
			return err
		}
		slices.SortStableFunc(ks, func(a, b kernels.IndexedKernel) int {
			if c := kernels.CompareVersions(b.Series, a.Series); c != 0 {
				return c
			}
			if c := kernels.CompareVersions(b.Upstream, a.Upstream); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		for _, k := range ks {
			if len(series) > 0 && !slices.Contains(series, k.Series) {
				continue
			}
			expects := "unknown"
			if e, ok := kernels.Lookup(k.Series, a); ok {
				expects = expectsOf(e)
			}
			flavour := k.Flavour
			if k.Unsigned {
				flavour += " (unsigned)"
			}
			rows = append(rows, strings.Join([]string{k.Series, flavour, string(a), k.Name, k.Version, k.Suite, expects}, "\t"))
		}
	}
	if len(rows) == 0 {
		return usagef("the signed indexes of %s hold no kernel package of %s (--suite adds a suite)", strings.Join(suites, ", "), strings.Join(series, ", "))
	}
	fmt.Fprintln(w, "SERIES\tFLAVOUR\tARCH\tPACKAGE\tVERSION\tSUITE\tEXPECTS")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	return nil
}

var seriesLike = regexp.MustCompile(`^\d+\.\d+$`)
