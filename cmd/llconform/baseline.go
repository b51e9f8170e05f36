package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/results"
)

// fileBaseline is the comparison's text in the run directory.
const fileBaseline = "baseline.txt"

// baselineFlags are run's --baseline and --pair.
type baselineFlags struct {
	path  string
	pairs listFlag
	base  *results.Run
	pair  []results.Pair
}

func (b *baselineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.path, "baseline", "", "compare with this earlier run (its results.json): a case that passed there and does not pass now fails the run, listed first")
	fs.Var(&b.pairs, "pair", "with --baseline: compare the baseline's kernel OLD as this run's NEW (OLD=NEW; repeatable; one kernel on each side pairs by itself)")
}

// load reads the baseline and the pairs: bad ones are usage errors, found
// before anything boots.
func (b *baselineFlags) load() error {
	var err error
	if b.pair, err = parsePairs(b.pairs); err != nil {
		return err
	}
	if b.path == "" {
		if len(b.pair) > 0 {
			return usagef("--pair only counts with --baseline")
		}
		return nil
	}
	if b.base, err = results.Load(b.path); err != nil {
		return usagef("--baseline %s: %v (give the results.json of an earlier run)", b.path, err)
	}
	return nil
}

func parsePairs(values []string) ([]results.Pair, error) {
	var out []results.Pair
	for _, v := range values {
		p, err := results.ParsePair(v)
		if err != nil {
			return nil, usagef("--pair %v", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPairs makes sure the kernels about to boot can be compared with
// the baseline's, before minutes go into booting them.
func (b *baselineFlags) checkPairs(ts []matrix.Target) error {
	if b == nil || b.base == nil {
		return nil
	}
	planned := &results.Run{}
	for _, t := range ts {
		planned.Kernels = append(planned.Kernels, results.KernelRun{Name: t.Name, Arch: t.Architecture()})
	}
	return pairedOrUsage(b.base, planned, b.pair, "--baseline")
}

// pairedOrUsage checks that base and cur have a kernel in common once
// paired: a comparison of nothing is bad usage, with the hint to pair.
// what prefixes the message ("--baseline"), if set.
func pairedOrUsage(base, cur *results.Run, pairs []results.Pair, what string) error {
	paired, _, err := results.Paired(base, cur, pairs)
	if err != nil {
		return usageError{err.Error()}
	}
	if results.NoCommonKernel(paired, cur) {
		bk, nk := results.Keys(base), results.Keys(cur)
		msg := fmt.Sprintf("no kernel in common: the base has %s, the new run %s; pair them with --pair %s=%s",
			strings.Join(bk, ", "), strings.Join(nk, ", "), base.Kernels[0].Name, cur.Kernels[0].Name)
		if what != "" {
			msg = what + ": " + msg
		}
		return usageError{msg}
	}
	return nil
}

// compare records the comparison with the baseline in the run.
func (b *baselineFlags) compare(run *results.Run) (results.Diff, error) {
	if b == nil || b.base == nil {
		return results.Diff{}, nil
	}
	return results.AgainstBaseline(run, b.base, b.path, b.pair)
}

// write keeps the full comparison next to the reports.
func (b *baselineFlags) write(dir string, d results.Diff) error {
	if b == nil || b.base == nil {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, fileBaseline))
	if err != nil {
		return err
	}
	if err := d.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "comparison with the baseline: %s\n", filepath.Join(dir, fileBaseline))
	return nil
}
