package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/libraries"
	"github.com/llconform/llconform/results"
)

func init() {
	commands["native"] = command{"run the suites on this machine's kernel (root and unprivileged)", runNative}
}

func runNative(args []string) error {
	fs := flag.NewFlagSet("native", flag.ContinueOnError)
	var sel selection
	sel.register(fs)
	jsonOut := fs.Bool("json", false, "write the JSON-lines stream to stdout instead of a summary")
	out := fs.String("o", "", "also write the JSON-lines stream to this file")
	reports := fs.String("out", "", "write results.json, matrix.md, index.html and junit/ into this directory")
	noUnpriv := fs.Bool("no-unpriv", false, "skip the unprivileged pass when root")
	expectABI := fs.Int("expect-abi", -1, "the Landlock ABI this kernel must report (default: reported, not checked)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	st, err := sel.settings()
	if err != nil {
		return err
	}
	st.NoUnpriv = *noUnpriv
	if slices.Contains(st.Libraries, "sandboxer") && os.Getenv("LLCONFORM_SANDBOXER") == "" {
		if err := sandboxerForNative(); err != nil {
			return err
		}
	}
	var sinks []io.Writer
	if *jsonOut {
		sinks = append(sinks, os.Stdout)
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		sinks = append(sinks, f)
	}
	start := time.Now()
	var expect *int
	if *expectABI >= 0 {
		if *expectABI < 1 {
			return usagef("--expect-abi %d: want an ABI of 1 or more (a kernel without Landlock is checked in a VM run)", *expectABI)
		}
		expect = expectABI
	}
	run, runErr := agent.Native(st, args, io.MultiWriter(sinks...), expect)
	if run == nil {
		return runErr
	}
	if !*jsonOut {
		results.Terminal(os.Stdout, run, isTerminal(os.Stdout))
		fmt.Printf("%d cases in %.1fs\n", len(run.Kernels[0].Cases), time.Since(start).Seconds())
	}
	if *reports != "" {
		if err := results.WriteAll(*reports, run); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "reports written to %s\n", *reports)
	}
	if runErr != nil {
		return runErr
	}
	return exitFor(run, sel.strict)
}

// sandboxerForNative builds the kernel's sandboxer (cached) and points
// the sandboxer library at it, readable by the unprivileged pass too.
func sandboxerForNative() error {
	fetcher, err := newFetcher("", "")
	if err != nil {
		return err
	}
	ctx, cancel := stoppable()
	defer cancel()
	b, version, err := libraries.Sandboxer(ctx, fetcher, arch.Arch(runtime.GOARCH), func(s string) { fmt.Fprintln(os.Stderr, s) })
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "llconform-sandboxer-")
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "sandboxer")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path+".version", []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	return os.Setenv("LLCONFORM_SANDBOXER", path)
}
