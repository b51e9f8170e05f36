package results

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Bench compares the runs of one `llconform bench`: the bare-boot floor
// (a no-op agent), the harness overhead (no-op cases of each isolation),
// the full matrix, and its peer: the kernel's own Landlock selftests on
// the same kernels. Only ratios within one bench are meaningful on a
// noisy machine; CPU ratios (QEMU's own CPU time) hold best under load.
type Bench struct {
	Floor    BenchRun `json:"floor"`
	Overhead BenchRun `json:"overhead"`
	Full     BenchRun `json:"full"`
	Peer     BenchRun `json:"selftests"`
	// RatioPeer is the full matrix's wall / the selftests' wall, over
	// the whole matrix; PerKernel has it per kernel.
	RatioPeer float64  `json:"ratio_selftests_wall"`
	PerKernel []VsPeer `json:"per_kernel_vs_selftests"`
	// PeerSource is the version of the linux-source package the
	// selftests were built from.
	PeerSource string `json:"selftests_source"`
	// RatioWall and RatioCPU are full / floor.
	RatioWall float64 `json:"ratio_wall"`
	RatioCPU  float64 `json:"ratio_cpu"`
	// Per-case cost of the harness, from the no-op cases: the case's own
	// duration (thread or process start to end) and, per result, the
	// rest of the suites time (records, the unprivileged pass's start).
	ThreadCaseMS  float64 `json:"thread_case_ms"`
	ProcessCaseMS float64 `json:"process_case_ms"`
	RecordMS      float64 `json:"per_result_rest_ms"`
	// AreaSeconds is the time of each area's cases per kernel (full run).
	AreaSeconds map[string]map[string]float64 `json:"area_seconds"`
	// KernelSeconds is, per kernel of the full run, boot and suites.
	KernelSeconds map[string][2]float64 `json:"kernel_boot_suites_seconds"`
}

// Targets of the ratio to the selftests' wall (DESIGN.md, Budgets).
const (
	PeerTargetKernel = 0.4 // per kernel (quoted for 7.3)
	PeerTargetTotal  = 0.5 // the whole default matrix
)

// VsPeer is one kernel's llconform run next to its selftests run: the
// kernels' walls (boot to power-off, retries included), their results,
// and the selftests' verdicts.
type VsPeer struct {
	Kernel      string  `json:"kernel"`
	WallS       float64 `json:"llconform_wall_s"`
	Results     int     `json:"llconform_results"`
	PeerWallS   float64 `json:"selftests_wall_s"`
	PeerResults int     `json:"selftests_results"`
	Ratio       float64 `json:"ratio_wall"`
	// CPUS and PeerCPUS are the QEMU CPU seconds of each side (of every
	// VM of a kernel whose passes booted apart): what the wall cost.
	CPUS             float64 `json:"llconform_qemu_cpu_s"`
	PeerCPUS         float64 `json:"selftests_qemu_cpu_s"`
	RatioCPU         float64 `json:"ratio_qemu_cpu"`
	PeerPass         int     `json:"selftests_pass"`
	PeerFail         int     `json:"selftests_fail"`
	PeerSkip         int     `json:"selftests_skip"`
	PeerBroken       int     `json:"selftests_broken"`
	PeerKernelStatus Status  `json:"selftests_kernel_status"`
}

