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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/llconform/llconform/agent/protocol"
	"github.com/llconform/llconform/matrix"
	"github.com/llconform/llconform/results"
)

func init() {
	commands["bench"] = command{"measure the bare-boot floor and the full matrix in one run, and their ratio", runBench}
}

// benchRow is one measured matrix.
type benchRow struct {
	What        string  `json:"what"`
	WallS       float64 `json:"wall_s"`
	BootS       float64 `json:"boot_s"`   // sum over kernels, VM start to agent start
	SuitesS     float64 `json:"suites_s"` // sum over kernels, agent start to done
	Cases       int     `json:"cases"`
	CasesPerSec float64 `json:"cases_per_s_in_vm"`
	Broken      int     `json:"broken_kernels"`
	Failed      int     `json:"failed_cases"`
}

func measure(what string, run *results.Run) benchRow {
	r := benchRow{What: what, WallS: run.Finished.Sub(run.Started).Seconds()}
	for _, k := range run.Kernels {
		r.BootS += float64(k.Timings.BootMS) / 1000
		r.SuitesS += float64(k.Timings.SuitesMS) / 1000
		r.Cases += len(k.Cases)
		if k.Status != results.StatusComplete {
			r.Broken++
		}
		for _, c := range k.Cases {
			if c.Verdict == results.Fail || c.Verdict == results.Broken {
				r.Failed++
			}
		}
	}
	if r.SuitesS > 0 {
		r.CasesPerSec = float64(r.Cases) / r.SuitesS
	}
	return r
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var only listFlag
	fs.Var(&only, "kernels", "only these catalog kernels (default: the whole catalog)")
	out := fs.String("out", "", "directory for the bench report (default out/bench-<time>)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	entries, err := catalogEntries(only)
	if err != nil {
		return err
	}
	fetcher, err := newFetcher("", "")
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	targets, err := fetchTargets(ctx, fetcher, entries)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", "bench-"+time.Now().UTC().Format("20060102-150405"))
	}
	var rows []benchRow
	for _, noop := range []bool{true, false} {
		what, sub := "full matrix", "matrix"
		if noop {
			what, sub = "bare-boot floor (no-op agent)", "floor"
		}
		cfg := matrix.Config{Settings: protocol.Settings{Noop: noop}, Parallel: runtime.NumCPU(), MemoryMB: 512,
			Timeout: 5 * time.Minute, OutDir: filepath.Join(dir, sub), Args: args}
		run, err := matrix.Run(ctx, cfg, targets)
		if err != nil {
			return err
		}
		if err := results.WriteAll(cfg.OutDir, run); err != nil {
			return err
		}
		rows = append(rows, measure(what, run))
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	peakMiB := float64(ru.Maxrss) / 1024
	ratio := rows[1].WallS / rows[0].WallS

	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "%d kernels, %d VMs at a time\n", len(targets), runtime.NumCPU())
	fmt.Fprintln(tw, "what\twall s\tboot s (sum)\tsuites s (sum)\tcases\tcases/s in VM\tbroken kernels\tfailed cases")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%d\t%.0f\t%d\t%d\n", r.What, r.WallS, r.BootS, r.SuitesS, r.Cases, r.CasesPerSec, r.Broken, r.Failed)
	}
	tw.Flush()
	fmt.Printf("full matrix / bare-boot floor: %.2fx (budget 1.5x)\n", ratio)
	fmt.Printf("peak memory of one VM (QEMU max RSS): %.0f MiB\n", peakMiB)
	b, _ := json.MarshalIndent(map[string]any{"rows": rows, "ratio": ratio, "peak_vm_rss_mib": peakMiB, "kernels": len(targets)}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", filepath.Join(dir, "bench.json"))
	return nil
}
