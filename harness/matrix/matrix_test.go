package matrix

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm"
	"gotest.tools/v3/assert"
)

func stream(n int, done bool) *protocol.Stream {
	s := &protocol.Stream{Header: &results.Env{Release: "x"}}
	for i := 0; i < n; i++ {
		s.Cases = append(s.Cases, results.Case{Area: "fs", Name: "c"})
	}
	if done {
		s.Done = &protocol.Event{Type: protocol.EventDone, Count: n}
	}
	return s
}

func TestJudge(t *testing.T) {
	mismatch := stream(3, true)
	mismatch.Done.Count = 5
	for _, tc := range []struct {
		name   string
		stream *protocol.Stream
		boot   vm.Boot
		status results.Status
		reason string
	}{
		{"clean", stream(2, true), vm.Boot{}, results.StatusComplete, ""},
		{"kernel trouble wins over a complete stream", stream(2, true), vm.Boot{Troubles: []string{"Kernel panic - not syncing"}}, results.StatusBroken, "Kernel panic"},
		{"timeout", stream(2, false), vm.Boot{TimedOut: true}, results.StatusBroken, "timed out after 1m0s (killed) with 2 cases received"},
		{"interrupted", stream(2, false), vm.Boot{Cancelled: true}, results.StatusInterrupted, "interrupted after 2 cases"},
		{"truncated, QEMU killed by a signal", stream(3, false), vm.Boot{Exit: "signal: killed"}, results.StatusBroken, "no done record after 3 cases: crash, hang or truncated output; QEMU was killed by a signal from outside llconform (signal: killed)"},
		{"QEMU failed", &protocol.Stream{}, vm.Boot{Exit: "exit status 1", Stderr: "qemu: could not load kernel"}, results.StatusBroken, "no header record: the agent never started or its output was lost; QEMU exit status 1; QEMU said: qemu: could not load kernel"},
		{"reset before printing anything", &protocol.Stream{}, vm.Boot{Silent: true}, results.StatusBroken,
			fmt.Sprintf("the guest reset before its kernel printed anything (QEMU exited 0, empty console, no header) with 64 MiB: too little memory? the catalog kernels need at least %d MiB (--memory)", vm.MinMemoryMB)},
		{"initramfs lost", &protocol.Stream{}, vm.Boot{Troubles: []string{"[    3.05] Initramfs unpacking failed: invalid magic at start of compressed archive"}}, results.StatusBroken,
			fmt.Sprintf("guest kernel trouble: [    3.05] Initramfs unpacking failed: invalid magic at start of compressed archive; the kernel lost its initramfs with 64 MiB: too little memory? the catalog kernels need at least %d MiB (--memory)", vm.MinMemoryMB)},
		{"count mismatch", mismatch, vm.Boot{}, results.StatusBroken, "counts 5 cases, 3 received"},
		{"no header", &protocol.Stream{}, vm.Boot{}, results.StatusBroken, "no header"},
	} {
		status, reason := judge(tc.stream, &tc.boot, vm.Spec{Timeout: time.Minute, MemoryMB: 64})
		assert.Equal(t, status, tc.status, tc.name)
		assert.Assert(t, strings.Contains(reason, tc.reason), "%s: %q", tc.name, reason)
	}
}

func TestCatalogCaseAndFlags(t *testing.T) {
	six, seven := 6, 7
	kr := results.KernelRun{Env: results.Env{LandlockStatus: landlock.Enabled, ABI: 7}}
	c, ok := catalogCase(Target{ExpectedStatus: landlock.Enabled, ExpectedABI: &seven}, kr)
	assert.Assert(t, ok)
	assert.Equal(t, c.Verdict, results.Pass)

	mismatch := Target{ExpectedStatus: landlock.Enabled, ExpectedABI: &six}
	c, _ = catalogCase(mismatch, kr)
	assert.Equal(t, c.Verdict, results.Fail)
	assert.Equal(t, c.Expected, "enabled ABI 6")
	assert.Equal(t, c.Observed, "enabled ABI 7")
	assert.DeepEqual(t, flags(mismatch, kr), []string{"Landlock state and ABI mismatch: expected enabled ABI 6, the kernel reports enabled ABI 7"})

	_, ok = catalogCase(Target{}, kr)
	assert.Assert(t, !ok, "a bring-your-own kernel without --expect-abi has no catalog case")

	newer := results.KernelRun{Env: results.Env{LandlockStatus: landlock.Enabled, ABI: landlock.NewestABI + 1}}
	assert.Assert(t, strings.Contains(strings.Join(flags(Target{}, newer), ""), "not fully covered"))
}

func TestLiveCount(t *testing.T) {
	var got []Event
	l := newLiveCount("k", func(e Event) { got = append(got, e) })
	l.event(protocol.Event{Type: protocol.EventHeader, Env: &results.Env{PlannedCases: 3}})
	l.event(protocol.Event{Type: protocol.EventCase, Case: &results.Case{Verdict: results.Pass}})
	l.event(protocol.Event{Type: protocol.EventCase, Case: &results.Case{Verdict: results.Broken}})
	assert.DeepEqual(t, got[len(got)-1], Event{Kernel: "k", State: StateRunning, Done: 2, Total: 3, Pass: 1, Fail: 1})
}

func TestPrinterNotes(t *testing.T) {
	var out strings.Builder
	p, finish := Printer(&out, false, []string{"7.3"})
	p(Event{Note: "cached initramfs-0123.cpio failed its SHA256 check: rebuilding it"})
	p(Event{Kernel: "7.3", State: StateBooting, Attempt: 1})
	p(Event{Kernel: "7.3", State: StateBooting, Attempt: 2})
	finish()
	assert.Equal(t, out.String(), "note: cached initramfs-0123.cpio failed its SHA256 check: rebuilding it\n"+
		"7.3              booting\n"+
		"7.3              booting (attempt 2)\n")
}

// A console warning the agent's header lists as documented (an erratum
// the kernel lacks) does not break the run; any other still does.
func TestKnownConsoleWarning(t *testing.T) {
	s := stream(2, true)
	s.Header.KnownConsole = []string{`WARNING: .*collect_domain_accesses`}
	warn := "[ 12.3] WARNING: CPU: 0 PID: 77 at security/landlock/fs.c:752 collect_domain_accesses+0x1b/0x90"
	status, reason := judge(s, &vm.Boot{Troubles: []string{warn}}, vm.Spec{Timeout: time.Minute})
	assert.Equal(t, status, results.StatusComplete, reason)
	status, reason = judge(s, &vm.Boot{Troubles: []string{warn, "[ 13.0] BUG: kernel NULL pointer dereference"}}, vm.Spec{Timeout: time.Minute})
	assert.Equal(t, status, results.StatusBroken)
	assert.Assert(t, strings.Contains(reason, "NULL pointer"), reason)
}
