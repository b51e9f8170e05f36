package results

import (
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// NewRun is the document of a run that started at started and ends now,
// on this host.
func NewRun(started time.Time, args []string, kernels []KernelRun) *Run {
	return &Run{Schema: SchemaVersion, ID: started.UTC().Format("20060102-150405"), Started: started,
		Finished: time.Now(), Host: thisHost(), Args: args, Kernels: kernels}
}

// thisHost describes the machine and the llconform build that ran.
func thisHost() Host {
	h := Host{CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				h.Version = s.Value[:12]
			}
			if s.Key == "vcs.modified" && s.Value == "true" {
				h.Version += "+dirty"
			}
		}
	}
	return h
}

// Passed is the verdict of a whole run, the one place that decides the
// exit status of run, matrix, native and bench: every kernel complete,
// the run not interrupted, and no case failing or broken; known cases
// (an unfixed erratum the kernel admits) and warnings pass. Strict also
// fails on warnings and on a kernel that needed a retry. A run with a
// baseline also fails on any case that passed there and does not now.
func (r *Run) Passed(strict bool) bool {
	if r.Incomplete || (r.Baseline != nil && len(r.Baseline.Lost) > 0) {
		return false
	}
	for _, k := range r.Kernels {
		if retried, _ := k.Retried(); k.Status != StatusComplete || (strict && retried) {
			return false
		}
		for _, c := range k.Cases {
			switch c.Verdict {
			case Pass, Skip, Known:
			case Warn:
				if strict {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}
