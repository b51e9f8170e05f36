package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/results"
)

func init() {
	commands["native"] = command{"run the suites on this machine's kernel (root and unprivileged)", runNative}
}

// selection holds the case-selection flags shared by native, run and matrix.
type selection struct {
	run     string
	areas   listFlag
	shard   string
	ceiling int
}

func (s *selection) register(fs *flag.FlagSet) {
	fs.StringVar(&s.run, "run", "", "only cases whose area/name matches this regular expression")
	fs.Var(&s.areas, "area", "only these areas (comma-separated: base,fs,truncate,ioctl,tcp,udp,scope,...)")
	fs.StringVar(&s.shard, "shard", "", "run shard i of n (i/n, 1-based) of the cases")
	fs.IntVar(&s.ceiling, "ceiling", 0, "library ABI ceiling for every case (0: none)")
}

func (s *selection) options() (harness.Options, error) {
	o := harness.Options{Run: s.run, Areas: s.areas, Ceiling: s.ceiling, Unpriv: true}
	if s.shard != "" {
		if _, err := fmt.Sscanf(s.shard, "%d/%d", &o.ShardIndex, &o.ShardCount); err != nil || o.ShardIndex < 1 || o.ShardIndex > o.ShardCount {
			return o, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, e.g. 2/4", s.shard)
		}
	}
	return o, nil
}

func runNative(args []string) error {
	fs := flag.NewFlagSet("native", flag.ExitOnError)
	var sel selection
	sel.register(fs)
	jsonOut := fs.Bool("json", false, "write the JSON-lines stream to stdout instead of a summary")
	out := fs.String("o", "", "also write the JSON-lines stream to this file")
	reports := fs.String("out", "", "write results.json, matrix.md, index.html and junit/ into this directory")
	noUnpriv := fs.Bool("no-unpriv", false, "skip the unprivileged pass when root")
	fs.Parse(args)
	o, err := sel.options()
	if err != nil {
		return err
	}
	o.Unpriv = !*noUnpriv
	var buf bytes.Buffer
	sinks := []io.Writer{&buf}
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
	runErr := harness.Suite(o, results.NewStreamWriter(io.MultiWriter(sinks...)), true)
	s, err := results.ReadStream(&buf)
	if err != nil {
		return err
	}
	run := nativeRun(s, start)
	if !*jsonOut {
		results.Terminal(os.Stdout, run, isTerminal(os.Stdout))
		fmt.Printf("%d cases in %.1fs\n", len(s.Cases), time.Since(start).Seconds())
	}
	if *reports != "" {
		run.Args = os.Args[1:]
		if err := results.WriteAll(*reports, run); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "reports written to %s\n", *reports)
	}
	if runErr != nil {
		return runErr
	}
	if ok, why := s.Complete(); !ok {
		return fmt.Errorf("incomplete run: %s", why)
	}
	for _, c := range s.Cases {
		if c.Verdict == results.Fail || c.Verdict == results.Broken {
			return exitError(1)
		}
	}
	return nil
}

// nativeRun turns the stream of this machine into a one-kernel run.
func nativeRun(s *results.Stream, start time.Time) *results.Run {
	kr := results.KernelRun{Name: "native", Status: "complete", Cases: s.Cases}
	if s.Header != nil {
		kr.Env = *s.Header
		kr.Name = "native-" + s.Header.Release
	}
	if ok, why := s.Complete(); !ok {
		kr.Status, kr.Reason = "broken", why
	}
	kr.Timings.SuitesMS = time.Since(start).Milliseconds()
	host, _ := os.Hostname()
	return &results.Run{Schema: results.SchemaVersion, ID: "native-" + start.UTC().Format("20060102-150405"),
		Started: start, Finished: time.Now(), Host: results.Host{Hostname: host, CPUs: runtime.NumCPU()},
		Incomplete: kr.Status != "complete", Kernels: []results.KernelRun{kr}}
}
