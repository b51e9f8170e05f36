package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/results"
)

func init() {
	commands["diff"] = command{"list every case two kernels observed differently (of one run, or of two), explained or not by their ABIs and errata", runDiff}
}

const diffUsage = `usage: llconform diff [--markdown|--json] RUN/results.json KERNEL_A KERNEL_B
       llconform diff [--markdown|--json] [--pair OLD=NEW ...] A/results.json B/results.json

Lists every case whose observation (observed outcome, verdict, skip reason)
differs between two kernels, grouped by area. A difference is explained when
the kernels' expectations account for it (their ABIs or errata make the case
expect different outcomes, or a documented erratum), else unexplained.
Kernels are named as in the run: 7.3, 7.3-rt, or 7.3/arm64 when the name is
on two architectures. Of two runs, the kernels of the same name and
architecture are compared; --pair OLD=NEW pairs two others (repeatable).

Exit status: 0 no unexplained difference, 1 an unexplained difference,
2 bad usage or unreadable input.
`

// pairFlag is --pair OLD=NEW, repeatable.
type pairFlag [][2]string

func (p *pairFlag) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x[0]+"="+x[1])
	}
	return strings.Join(s, ",")
}

func (p *pairFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "=")
	if !ok || a == "" || b == "" {
		return usagef("--pair %q: want OLD=NEW, two kernel names such as 7.2=7.2.6+deb13-cloud", v)
	}
	*p = append(*p, [2]string{a, b})
	return nil
}

func runDiff(args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	markdown := fs.Bool("markdown", false, "print Markdown (for a pull request or an upload's notes)")
	jsonOut := fs.Bool("json", false, "print JSON")
	var pairs pairFlag
	fs.Var(&pairs, "pair", "of two runs: compare kernel OLD of the first with NEW of the second (OLD=NEW, repeatable)")
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, diffUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	// Flags may come after the runs and kernels too (--pair last reads
	// naturally).
	var pos []string
	for rest := args; ; {
		if err := parse(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *markdown && *jsonOut {
		return usagef("give --markdown or --json, not both")
	}
	var diffs []results.KernelDiff
	switch len(pos) {
	case 3:
		if len(pairs) > 0 {
			return usagef("--pair is for two runs; of one run, name the two kernels: llconform diff RUN/results.json KERNEL_A KERNEL_B")
		}
		run, err := loadRun(pos[0])
		if err != nil {
			return err
		}
		a, err := results.FindKernel(run, pos[1])
		if err != nil {
			return usageError{err.Error()}
		}
		b, err := results.FindKernel(run, pos[2])
		if err != nil {
			return usageError{err.Error()}
		}
		if a == b {
			return usagef("%s and %s are the same kernel: name two", pos[1], pos[2])
		}
		diffs = append(diffs, results.DiffKernels(run, a, run, b))
	case 2:
		oldRun, err := loadRun(pos[0])
		if err != nil {
			return err
		}
		newRun, err := loadRun(pos[1])
		if err != nil {
			return err
		}
		if diffs, err = diffRuns(oldRun, newRun, pairs); err != nil {
			return err
		}
	default:
		fs.Usage()
		return usagef("give one run and two of its kernels, or two runs")
	}
	if err := printDiffs(diffs, *markdown, *jsonOut); err != nil {
		return err
	}
	for _, d := range diffs {
		if d.Unexplained > 0 {
			return exitError(exitFailed)
		}
	}
	return nil
}

// loadRun reads a results.json, or the one in a run directory; what
// cannot be read is bad input (exit 2).
func loadRun(path string) (*results.Run, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, results.FileResults)
	}
	run, err := results.Load(path)
	if err != nil {
		return nil, usagef("%v (give a results.json or a run directory)", err)
	}
	return run, nil
}

// diffRuns pairs the kernels of two runs: --pair's, else every kernel
// both have (by name and architecture), else the only kernel of each.
func diffRuns(oldRun, newRun *results.Run, pairs pairFlag) ([]results.KernelDiff, error) {
	var out []results.KernelDiff
	if len(pairs) > 0 {
		for _, p := range pairs {
			a, err := results.FindKernel(oldRun, p[0])
			if err != nil {
				return nil, usagef("--pair %s=%s: %v", p[0], p[1], err)
			}
			b, err := results.FindKernel(newRun, p[1])
			if err != nil {
				return nil, usagef("--pair %s=%s: %v", p[0], p[1], err)
			}
			out = append(out, results.DiffKernels(oldRun, a, newRun, b))
		}
		return out, nil
	}
	for i := range oldRun.Kernels {
		a := &oldRun.Kernels[i]
		for j := range newRun.Kernels {
			if b := &newRun.Kernels[j]; b.Key() == a.Key() {
				out = append(out, results.DiffKernels(oldRun, a, newRun, b))
				break
			}
		}
	}
	if len(out) == 0 && len(oldRun.Kernels) == 1 && len(newRun.Kernels) == 1 {
		out = append(out, results.DiffKernels(oldRun, &oldRun.Kernels[0], newRun, &newRun.Kernels[0]))
	}
	if len(out) == 0 {
		return nil, usagef("the runs have no kernel in common (%s; %s): pair two with --pair OLD=NEW", kernelKeys(oldRun), kernelKeys(newRun))
	}
	return out, nil
}

func kernelKeys(run *results.Run) string {
	var ks []string
	for i := range run.Kernels {
		ks = append(ks, run.Kernels[i].Key())
	}
	return strings.Join(ks, ", ")
}

func printDiffs(diffs []results.KernelDiff, markdown, jsonOut bool) error {
	if jsonOut {
		b, err := json.MarshalIndent(struct {
			Diffs []results.KernelDiff `json:"diffs"`
		}{diffs}, "", "  ")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	for i, d := range diffs {
		if i > 0 {
			fmt.Println()
		}
		var err error
		if markdown {
			err = d.WriteMarkdown(os.Stdout)
		} else {
			err = d.WriteText(os.Stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
