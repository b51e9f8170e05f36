// Package agent is everything of llconform that runs inside the guest (and
// natively on a host): it detects the kernel's Landlock facts once, picks
// the cases, runs each in its isolation as root and again unprivileged,
// judges every outcome against the documented expectation and streams
// the records of the guest protocol. As the VM's /init it also does the
// duties of PID 1 (system.go).
package agent

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/sysmon"
	"golang.org/x/sys/unix"
)

// Main is the /init of the llconform VM: it prepares the guest, reads the
// settings from the kernel command line, runs the suites, streams the
// records on the result port and powers off. It never returns.
func Main() {
	defer PowerOff()
	tuneGC()
	if err := Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent: setup:", err) // the host sees no header: broken
		return
	}
	// The command line names the result port (it differs between
	// architectures), so it is read first.
	b, _ := os.ReadFile("/proc/cmdline")
	s, perr := protocol.ParseCmdline(string(b))
	port, err := OpenSerial(s.ResultPort())
	if err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent:", err)
		return
	}
	defer port.Close()
	out, err := protocol.NewDeflateWriter(port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent:", err)
		return
	}
	defer out.Close() // before the port's: the stream's end must leave the UART too
	w := protocol.NewStreamWriter(out)
	// A panic must still end the stream with a reason, not a silent hang.
	defer func() {
		if p := recover(); p != nil {
			w.Done(fmt.Sprintf("agent panic: %v\n%s", p, debug.Stack()))
		}
	}()
	if perr != nil {
		w.Done(perr.Error())
		return
	}
	run := func() error { return Suite(s, w, false) }
	if s.Selftests {
		run = func() error { return Selftests("/"+protocol.SelftestsDir, w) }
	} else {
		quietSysmon()
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent:", err)
	}
}

// quietSysmon puts the Go runtime's system monitor of the agent and of
// every process it starts below the cases (internal/sysmon): RLIMIT_NICE,
// inherited by them all, lets each set its threads back to the normal
// class, the unprivileged pass included. The selftests' programs are not
// Go and keep the guest as it boots.
func quietSysmon() {
	lim := unix.Rlimit{Cur: sysmon.NiceLimit, Max: sysmon.NiceLimit}
	if err := unix.Setrlimit(unix.RLIMIT_NICE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent: RLIMIT_NICE:", err)
		return
	}
	sysmon.Quiet()
}

// tuneGC trades memory for time: under TCG every collection is slow, and
// a run allocates little, so collect only near a memory limit. The
// variables also reach the agent's re-executed children.
func tuneGC() {
	os.Setenv("GOGC", "off")
	os.Setenv("GOMEMLIMIT", "128MiB")
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(128 << 20)
}
