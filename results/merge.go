package results

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Merge combines the runs of shards run on several machines into one run:
// every kernel of every run, grouped by architecture (amd64, arm64) and in
// natural order of their names within one (5.10, 6.1, 6.12,
// 6.12-nolandlock, …: kernel shards deal the catalog out in turn, so first
// appearance would scramble it). A kernel is its name and architecture
// (KernelRun.Key): 7.3 on amd64 and 7.3 on arm64 stay two kernels. A
// kernel found in several shards has its cases merged; a case reported twice with
// different verdicts keeps the worse one, with a note in its Detail. The
// result is incomplete if any input is, spans the inputs' times and gets
// an ID derived from theirs (merging the same shards gives the same ID).
func Merge(runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("merge: no runs given")
	}
	out := &Run{Schema: SchemaVersion, Kernels: []KernelRun{}}
	index := map[string]int{}
	h := sha256.New()
	var hosts, hkernels, versions []string
	for i, r := range runs {
		if r == nil {
			return nil, fmt.Errorf("merge: run %d is nil", i+1)
		}
		if r.Schema < 0 || r.Schema > SchemaVersion {
			return nil, fmt.Errorf("merge: run %q has results schema %d, this llconform merges schemas 1 to %d", r.ID, r.Schema, SchemaVersion)
		}
		fmt.Fprintf(h, "%s\x00", r.ID)
		out.Incomplete = out.Incomplete || r.Incomplete
		if !r.Started.IsZero() && (out.Started.IsZero() || r.Started.Before(out.Started)) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
		hosts = appendNew(hosts, r.Host.Hostname)
		hkernels = appendNew(hkernels, r.Host.Kernel)
		versions = appendNew(versions, r.Host.Version)
		out.Host.CPUs = max(out.Host.CPUs, r.Host.CPUs)
		if i == 0 {
			out.Args = append([]string(nil), r.Args...)
		} else if strings.Join(out.Args, "\x00") != strings.Join(r.Args, "\x00") {
			out.Args = nil // shards differ in their arguments: none is the merge's
		}
		for _, k := range r.Kernels {
			key := k.Key()
			if j, ok := index[key]; ok {
				out.Kernels[j] = mergeKernel(out.Kernels[j], k)
				continue
			}
			index[key] = len(out.Kernels)
			k = copyKernel(k)
			k.Arch = k.Architecture() // an older shard's kernel says it in the merge
			out.Kernels = append(out.Kernels, k)
		}
	}
	slices.SortStableFunc(out.Kernels, func(a, b KernelRun) int {
		if c := archRank(a.Architecture(), b.Architecture()); c != 0 {
			return c
		}
		return naturalCompare(a.Name, b.Name)
	})
	out.Host.Hostname = strings.Join(hosts, ", ")
	out.Host.Kernel = strings.Join(hkernels, ", ")
	out.Host.Version = strings.Join(versions, ", ")
	stamp := "unknown"
	if !out.Started.IsZero() {
		stamp = out.Started.UTC().Format("20060102T150405Z")
	}
	out.ID = stamp + "-merged-" + hex.EncodeToString(h.Sum(nil))[:8]
	return out, nil
}

func appendNew(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// copyKernel copies the slices of a kernel run so the merge never shares
// memory with its inputs.
func copyKernel(k KernelRun) KernelRun {
	k.Cases = append([]Case(nil), k.Cases...)
	k.Flags = append([]string(nil), k.Flags...)
	k.Attempts = append([]Attempt(nil), k.Attempts...)
	if k.Env.ExpectedABI != nil {
		v := *k.Env.ExpectedABI
		k.Env.ExpectedABI = &v
	}
	return k
}

// mergeKernel merges two reports of the same kernel: the cases of both,
// the worse status, the flags and attempts of both, summed timings.
func mergeKernel(a, b KernelRun) KernelRun {
	out := copyKernel(a)
	if out.Env.Release == "" && out.Env.LandlockStatus == "" {
		out.Env = copyKernel(b).Env // a shard that never got a header knows less
	}
	switch {
	case a.Broken() && b.Broken():
		if b.Reason != "" && b.Reason != a.Reason {
			out.Reason = strings.TrimPrefix(a.Reason+"; "+b.Reason, "; ")
		}
	case b.Broken():
		out.Status, out.Reason = b.Status, b.Reason
	}
	for _, f := range b.Flags {
		out.Flags = appendNew(out.Flags, f)
	}
	out.Attempts = append(out.Attempts, b.Attempts...)
	out.Timings.DownloadMS += b.Timings.DownloadMS
	out.Timings.BootMS += b.Timings.BootMS
	out.Timings.SuitesMS += b.Timings.SuitesMS
	out.Timings.WallMS += b.Timings.WallMS

	pos := map[string]int{}
	for i, c := range out.Cases {
		pos[c.ID()] = i
	}
	for _, c := range b.Cases {
		i, ok := pos[c.ID()]
		if !ok {
			pos[c.ID()] = len(out.Cases)
			out.Cases = append(out.Cases, c)
			continue
		}
		prev := out.Cases[i]
		if prev.Verdict == c.Verdict {
			continue
		}
		keep, other := prev, c
		if severity(c.Verdict) > severity(prev.Verdict) {
			keep, other = c, prev
		}
		note := fmt.Sprintf("merge: another shard reported %s (observed %s)", other.Verdict, orNone(other.Observed))
		if keep.Detail != "" {
			note = keep.Detail + "; " + note
		}
		keep.Detail = note
		out.Cases[i] = keep
	}
	return out
}