// vsPeer pairs the kernels of the full run and the selftests run by key.
func vsPeer(full, peer *Run) []VsPeer {
	byKey := map[string]KernelRun{}
	for _, k := range peer.Kernels {
		byKey[k.Key()] = k
	}
	var out []VsPeer
	for _, k := range full.Kernels {
		v := VsPeer{Kernel: k.Key(), WallS: float64(k.Timings.WallMS) / 1000, Results: len(k.Cases), CPUS: float64(k.Timings.QEMUCPUMS) / 1000}
		if p, ok := byKey[k.Key()]; ok {
			v.PeerWallS, v.PeerKernelStatus = float64(p.Timings.WallMS)/1000, p.Status
			v.PeerCPUS = float64(p.Timings.QEMUCPUMS) / 1000
			for _, c := range p.Cases {
				if c.Area != "selftests" {
					continue // the host's check of the kernel's catalog entry
				}
				v.PeerResults++
				switch c.Verdict {
				case Pass:
					v.PeerPass++
				case Skip:
					v.PeerSkip++
				case Broken:
					v.PeerBroken++
				default:
					v.PeerFail++
				}
			}
		}
		if v.PeerWallS > 0 {
			v.Ratio = v.WallS / v.PeerWallS
		}
		if v.PeerCPUS > 0 {
			v.RatioCPU = v.CPUS / v.PeerCPUS
		}
		out = append(out, v)
	}
	return out
}

func perSecond(n int, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / s
}

// BenchRun sums one run of a bench.
type BenchRun struct {
	What        string  `json:"what"`
	Kernels     int     `json:"kernels"`
	WallS       float64 `json:"wall_s"`
	CPUS        float64 `json:"qemu_cpu_s"`
	BootS       float64 `json:"boot_s"`   // sum over kernels, VM start to agent start
	SuitesS     float64 `json:"suites_s"` // sum over kernels, agent start to done
	Results     int     `json:"results"`
	PerSecond   float64 `json:"results_per_s_in_vm"`
	Broken      int     `json:"broken_kernels"`
	FailedCases int     `json:"failed_cases"`
}

// Phase is one of a bench's runs and its wall time: the sum of its
// rounds' when the bench ran in rounds, else (zero) the run's own span.
type Phase struct {
	Run  *Run
	Wall time.Duration
}

func benchRun(what string, p Phase) BenchRun {
	run, wall := p.Run, p.Wall
	if wall == 0 {
		wall = run.Finished.Sub(run.Started)
	}
	r := BenchRun{What: what, Kernels: len(run.Kernels), WallS: wall.Seconds()}
	for _, k := range run.Kernels {
		r.CPUS += float64(k.Timings.QEMUCPUMS) / 1000
		r.BootS += float64(k.Timings.BootMS) / 1000
		r.SuitesS += float64(k.Timings.SuitesMS) / 1000
		r.Results += len(k.Cases)
		if k.Broken() {
			r.Broken++
		}
		for _, c := range k.Cases {
			if c.Verdict == Fail || c.Verdict == Broken {
				r.FailedCases++
			}
		}
	}
	if r.SuitesS > 0 {
		r.PerSecond = float64(r.Results) / r.SuitesS
	}
	return r
}

// NewBench measures a bench's runs.
func NewBench(floor, overhead, full, peer Phase) Bench {
	b := Bench{Floor: benchRun("bare-boot floor (no-op agent)", floor), Overhead: benchRun("harness overhead (no-op cases)", overhead),
		Full: benchRun("full matrix", full), Peer: benchRun("kernel's Landlock selftests", peer),
		PerKernel: vsPeer(full.Run, peer.Run), AreaSeconds: map[string]map[string]float64{}, KernelSeconds: map[string][2]float64{}}
	if b.Peer.WallS > 0 {
		b.RatioPeer = b.Full.WallS / b.Peer.WallS
	}
	if b.Floor.WallS > 0 {
		b.RatioWall = b.Full.WallS / b.Floor.WallS
	}
	if b.Floor.CPUS > 0 {
		b.RatioCPU = b.Full.CPUS / b.Floor.CPUS
	}
	var threadUS, procUS, threads, procs int64
	var suitesMS int64
	results := 0
	for _, k := range overhead.Run.Kernels {
		suitesMS += k.Timings.SuitesMS
		for _, c := range k.Cases {
			if c.Area != "harness" {
				continue
			}
			results++
			if strings.HasPrefix(c.Name, "noop_process/") {
				procUS += c.DurationUS
				procs++
			} else {
				threadUS += c.DurationUS
				threads++
			}
		}
	}
	if threads > 0 {
		b.ThreadCaseMS = float64(threadUS) / float64(threads) / 1000
	}
	if procs > 0 {
		b.ProcessCaseMS = float64(procUS) / float64(procs) / 1000
	}
	if results > 0 {
		b.RecordMS = (float64(suitesMS) - float64(threadUS+procUS)/1000) / float64(results)
	}
	for _, k := range full.Run.Kernels {
		b.KernelSeconds[k.Key()] = [2]float64{float64(k.Timings.BootMS) / 1000, float64(k.Timings.SuitesMS) / 1000}
		per := map[string]float64{}
		for _, c := range k.Cases {
			per[c.Row()] += float64(c.DurationUS) / 1e6
		}
		b.AreaSeconds[k.Key()] = per
	}
	return b
}

