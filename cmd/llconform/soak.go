package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/results"
)

func init() {
	commands["soak"] = command{"run the matrix N times and list every case whose verdict varied (make soak: 10)", runSoak}
}

func runSoak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var f vmFlags
	f.register(fs)
	var sel catalogFlags
	sel.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform soak [flags] N\n\nRuns the matrix N times and lists every case whose verdict varied; exit 1 when any did.")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := strconv.Atoi(fs.Arg(0))
	if fs.NArg() != 1 || err != nil || n < 2 {
		return usagef("give the number of runs, 2 or more (e.g. llconform soak 10)")
	}
	cfg, err := f.config(args)
	if err != nil {
		return err
	}
	entries, err := sel.entries()
	if err != nil {
		return err
	}
	ctx, cancel := stoppable()
	defer cancel()
	targets, err := fetchCatalog(ctx, entries)
	if err != nil {
		return err
	}
	dir := f.out
	if dir == "" {
		dir = filepath.Join("out", "soak-"+time.Now().UTC().Format("20060102-150405"))
	}
	var runs []*results.Run
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		cfg.OutDir = filepath.Join(dir, fmt.Sprintf("run-%02d", i))
		start := time.Now()
		run, err := matrix.Run(ctx, cfg, targets)
		if err != nil {
			return err
		}
		if err := results.WriteAll(cfg.OutDir, run); err != nil {
			return err
		}
		m := results.NewMatrix(run)
		fmt.Fprintf(os.Stderr, "run %d/%d: %s in %.0fs\n", i, n, m.TotalsLine(), time.Since(start).Seconds())
		runs = append(runs, run)
	}
	vs := results.Vary(runs)
	if err := results.WriteVariations(os.Stdout, runs, vs); err != nil {
		return err
	}
	fmt.Printf("runs in %s\n", dir)
	if len(vs) > 0 || ctx.Err() != nil {
		return exitError(exitFailed)
	}
	return nil
}
