package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/peers/selftests"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
)

func init() {
	commands["bench"] = command{"measure the full matrix against the kernel's own Landlock selftests on the same kernels, with the bare-boot floor and the harness overhead, in one run", runBench}
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var sel catalogFlags
	sel.register(fs)
	fs.Var(&sel.only, "kernel", "the same as --kernels")
	out := fs.String("out", "", "directory for the bench report (default out/bench-<time>)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	entries, err := sel.entries()
	if err != nil {
		return err
	}
	ctx, cancel := stoppable()
	defer cancel()
	fetcher, err := newFetcher("", "")
	if err != nil {
		return err
	}
	targets, err := fetchTargets(ctx, fetcher, entries)
	if err != nil {
		return err
	}
	// The peer: the selftests built for each architecture of the matrix.
	peer := map[arch.Arch][]vm.File{}
	var source string
	for _, t := range targets {
		a := t.Architecture()
		if _, ok := peer[a]; ok {
			continue
		}
		if peer[a], source, err = selftests.Files(ctx, fetcher, a, func(s string) { fmt.Fprintln(os.Stderr, s) }); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", "bench-"+time.Now().UTC().Format("20060102-150405"))
	}
	// The phases run in rounds of as many kernels as run at once, each
	// round running its kernels' floor, overhead, full matrix and
	// selftests back to back: a change of load on this noisy machine then
	// falls on all alike. (Three whole matrices one after the other once
	// saw the same kernels boot in 5 s in the floor and 12 s in the full
	// run.)
	phases := []struct {
		name     string
		settings protocol.Settings
		extra    map[arch.Arch][]vm.File
	}{{"floor", protocol.Settings{Noop: true}, nil}, {"overhead", protocol.Settings{Overhead: true}, nil}, {"matrix", protocol.Settings{}, nil},
		{"selftests", protocol.Settings{Selftests: true}, peer}}
	par := runtime.NumCPU()
	rounds := map[string][]*results.Run{}
	walls := map[string]time.Duration{}
	for first := 0; first < len(targets); first += par {
		round := targets[first:min(first+par, len(targets))]
		n := first/par + 1
		for _, ph := range phases {
			// The kernels of the earlier rounds boot once, as the whole
			// matrix boots all but its last; the last round's last kernels
			// boot their passes apart where slots would stand idle, as
			// the matrix's last kernels do (and one kernel on two cores,
			// as `llconform run` does).
			cfg := matrix.Config{Settings: ph.settings, Extra: ph.extra, Parallel: par, Timeout: 5 * time.Minute,
				OutDir: filepath.Join(dir, ph.name, fmt.Sprintf("round%d", n)), Args: args, OneBoot: first+par < len(targets)}
			fmt.Fprintf(os.Stderr, "bench: round %d of %d: %s of %d kernels...\n", n, (len(targets)+par-1)/par, ph.name, len(round))
			run, err := matrix.Run(ctx, cfg, round)
			if err != nil {
				return err
			}
			if err := results.WriteAll(cfg.OutDir, run); err != nil {
				return err
			}
			rounds[ph.name] = append(rounds[ph.name], run)
			walls[ph.name] += run.Finished.Sub(run.Started)
		}
	}
	runs := map[string]results.Phase{}
	for _, ph := range phases {
		run, err := results.Merge(rounds[ph.name]...)
		if err != nil {
			return err
		}
		runs[ph.name] = results.Phase{Run: run, Wall: walls[ph.name]}
	}
	b := results.NewBench(runs["floor"], runs["overhead"], runs["matrix"], runs["selftests"])
	b.PeerSource = source
	var names []string
	for _, k := range runs["matrix"].Run.Kernels {
		names = append(names, k.Key())
	}
	fmt.Printf("%d kernels (%s), %d VMs at a time; the selftests of linux-source %s\n", len(targets), archList(sel.arch.arches()), runtime.NumCPU(), source)
	if err := b.Write(os.Stdout, results.Areas(runs["matrix"].Run), names); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(b, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), js, 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", filepath.Join(dir, "bench.json"))
	return nil
}
