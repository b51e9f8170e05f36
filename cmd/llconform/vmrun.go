package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
)

func init() {
	commands["run"] = command{"boot the given kernels (catalog names or your own bzImage/.deb/build dir) and run the suites", runRun}
}

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
	fs.IntVar(&f.parallel, "parallel", defaultParallel(), "VMs at a time (the default is the number of CPUs)")
	fs.IntVar(&f.memory, "memory", 512, "guest memory in MiB")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "per-boot timeout; the VM is killed then")
	fs.BoolVar(&f.noop, "noop", false, "boot with a no-op agent (header and done only): the bare-boot floor")
	fs.BoolVar(&f.jsonOut, "json", false, "print results.json to stdout instead of the terminal matrix")
	fs.BoolVar(&f.verbose, "verbose", false, "the agent names each case on the guest console before running it (find a hang in console/<kernel>.log)")
}

// defaultParallel is one VM per CPU: on 2 cores two VMs cost about 9 %
// each and four give nothing more (DESIGN.md).
func defaultParallel() int { return runtime.NumCPU() }

// guestCmdline passes the case selection to the agent.
func (f *vmFlags) guestCmdline() (string, error) {
	var parts []string
	if f.sel.run != "" {
		if strings.ContainsAny(f.sel.run, " \t\"") {
			return "", fmt.Errorf("--run %q: the pattern travels on the kernel command line and cannot hold spaces or quotes", f.sel.run)
		}
		if _, err := regexp.Compile(f.sel.run); err != nil {
			return "", fmt.Errorf("--run %q is not a valid regular expression: %v", f.sel.run, err)
		}
		parts = append(parts, "llconform.run="+f.sel.run)
	}
	if len(f.sel.areas) > 0 {
		parts = append(parts, "llconform.area="+strings.Join(f.sel.areas, ","))
	}
	if f.sel.ceiling > 0 {
		parts = append(parts, fmt.Sprintf("llconform.ceiling=%d", f.sel.ceiling))
	}
	if f.sel.shard != "" {
		o, err := f.sel.options()
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("llconform.shard=%d/%d", o.ShardIndex, o.ShardCount))
	}
	if f.noop {
		parts = append(parts, "llconform.noop=1")
	}
	if f.verbose {
		parts = append(parts, "llconform.v=1")
	}
	return strings.Join(parts, " "), nil
}

// matrixRun boots the targets and writes the run directory; it returns
// the run (also on interruption, marked incomplete).
func matrixRun(ctx context.Context, f *vmFlags, targets []harness.Target, args []string, progressOut io.Writer) (*results.Run, string, error) {
	guestArgs, err := f.guestCmdline()
	if err != nil {
		return nil, "", err
	}
	if err := vm.CheckQEMU(); err != nil {
		return nil, "", err
	}
	start := time.Now()
	id := start.UTC().Format("20060102-150405")
	dir := f.out
	if dir == "" {
		dir = filepath.Join("out", id)
	}
	if err := os.MkdirAll(filepath.Join(dir, "console"), 0o755); err != nil {
		return nil, "", err
	}
	fmt.Fprintf(progressOut, "building the agent and initramfs...\n")
	initramfs, err := vm.Prepare(ctx)
	if err != nil {
		return nil, "", err
	}
	accel := vm.Accel()
	boot := func(ctx context.Context, t harness.Target, onEvent func(results.Event)) ([]harness.Attempt, error) {
		log := filepath.Join("console", safeName(t.Name)+".log")
		spec := vm.Spec{Kernel: t.Image, Initramfs: initramfs, Cmdline: strings.TrimSpace(t.Cmdline + " " + guestArgs),
			MemoryMB: f.memory, Timeout: f.timeout, ConsoleLog: filepath.Join(dir, log), Accel: accel}
		rs, err := vm.RunWithRetry(ctx, spec, onEvent)
		var out []harness.Attempt
		for i, r := range rs {
			a := harness.Attempt{Stream: r.Stream, Status: r.Status, Reason: r.Reason, ConsoleLog: log,
				ConsoleTail: r.ConsoleTail, Boot: r.Boot, Suites: r.Suites, Wall: r.Wall}
			if i > 0 {
				a.ConsoleLog = strings.TrimSuffix(log, ".log") + ".retry.log"
			}
			out = append(out, a)
		}
		return out, err
	}
	for i := range targets {
		targets[i].Host.Accel = accel
	}
	prog := newProgress(progressOut, targets)
	kernels := harness.Matrix(ctx, targets, f.parallel, boot, prog.update)
	prog.finish()
	host, _ := os.Hostname()
	run := &results.Run{Schema: results.SchemaVersion, ID: id, Started: start, Finished: time.Now(),
		Host: results.Host{Hostname: host, CPUs: runtime.NumCPU()}, Args: args, Kernels: kernels,
		Incomplete: ctx.Err() != nil}
	if err := results.WriteAll(dir, run); err != nil {
		return run, dir, err
	}
	return run, dir, nil
}

