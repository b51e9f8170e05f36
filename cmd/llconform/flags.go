package main

import (
	"flag"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/vm"
)

// selection holds the case-selection flags shared by native, run and matrix.
type selection struct {
	libs    listFlag
	run     string
	areas   listFlag
	shard   string
	ceiling int
	strict  bool
}

func (s *selection) register(fs *flag.FlagSet) {
	fs.StringVar(&s.run, "run", "", "only cases whose area/name matches this regular expression")
	fs.Var(&s.areas, "area", "only these areas (comma-separated: "+strings.Join(suiteAreas(), ",")+")")
	fs.StringVar(&s.shard, "shard", "", "run case shard i of n (i/n, 1-based)")
	fs.IntVar(&s.ceiling, "ceiling", 0, fmt.Sprintf("library ABI ceiling for every case, 1..%d (0: none)", check.NewestABI))
	fs.BoolVar(&s.strict, "strict", false, "warnings and retried kernels fail the run (exit 1)")
	fs.Var(&s.libs, "library", "Landlock libraries the library cases run against (comma-separated: "+strings.Join(adapter.LibraryNames(), ",")+"; default: own)")
}

// settings checks the selection and turns it into the agent's settings:
// every mistake is a usage error that names what is valid, and a
// selection that picks no case is one too (a typo must not pass a CI gate).
func (s *selection) settings() (protocol.Settings, error) {
	st := protocol.Settings{Run: s.run, Areas: s.areas, Ceiling: s.ceiling, Libraries: s.libs}
	for _, l := range s.libs {
		if !slices.Contains(adapter.LibraryNames(), l) {
			return st, usagef("--library %s: no such library (have: %s)", l, strings.Join(adapter.LibraryNames(), ", "))
		}
	}
	if err := noDuplicates("--library", s.libs); err != nil {
		return st, err
	}
	if s.run != "" {
		if _, err := regexp.Compile(s.run); err != nil {
			return st, usagef("--run %q is not a valid regular expression: %v", s.run, err)
		}
	}
	known := suiteAreas()
	for _, a := range s.areas {
		if !slices.Contains(known, a) {
			return st, usagef("--area %s: no such area (have: %s)", a, strings.Join(known, ", "))
		}
	}
	if s.ceiling < 0 || s.ceiling > check.NewestABI {
		return st, usagef("--ceiling %d: want 1..%d (0 for none)", s.ceiling, check.NewestABI)
	}
	if s.shard != "" {
		sh, err := shardFlag("shard", s.shard)
		if err != nil {
			return st, err
		}
		st.Shard = sh
	}
	cases, err := agent.Select(agent.AllCases(st.Libraries), st)
	if err != nil {
		return st, usageError{err.Error()}
	}
	if len(cases) == 0 {
		return st, usagef("the selection (--run %q, --area %q, --shard %q) matches no case", s.run, s.areas.String(), s.shard)
	}
	return st, nil
}

// suiteAreas lists the areas of the cases, in report order.
func suiteAreas() []string { return check.Areas }

// vmFlags are the flags of every command that boots VMs.
type vmFlags struct {
	sel      selection
	out      string
	parallel int
	memory   int
	timeout  time.Duration
	noop     bool
	jsonOut  bool
	verbose  bool
}

func (f *vmFlags) register(fs *flag.FlagSet) {
	f.sel.register(fs)
	fs.StringVar(&f.out, "out", "", "run directory for results.json, reports and console logs (default out/<run-id>)")
	fs.IntVar(&f.parallel, "parallel", runtime.NumCPU(), "VMs at a time, ≥ 1 (default: one per CPU; on 2 cores two VMs cost about 9 % each, four give nothing more)")
	fs.IntVar(&f.memory, "memory", 0, fmt.Sprintf("guest memory in MiB, ≥ %d (default: amd64 %d, arm64 %d)", vm.MinMemoryMB, vm.DefaultMemoryMB("amd64"), vm.DefaultMemoryMB("arm64")))
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "per-boot timeout; the VM is killed then")
	fs.BoolVar(&f.noop, "noop", false, "boot with a no-op agent (header and done only): the bare-boot floor")
	fs.BoolVar(&f.jsonOut, "json", false, "print results.json to stdout instead of the terminal matrix")
	fs.BoolVar(&f.verbose, "verbose", false, "the agent names each case on the guest console before running it (find a hang in console/<kernel>.log)")
}

// config checks the VM flags and returns the matrix configuration.
func (f *vmFlags) config(args []string) (matrix.Config, error) {
	// The settings travel on the kernel command line: check that first.
	if _, err := (protocol.Settings{Run: f.sel.run}).Cmdline(); err != nil {
		return matrix.Config{}, usageError{err.Error()}
	}
	st, err := f.sel.settings()
	if err != nil {
		return matrix.Config{}, err
	}
	st.Noop, st.Verbose = f.noop, f.verbose
	switch {
	case f.parallel < 1:
		return matrix.Config{}, usagef("--parallel %d: want 1 or more VMs at a time", f.parallel)
	case f.memory != 0 && f.memory < vm.MinMemoryMB:
		return matrix.Config{}, usagef("--memory %d: the catalog kernels need at least %d MiB", f.memory, vm.MinMemoryMB)
	case f.timeout <= 0:
		return matrix.Config{}, usagef("--timeout %v: want a positive duration such as 5m", f.timeout)
	}
	return matrix.Config{Settings: st, Parallel: f.parallel, MemoryMB: f.memory, Timeout: f.timeout, Args: args}, nil
}
