package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/llconform/llconform/agent/protocol"
	"github.com/llconform/llconform/matrix"
	"github.com/llconform/llconform/results"
)

func init() {
	commands["bench"] = command{"measure the bare-boot floor, the harness overhead and the full matrix in one run, and their ratio", runBench}
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var sel catalogFlags
	sel.register(fs)
	out := fs.String("out", "", "directory for the bench report (default out/bench-<time>)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	entries, err := sel.entries()
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	targets, err := fetchCatalog(ctx, entries)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", "bench-"+time.Now().UTC().Format("20060102-150405"))
	}
	// The three runs, one after the other in one session: only their
	// ratios are stable on a noisy machine.
	runs := map[string]*results.Run{}
	for _, r := range []struct {
		name     string
		settings protocol.Settings
	}{{"floor", protocol.Settings{Noop: true}}, {"overhead", protocol.Settings{Overhead: true}}, {"matrix", protocol.Settings{}}} {
		cfg := matrix.Config{Settings: r.settings, Parallel: runtime.NumCPU(),
			Timeout: 5 * time.Minute, OutDir: filepath.Join(dir, r.name), Args: args}
		fmt.Fprintf(os.Stderr, "bench: %s of %d kernels...\n", r.name, len(targets))
		run, err := matrix.Run(ctx, cfg, targets)
		if err != nil {
			return err
		}
		if err := results.WriteAll(cfg.OutDir, run); err != nil {
			return err
		}
		runs[r.name] = run
	}
	b := results.NewBench(runs["floor"], runs["overhead"], runs["matrix"])
	var names []string
	for _, k := range runs["matrix"].Kernels {
		names = append(names, k.Key())
	}
	fmt.Printf("%d kernels (%s), %d VMs at a time\n", len(targets), strings.Join(sel.arch.arches(), ", "), runtime.NumCPU())
	if err := b.Write(os.Stdout, results.Areas(runs["matrix"]), names); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(b, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), js, 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", filepath.Join(dir, "bench.json"))
	return nil
}
