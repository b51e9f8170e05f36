package vm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/vm/guest"
	"github.com/u-root/u-root/pkg/cpio"
	"gotest.tools/v3/assert"
)

func TestParseCmdline(t *testing.T) {
	s, err := guest.ParseCmdline("console=ttyS0 llconform.run=^fs/ llconform.area=fs,tcp llconform.ceiling=3 llconform.unpriv=0 quiet")
	assert.NilError(t, err)
	assert.Equal(t, s.Run, "^fs/")
	assert.DeepEqual(t, s.Areas, []string{"fs", "tcp"})
	assert.Equal(t, s.Ceiling, 3)
	assert.Equal(t, s.Unpriv, false)
	assert.Equal(t, s.Noop, false)

	s, err = guest.ParseCmdline("llconform.noop=1 llconform.shard=2/3")
	assert.NilError(t, err)
	assert.Assert(t, s.Noop && s.Unpriv)
	assert.Equal(t, s.Shard, [2]int{2, 3})

	_, err = guest.ParseCmdline("llconform.shard=4/3")
	assert.ErrorContains(t, err, "llconform.shard=4/3")

	_, err = guest.ParseCmdline("llconform.ceiling=x")
	assert.ErrorContains(t, err, "llconform.ceiling=x")
}

func complete(n int) *results.Stream {
	s := &results.Stream{Header: &results.Env{Release: "x"}, Done: &results.Event{Type: results.EventDone, Count: n}}
	for i := 0; i < n; i++ {
		s.Cases = append(s.Cases, results.Case{Area: "fs", Name: "c"})
	}
	return s
}

func TestClassify(t *testing.T) {
	truncated := complete(3)
	truncated.Done = nil
	mismatch := complete(3)
	mismatch.Done.Count = 5
	for _, tc := range []struct {
		name    string
		stream  *results.Stream
		console string
		timeout bool
		status  string
		reason  string
	}{
		{"clean", complete(2), "[ 1.0] Run /init as init process\n[ 3.0] reboot: Power down\n", false, "complete", ""},
		{"panic", complete(2), "[ 3.5] Kernel panic - not syncing: Attempted to kill init!\n", false, "broken", "Kernel panic"},
		{"oops", complete(2), "[ 3.5] Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI\n", false, "broken", "Oops"},
		{"warning", complete(2), "[ 3.0] WARNING: CPU: 0 PID: 415 at arch/x86/kernel/traps.c:1120\n", false, "broken", "WARNING"},
		{"bug", complete(2), "[ 3.0] BUG: kernel NULL pointer dereference\n", false, "broken", "BUG"},
		{"timeout", complete(2), "", true, "broken", "timed out"},
		{"truncated", truncated, "", false, "broken", "no done record after 3 cases"},
		{"count mismatch", mismatch, "", false, "broken", "counts 5 cases, 3 received"},
		{"no header", &results.Stream{}, "", false, "broken", "no header"},
	} {
		status, reason := classify(tc.stream, tc.console, tc.timeout, time.Minute, nil)
		assert.Equal(t, status, tc.status, tc.name)
		assert.Assert(t, strings.Contains(reason, tc.reason), "%s: %q", tc.name, reason)
	}
}

func TestLineWatcherSplitsEvents(t *testing.T) {
	var got []string
	w := &lineWatcher{on: func(ev results.Event) { got = append(got, ev.Type) }}
	w.Write([]byte(`{"type":"header","env":{"release":"x"}}` + "\n" + `{"type":"ca`))
	w.Write([]byte(`se","case":{"area":"fs"}}` + "\ngarbage\n" + `{"type":"done","count":1}` + "\n"))
	assert.DeepEqual(t, got, []string{"header", "case", "done"})
}

func TestInitramfsHoldsTheAgent(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "agent")
	assert.NilError(t, os.WriteFile(agent, []byte("\x7fELF fake agent"), 0o755))
	path, err := BuildInitramfs(agent, dir)
	assert.NilError(t, err)
	f, err := os.Open(path)
	assert.NilError(t, err)
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	assert.NilError(t, err)
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	init, ok := byName["init"]
	assert.Assert(t, ok, "no /init")
	assert.Equal(t, init.Mode&0o777, uint64(0o755))
	for _, n := range []string{"dev/console", "proc", "sys", "tmp", "etc/passwd"} {
		_, ok := byName[n]
		assert.Assert(t, ok, "missing %s", n)
	}
	again, err := BuildInitramfs(agent, dir)
	assert.NilError(t, err)
	assert.Equal(t, again, path, "cached by content")
}

func TestRunRejectsGarbageKernel(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "vmlinuz")
	assert.NilError(t, os.WriteFile(garbage, []byte("garbage"), 0o644))
	_, err := Run(context.Background(), Spec{Kernel: garbage, Initramfs: garbage, ConsoleLog: garbage + ".log"}, nil)
	if err == ErrNoQEMU {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	assert.ErrorContains(t, err, "not an x86 bzImage")
}

func TestRunWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Run(context.Background(), Spec{Kernel: "/nonexistent"}, nil)
	assert.ErrorContains(t, err, "apt-get install qemu-system-x86")
}
