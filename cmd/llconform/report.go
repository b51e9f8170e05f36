package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llconform/llconform/results"
)

func init() {
	commands["report"] = command{"re-render a results.json (terminal, or -out DIR for all reports)", runReport}
	commands["compare"] = command{"compare two results.json: regressions, fixes, new cases; exit 1 on regressions", runCompare}
	commands["merge"] = command{"merge results.json files of shards (or directories holding them) into one run", runMerge}
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("out", "", "write results.json, matrix.md, index.html and junit/ into this directory")
	check := fs.Bool("check", false, "exit 1 unless every cell passed or skipped, as the run itself would (for a merged run)")
	strict := fs.Bool("strict", false, "with --check: warnings and retried kernels fail too")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform report [-out DIR] [--check [--strict]] results.json")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError(exitUsage)
	}
	if *strict && !*check {
		return usagef("--strict only counts with --check")
	}
	run, err := results.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	if *out != "" {
		if err := results.WriteAll(*out, run); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "reports written to %s\n", *out)
	}
	if err := results.Terminal(os.Stdout, run, isTerminal(os.Stdout)); err != nil || !*check {
		return err
	}
	return exitFor(run, *strict)
}

func runCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	allowMissing := fs.Bool("allow-missing", false, "kernels or cases of the base missing from the new run do not fail the gate")
	var pairs listFlag
	fs.Var(&pairs, "pair", "compare the base's kernel OLD as the new run's NEW (OLD=NEW, names or name/arch; repeatable). Runs of one kernel each pair by themselves")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform compare [--allow-missing] [--pair OLD=NEW] BASELINE/results.json NEW/results.json\n\n"+
			"Exit status: 0 no regression (and nothing missing), 1 a regression or a kernel/case of the base missing\n"+
			"from the new run (unless --allow-missing), 2 bad usage, unreadable input, or no kernel in common.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return exitError(exitUsage)
	}
	pair, err := parsePairs(pairs)
	if err != nil {
		return err
	}
	var runs [2]*results.Run
	for i := range runs {
		r, err := results.Load(fs.Arg(i))
		if err != nil {
			return usageError{err.Error()} // unreadable input is not a regression
		}
		runs[i] = r
	}
	if err := pairedOrUsage(runs[0], runs[1], pair, ""); err != nil {
		return err
	}
	base, paired, err := results.Paired(runs[0], runs[1], pair)
	if err != nil {
		return usageError{err.Error()}
	}
	d := results.Compare(base, runs[1])
	d.Paired = paired
	if err := d.Write(os.Stdout); err != nil {
		return err
	}
	if !d.Gate(*allowMissing) {
		if !d.HasRegressions() {
			fmt.Println("gate: the new run lacks kernels or cases of the base (--allow-missing to accept)")
		}
		return exitError(exitFailed)
	}
	return nil
}

func runMerge(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "", "directory for the merged reports (default out/merged-<time>)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform merge [-out DIR] shard1/results.json shard2/results.json ... (or directories: every results.json under them)")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return exitError(exitUsage)
	}
	files, err := results.FindResults(fs.Args()...)
	if err != nil {
		return err
	}
	var runs []*results.Run
	for _, p := range files {
		r, err := results.Load(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	merged, err := results.Merge(runs...)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", "merged-"+time.Now().Format("20060102-150405"))
	}
	if err := results.WriteAll(dir, merged); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "merged %d runs (%s) into %s\n", len(runs), strings.Join(files, ", "), dir)
	return results.Terminal(os.Stdout, merged, isTerminal(os.Stdout))
}