// finishRun prints the matrix and turns fail/broken cells into exit 1.
func finishRun(run *results.Run, dir string, jsonOut bool) error {
	if jsonOut {
		b, err := os.ReadFile(filepath.Join(dir, results.FileResults))
		if err != nil {
			return err
		}
		os.Stdout.Write(b)
	} else {
		results.Terminal(os.Stdout, run, isTerminal(os.Stdout))
		fmt.Printf("reports: %s (index.html, matrix.md, junit/, results.json)\n", dir)
	}
	m := results.NewMatrix(run)
	if m.Totals.Fail > 0 || m.Totals.Broken > 0 || m.BrokenKernels > 0 || run.Incomplete {
		return exitError(1)
	}
	return nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// interruptible cancels the context on Ctrl-C, so that partial results
// are still written (marked incomplete).
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// progress prints one line per kernel state change (the matrix view comes
// at the end); on a terminal it redraws a status line.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	state map[string]string
	names []string
	tty   bool
	last  time.Time
}

func newProgress(w io.Writer, targets []harness.Target) *progress {
	p := &progress{w: w, state: map[string]string{}}
	if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	for _, t := range targets {
		p.names = append(p.names, t.Name)
		p.state[t.Name] = "queued"
	}
	return p
}

func (p *progress) update(kernel, state string, done, total, pass, fail int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := state
	if state == "running" || state == "done" || state == "broken" {
		of := ""
		if total > 0 {
			of = fmt.Sprintf("/%d", total)
		}
		s = fmt.Sprintf("%s %d%s cases (%d pass, %d fail)", state, done, of, pass, fail)
	}
	changed := !strings.HasPrefix(p.state[kernel], state)
	p.state[kernel] = s
	if p.tty {
		if time.Since(p.last) < 200*time.Millisecond && state == "running" {
			return
		}
		p.last = time.Now()
		var parts []string
		for _, n := range p.names {
			parts = append(parts, n+": "+p.state[n])
		}
		fmt.Fprintf(p.w, "\r\033[K%s", clipLine(strings.Join(parts, " | "), 200))
		return
	}
	if changed || state != "running" {
		fmt.Fprintf(p.w, "%-16s %s\n", kernel, s)
	}
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func clipLine(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func runRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var f vmFlags
	f.register(fs)
	var kernelsArg listFlag
	fs.Var(&kernelsArg, "kernel", "kernel to boot: a catalog name (see 'llconform kernels list'), a bzImage, a .deb or a kernel build directory; repeatable, comma-separated")
	name := fs.String("name", "", "name of a bring-your-own kernel (default: from the file)")
	expectABI := fs.Int("expect-abi", -1, "the ABI a bring-your-own kernel should report (default: detected, not checked)")
	mirror := fs.String("mirror", "", "Debian mirror URL (default: LLCONFORM_MIRROR, else the apt sources)")
	keyring := fs.String("keyring", "", "Debian archive keyring (default: LLCONFORM_KEYRING, else the system one)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform run --kernel NAME|PATH [--kernel ...] [flags]")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if len(kernelsArg) == 0 {
		fs.Usage()
		return fmt.Errorf("give at least one --kernel (a catalog name such as 6.18, or a path to your own kernel)")
	}
	return bootAndReport(&f, *mirror, *keyring, func(ctx context.Context, fetcher *kernels.Fetcher) ([]harness.Target, error) {
		return resolveTargets(ctx, fetcher, kernelsArg, *name, *expectABI)
	})
}

// bootAndReport resolves the targets, boots them, writes the reports and
// prints the matrix; the exit status says whether every cell passed.
func bootAndReport(f *vmFlags, mirror, keyring string, targets func(context.Context, *kernels.Fetcher) ([]harness.Target, error)) error {
	fetcher, err := newFetcher(mirror, keyring)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	ts, err := targets(ctx, fetcher)
	if err != nil {
		return err
	}
	run, dir, err := matrixRun(ctx, f, ts, os.Args[1:], os.Stderr)
	if err != nil {
		return err
	}
	return finishRun(run, dir, f.jsonOut)
}
