package harness

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm/guest"
)

// resultPort is the guest's second serial port; the first is the console.
const resultPort = "/dev/ttyS1"

// AgentMain is the /init of the llconform VM: it prepares the guest, runs
// the suites (as root, then as nobody), streams the JSON-lines results on
// the second serial port and powers off. It never returns.
func AgentMain() {
	defer guest.PowerOff()
	tuneGC()
	if err := guest.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent: setup:", err) // the host sees no header: broken
		return
	}
	port, err := guest.OpenSerial(resultPort)
	if err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent:", err)
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
	b, _ := os.ReadFile("/proc/cmdline")
	s, err := guest.ParseCmdline(string(b))
	if err != nil {
		w.Done(err.Error())
		return
	}
	if s.Noop {
		noop(w)
		return
	}
	o := Options{Run: s.Run, Areas: s.Areas, Ceiling: s.Ceiling, Unpriv: s.Unpriv, Verbose: s.Verbose > 0,
		ShardIndex: s.Shard[0], ShardCount: s.Shard[1]}
	if err := Suite(o, w, false); err != nil {
		fmt.Fprintln(os.Stderr, "llconform agent:", err)
	}
}

// noop sends the header and an empty done record: the bare-boot floor.
func noop(w *results.StreamWriter) {
	_, hdr, err := DetectEnv(0)
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
