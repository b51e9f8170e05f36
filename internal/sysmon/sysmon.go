// Package sysmon keeps the Go runtime's system monitor thread off the one
// CPU of an emulated guest while the suites run.
//
// Why: on one CPU, whenever a goroutine spends more than one sysmon tick
// (20 µs) in a system call, sysmon takes its P back and, with no idle P,
// wakes a spinning M for it, and it polls again after 20 µs. Under TCG
// nearly every system call is that long, and a thread switch costs about
// 45 µs. Measured on Debian's 7.3 in the VM (root pass, 1,640 cases):
// sysmon woke about 22,000 times and used 1.3-2.1 s of CPU, the pass made
// about 82,000 context switches in all. With sysmon at SCHED_IDLE it runs
// only when the CPU would otherwise idle (which is when a case hangs in a
// system call and its timeout must fire): 41,000 switches, and the pass
// used 22-26 % less CPU (three pairs of runs).
//
// A thread the runtime clones from sysmon, and a process forked from such
// a thread, inherits SCHED_IDLE. Cases must never run below the normal
// class (a sibling thread at the normal class could starve them), so
// Quiet only acts where every thread can be set back (RLIMIT_NICE allows
// nice 0, which the VM agent grants its whole process tree), sets every
// other thread back at the start, and Normal sets back each thread a case
// runs on or reasons about (suites/fixture.LockThread) when it is locked.
package sysmon

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// schedIdle and schedOther are the kernel's SCHED_IDLE and SCHED_OTHER.
const (
	schedOther = 0
	schedIdle  = 5
)

// NiceLimit is the RLIMIT_NICE that lets a thread leave SCHED_IDLE for
// SCHED_OTHER at nice 0 without CAP_SYS_NICE (20 - nice).
const NiceLimit = 20

// tid is the sysmon thread's ID once Quiet has demoted it, else 0.
var tid atomic.Int32

// Quiet makes this process's sysmon thread SCHED_IDLE and every other
// thread SCHED_OTHER, when the process runs on one CPU and may set threads
// back (RLIMIT_NICE ≥ NiceLimit); elsewhere it does nothing. Call it first
// in main: sysmon is the first thread the runtime creates, so it has the
// lowest thread ID after the main thread's.
func Quiet() {
	if runtime.GOMAXPROCS(0) != 1 || !mayRestore() || tid.Load() != 0 {
		return
	}
	self := os.Getpid()
	first := 0
	for _, t := range threads() {
		if t != self && (first == 0 || t < first) {
			first = t
		}
	}
	if first == 0 {
		return
	}
	if setPolicy(first, schedIdle) == nil {
		tid.Store(int32(first))
		settle()
		// The runtime starts its template thread, which starts the
		// threads of locked goroutines, at the first LockOSThread: now,
		// from this thread at the normal class.
		runtime.LockOSThread()
		runtime.UnlockOSThread()
	}
}

// settle sets every thread of this process but sysmon that inherited
// SCHED_IDLE back to SCHED_OTHER. It does nothing unless Quiet acted. It
// reads /proc/self/task: about 0.4 ms under TCG, too much to do per case.
func settle() {
	if tid.Load() == 0 {
		return
	}
	for _, t := range threads() {
		if t != int(tid.Load()) {
			normal(t)
		}
	}
}

// Normal sets the calling thread back to SCHED_OTHER if it inherited
// SCHED_IDLE: a case's own thread calls it before the case runs.
func Normal() {
	if tid.Load() != 0 {
		normal(0)
	}
}

func normal(t int) {
	if a, err := unix.SchedGetAttr(t, 0); err == nil && a.Policy == schedIdle {
		setPolicy(t, schedOther)
	}
}

func setPolicy(t int, policy uint32) error {
	return unix.SchedSetAttr(t, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: policy}, 0)
}

// mayRestore reports whether this process may set a thread back from
// SCHED_IDLE (a variable for the tests, which cannot raise RLIMIT_NICE
// without CAP_SYS_RESOURCE).
var mayRestore = func() bool {
	var lim unix.Rlimit
	return unix.Getrlimit(unix.RLIMIT_NICE, &lim) == nil && lim.Cur >= NiceLimit
}

// threads lists this process's thread IDs.
func threads() []int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if t, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, t)
		}
	}
	return out
}
