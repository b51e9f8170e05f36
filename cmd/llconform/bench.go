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

// benchRow is one measured matrix, or one architecture's part of it.
type benchRow struct {
	What        string  `json:"what"`
	Arch        string  `json:"arch"`             // "all" for the whole matrix
	WallS       float64 `json:"wall_s,omitempty"` // the whole matrix only: the parts share the VMs' time
	BootS       float64 `json:"boot_s"`           // sum over kernels, VM start to agent start
	SuitesS     float64 `json:"suites_s"`         // sum over kernels, agent start to done
	KernelWallS float64 `json:"kernel_wall_s"`    // sum over kernels, every attempt
	Cases       int     `json:"cases"`
	CasesPerSec float64 `json:"cases_per_s_in_vm"`
	Broken      int     `json:"broken_kernels"`
	Failed      int     `json:"failed_cases"`
}

// measure sums a run's kernels of arch ("all": every kernel).
func measure(what, arch string, run *results.Run) benchRow {
	r := benchRow{What: what, Arch: arch}
	if arch == "all" {
		r.WallS = run.Finished.Sub(run.Started).Seconds()
	}
	for _, k := range run.Kernels {
		if arch != "all" && k.Architecture() != arch {
			continue
		}
		r.BootS += float64(k.Timings.BootMS) / 1000
		r.SuitesS += float64(k.Timings.SuitesMS) / 1000
		r.KernelWallS += float64(k.Timings.WallMS) / 1000
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

// benchKernel is one kernel of the bench: its floor and its full run.
type benchKernel struct {
	Kernel      string         `json:"kernel"` // name/arch
	Package     string         `json:"package"`
	Version     string         `json:"version"`
	FloorBootS  float64        `json:"floor_boot_s"` // the no-op agent: VM start to header
	FloorWallS  float64        `json:"floor_wall_s"` // the no-op agent: VM start to exit
	BootS       float64        `json:"boot_s"`       // the full run: VM start to header
	SuitesS     float64        `json:"suites_s"`     // the full run: header to done
	WallS       float64        `json:"wall_s"`       // the full run: every attempt
	Attempts    int            `json:"attempts"`
	Counts      results.Counts `json:"counts"`
	Status      results.Status `json:"status"`
	FloorStatus results.Status `json:"floor_status"`
}

func benchKernels(floor, full *results.Run) []benchKernel {
	byKey := map[string]results.KernelRun{}
	for _, k := range floor.Kernels {
		byKey[k.Key()] = k
	}
	var out []benchKernel
	for _, k := range full.Kernels {
		f := byKey[k.Key()]
		bk := benchKernel{Kernel: k.Key(), Package: k.Env.Package, Version: k.Env.PackageVersion,
			FloorBootS: float64(f.Timings.BootMS) / 1000, FloorWallS: float64(f.Timings.WallMS) / 1000,
			BootS: float64(k.Timings.BootMS) / 1000, SuitesS: float64(k.Timings.SuitesMS) / 1000, WallS: float64(k.Timings.WallMS) / 1000,
			Attempts: len(k.Attempts), Status: k.Status, FloorStatus: f.Status}
		for _, c := range k.Cases {
			bk.Counts.Add(c.Verdict)
		}
		out = append(out, bk)
	}
	return out
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var only listFlag
	fs.Var(&only, "kernels", "only these catalog kernels (default: the whole catalog)")
	var arch archFlag
	arch.register(fs)
	out := fs.String("out", "", "directory for the bench report (default out/bench-<time>)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	entries, err := catalogEntries(only, arch.arches())
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
	var runs []*results.Run
	for _, noop := range []bool{true, false} {
		what, sub := "full matrix", "matrix"
		if noop {
			what, sub = "bare-boot floor (no-op agent)", "floor"
		}
		cfg := matrix.Config{Settings: protocol.Settings{Noop: noop}, Parallel: runtime.NumCPU(),
			Timeout: 5 * time.Minute, OutDir: filepath.Join(dir, sub), Args: args}
		run, err := matrix.Run(ctx, cfg, targets)
		if err != nil {
			return err
		}
		if err := results.WriteAll(cfg.OutDir, run); err != nil {
			return err
		}
		runs = append(runs, run)
		rows = append(rows, measure(what, "all", run))
		if len(arch.arches()) > 1 {
			for _, a := range arch.arches() {
				rows = append(rows, measure(what, a, run))
			}
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	peakMiB := float64(ru.Maxrss) / 1024
	ratio := rows[len(rows)/2].WallS / rows[0].WallS
	kernelsRows := benchKernels(runs[0], runs[1])

	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "%d kernels (%s), %d VMs at a time\n", len(targets), strings.Join(arch.arches(), ", "), runtime.NumCPU())
	fmt.Fprintln(tw, "what\tarch\twall s\tboot s (sum)\tsuites s (sum)\tkernel wall s (sum)\tcases\tcases/s in VM\tbroken kernels\tfailed cases")
	for _, r := range rows {
		wall := "-"
		if r.Arch == "all" {
			wall = fmt.Sprintf("%.1f", r.WallS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%.0f\t%d\t%d\n", r.What, r.Arch, wall, r.BootS, r.SuitesS, r.KernelWallS, r.Cases, r.CasesPerSec, r.Broken, r.Failed)
	}
	tw.Flush()
	fmt.Printf("full matrix / bare-boot floor: %.2fx (budget 1.5x)\n", ratio)
	fmt.Printf("peak memory of one VM (QEMU max RSS): %.0f MiB\n\n", peakMiB)
	tw = tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "kernel\tpackage\tversion\tfloor boot s\tfloor wall s\tboot s\tsuites s\twall s\tpass\tskip\tknown\twarn\tfail\tbroken\tattempts")
	for _, k := range kernelsRows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", k.Kernel, k.Package, k.Version, k.FloorBootS, k.FloorWallS,
			k.BootS, k.SuitesS, k.WallS, k.Counts.Pass, k.Counts.Skip, k.Counts.Known, k.Counts.Warn, k.Counts.Fail, k.Counts.Broken, k.Attempts)
	}
	tw.Flush()
	b, _ := json.MarshalIndent(map[string]any{"rows": rows, "ratio": ratio, "peak_vm_rss_mib": peakMiB, "kernels": kernelsRows,
		"arches": arch.arches()}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Printf("written to %s\n", filepath.Join(dir, "bench.json"))
	return nil
}
