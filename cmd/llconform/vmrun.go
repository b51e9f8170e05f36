package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/libraries"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
)

func init() {
	commands["run"] = command{"boot the given kernels (catalog names or your own bzImage/Image/.deb/build dir) and run the suites", runRun}
	commands["matrix"] = command{"the main job: every default kernel in QEMU, one kernel × area matrix and reports", runMatrix}
}

func runMatrix(args []string) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	var f vmFlags
	f.register(fs)
	sel := catalogFlags{withDebian: true}
	sel.register(fs)
	kshard := fs.String("kernel-shard", "", "only kernel shard i/n of the catalog (of every architecture's, in turn: for CI jobs; merge the results with 'llconform merge')")
	mirror, keyring := mirrorFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: llconform matrix [flags]\n\nKernels: %s\nArchitectures: %s (--arch)\n\n", strings.Join(kernels.Names(), ", "), arch.Names())
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	entries, err := sel.entries()
	if err != nil {
		return err
	}
	if *kshard != "" && len(sel.debian) > 0 {
		return usagef("--kernel-shard shards the catalog: give debian:PACKAGE kernels to run, or to a matrix without --kernel-shard")
	}
	if *kshard != "" {
		sh, err := shardFlag("kernel-shard", *kshard)
		if err != nil {
			return err
		}
		var sel []kernels.Entry
		for j, e := range entries {
			if sh.Includes(j) {
				sel = append(sel, e)
			}
		}
		entries = sel
	}
	return bootAndReport(&f, args, *mirror, *keyring, nil, func(ctx context.Context, fetcher *kernels.Fetcher, _ protocol.Settings) ([]matrix.Target, error) {
		return sel.fetch(ctx, fetcher, entries)
	})
}

func runRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f vmFlags
	f.register(fs)
	var kernelsArg listFlag
	fs.Var(&kernelsArg, "kernel", "kernel to boot: a catalog name (see 'llconform kernels list'; 7.3-rt names a flavour), debian:PACKAGE[=VERSION] (any kernel package of the signed indexes: 'llconform kernels list --all'), a bzImage (amd64) or Image (arm64), a .deb or a kernel build directory; repeatable, comma-separated")
	name := fs.String("name", "", "name of a bring-your-own kernel (default: from the file)")
	modules := fs.String("modules", "", "the modules of your own kernel: a directory with its .ko files under it (default: the build directory's, or the .deb's)")
	expectABI := fs.Int("expect-abi", -1, "the ABI the kernel must report (a catalog kernel's own by default; bring-your-own: not checked)")
	mirror, keyring := mirrorFlags(fs)
	var arch archFlag
	arch.register(fs)
	var flavour flavourFlag
	flavour.register(fs)
	var suites suiteFlag
	suites.register(fs)
	var bl baselineFlags
	bl.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform run --kernel NAME|PATH [--kernel ...] [--baseline BASE/results.json] [flags]")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if len(kernelsArg) == 0 {
		fs.Usage()
		return usagef("give at least one --kernel (a catalog name such as 6.18, or a path to your own kernel)")
	}
	if err := noDuplicates("--kernel", kernelsArg); err != nil {
		return err
	}
	if err := bl.load(); err != nil {
		return err
	}
	return bootAndReport(&f, args, *mirror, *keyring, &bl, func(ctx context.Context, fetcher *kernels.Fetcher, st protocol.Settings) ([]matrix.Target, error) {
		return resolveTargets(ctx, fetcher, kernelsArg, own{name: *name, modules: *modules, settings: st}, *expectABI, &arch, &flavour, &suites)
	})
}

// parse parses flags; -h is a clean exit, a bad flag a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitError(0)
		}
		return exitError(exitUsage) // the flag package printed the error and the usage
	}
	return nil
}

// parseNoArgs parses flags of a command that takes no other arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags come before any argument, as --name value)", fs.Arg(0))
	}
	return nil
}

// shardFlag parses an i/n flag value as a usage error when it is wrong.
func shardFlag(name, value string) (protocol.Shard, error) {
	sh, err := protocol.ParseShard(value)
	if err != nil {
		return sh, usagef("--%s: %v", name, err)
	}
	return sh, nil
}

func mirrorFlags(fs *flag.FlagSet) (mirror, keyring *string) {
	mirror = fs.String("mirror", "", "Debian mirror URL (default: LLCONFORM_MIRROR, else the apt sources)")
	keyring = fs.String("keyring", "", "Debian archive keyring (default: LLCONFORM_KEYRING, else "+kernels.DefaultKeyring+")")
	return
}

// bootAndReport resolves the targets, boots them, writes the reports and
// prints the matrix; the exit status says whether every cell passed.
// With a baseline, the run is compared with it before anything boots
// (the kernels must pair) and after (its verdict counts).
func bootAndReport(f *vmFlags, args []string, mirror, keyring string, bl *baselineFlags, targets func(context.Context, *kernels.Fetcher, protocol.Settings) ([]matrix.Target, error)) error {
	cfg, err := f.config(args)
	if err != nil {
		return err
	}
	fetcher, err := newFetcher(mirror, keyring)
	if err != nil {
		return err
	}
	ctx, cancel := stoppable()
	defer cancel()
	ts, err := targets(ctx, fetcher, cfg.Settings)
	if err != nil {
		return err
	}
	if err := bl.checkPairs(ts); err != nil {
		return err
	}
	note := func(s string) { fmt.Fprintln(os.Stderr, s) }
	cfg.Extra = map[arch.Arch][]vm.File{}
	for _, t := range ts {
		a := t.Architecture()
		if _, ok := cfg.Extra[a]; ok {
			continue
		}
		if cfg.Extra[a], err = libraries.Files(ctx, fetcher, a, cfg.Settings.Libraries, note); err != nil {
			return err
		}
	}
	cfg.OutDir = f.out
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join("out", time.Now().UTC().Format("20060102-150405"))
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Key()
	}
	fmt.Fprintf(os.Stderr, "building the agent and initramfs...\n")
	progress, finish := matrix.Printer(os.Stderr, isTerminal(os.Stderr), names)
	cfg.Progress = progress
	run, err := matrix.Run(ctx, cfg, ts)
	finish()
	if err != nil {
		return err
	}
	diff, err := bl.compare(run)
	if err != nil {
		return err
	}
	if err := results.WriteAll(cfg.OutDir, run); err != nil {
		return err
	}
	if err := bl.write(cfg.OutDir, diff); err != nil {
		return err
	}
	if f.jsonOut {
		b, err := os.ReadFile(filepath.Join(cfg.OutDir, results.FileResults))
		if err != nil {
			return err
		}
		os.Stdout.Write(b)
	} else {
		results.Terminal(os.Stdout, run, isTerminal(os.Stdout))
		fmt.Printf("reports: %s (index.html, matrix.md, junit/, results.json)\n", cfg.OutDir)
	}
	return exitFor(run, f.sel.strict)
}

func noDuplicates(flagName string, names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return usagef("%s %s is given twice", flagName, n)
		}
		seen[n] = true
	}
	return nil
}
