// Command llconform-agent is the /init of the llconform initramfs: it
// prepares the guest, runs the suites (as root, then as nobody), streams
// the JSON-lines results on the second serial port and powers off.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/llconform/llconform/harness"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm/guest"
)

// resultPort is the guest's second serial port; the first is the console.
const resultPort = "/dev/ttyS1"

func main() {
	harness.ChildMain() // re-executed roles: probes, process-isolated cases, the unprivileged pass
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "llconform-agent runs as /init inside the llconform VM; use 'llconform native' on a host")
		os.Exit(2)
	}
	defer guest.PowerOff()
	tuneGC()
	if err := guest.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "llconform-agent: setup:", err) // the host sees no header: broken
		return
	}
	port, err := guest.OpenSerial(resultPort)
	if err != nil {
		fmt.Fprintln(os.Stderr, "llconform-agent:", err)
		return
	}
	defer port.Close()
	w := results.NewStreamWriter(port)
	// A panic must still end the stream with a reason, not a silent hang.
	defer func() {
		if p := recover(); p != nil {
			w.Done(fmt.Sprintf("agent panic: %v\n%s", p, debug.Stack()))
		}
	}()
	s, err := guest.ParseCmdline(readCmdline())
	if err != nil {
		w.Done(err.Error())
		return
	}
	if s.Noop {
		noop(w)
		return
	}
	o := harness.Options{Run: s.Run, Areas: s.Areas, Ceiling: s.Ceiling, Unpriv: s.Unpriv, Verbose: s.Verbose > 0}
	if err := harness.Suite(o, w, false); err != nil {
		fmt.Fprintln(os.Stderr, "llconform-agent:", err)
	}
}

// noop sends the header and an empty done record: the bare-boot floor.
func noop(w *results.StreamWriter) {
	_, hdr, err := harness.DetectEnv(0)
	if err != nil {
		w.Done(err.Error())
		return
	}
	w.Header(hdr)
	w.Done("")
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

func readCmdline() string {
	b, _ := os.ReadFile("/proc/cmdline")
	return string(b)
}