// Write prints the bench for a person: llconform next to the selftests
// per kernel and in total first, then the phases and the harness costs.
func (b Bench) Write(w io.Writer, areas []string, kernels []string) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	for _, v := range b.PerKernel {
		fmt.Fprintf(tw, "%s\tllconform %.1f s (%d results, %.0f/s)\tselftests %.1f s (%d results, %.0f/s)\tratio %.2fx\t(QEMU CPU %.2fx)\tselftests: %d pass, %d fail, %d skip, %d broken",
			v.Kernel, v.WallS, v.Results, perSecond(v.Results, v.WallS), v.PeerWallS, v.PeerResults, perSecond(v.PeerResults, v.PeerWallS), v.Ratio,
			v.RatioCPU, v.PeerPass, v.PeerFail, v.PeerSkip, v.PeerBroken)
		if v.PeerKernelStatus != StatusComplete {
			fmt.Fprintf(tw, " (selftests boot %s)", v.PeerKernelStatus)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "total (%d kernels)\tllconform %.1f s (%d results, %.0f/s)\tselftests %.1f s (%d results, %.0f/s)\tratio %.2fx\t(target: 7.3 <= %.1fx, total <= %.1fx)\n",
		b.Full.Kernels, b.Full.WallS, b.Full.Results, perSecond(b.Full.Results, b.Full.WallS), b.Peer.WallS, b.peerResults(), perSecond(b.peerResults(), b.Peer.WallS),
		b.RatioPeer, PeerTargetKernel, PeerTargetTotal)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tkernels\twall s\tQEMU CPU s\tboot s (sum)\tsuites s (sum)\tresults\tresults/s in VM\tbroken kernels\tfailed cases")
	for _, r := range []BenchRun{b.Floor, b.Overhead, b.Full, b.Peer} {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.0f\t%d\t%d\n", r.What, r.Kernels, r.WallS, r.CPUS, r.BootS, r.SuitesS, r.Results, r.PerSecond, r.Broken, r.FailedCases)
	}
	tw.Flush()
	fmt.Fprintf(w, "full matrix / bare-boot floor: %.2fx wall, %.2fx QEMU CPU\n", b.RatioWall, b.RatioCPU)
	fmt.Fprintf(w, "harness cost per case under this VM: thread %.2f ms, process %.1f ms; per result otherwise (record, passes) %.2f ms (budget: thread 1 ms, process 30 ms)\n",
		b.ThreadCaseMS, b.ProcessCaseMS, b.RecordMS)
	fmt.Fprintln(w, "\nper kernel of the full matrix: boot s, suites s, and the seconds of each area's cases:")
	tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprint(tw, "kernel\tboot\tsuites")
	for _, a := range areas {
		fmt.Fprintf(tw, "\t%s", a)
	}
	fmt.Fprintln(tw)
	for _, k := range kernels {
		ks := b.KernelSeconds[k]
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f", k, ks[0], ks[1])
		for _, a := range areas {
			fmt.Fprintf(tw, "\t%.1f", b.AreaSeconds[k][a])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// peerResults counts the selftests' own results, without the host's
// catalog check of each kernel.
func (b Bench) peerResults() int {
	n := 0
	for _, v := range b.PerKernel {
		n += v.PeerResults
	}
	return n
}
