package vm

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/fakeqemu"
	"gotest.tools/v3/assert"
)

// The facts of a boot, from a fake QEMU: what the guest wrote, how QEMU
// ended, and whether the guest reset before printing anything.
func TestRunFactsFromFakeQEMU(t *testing.T) {
	fakeqemu.Install(t)
	for _, tc := range []struct {
		behaviour string
		lines     int
		exit      string
		silent    bool
		trouble   string
	}{
		{fakeqemu.Complete, 5, "", false, ""},
		{fakeqemu.Truncated, 2, "", false, ""},
		{fakeqemu.Killed, 2, "signal: killed", false, ""},
		{fakeqemu.Reset, 0, "", true, ""},
		{fakeqemu.Panic, 1, "", false, "[    1.234567] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b"},
	} {
		spec := Spec{Kernel: fakeqemu.Kernel(t, tc.behaviour), Initramfs: "/dev/null", MemoryMB: 64, Timeout: time.Minute,
			ConsoleLog: filepath.Join(t.TempDir(), "console.log"), Accel: "tcg"}
		lines := 0
		b, err := Run(context.Background(), spec, func([]byte) { lines++ })
		assert.NilError(t, err, tc.behaviour)
		assert.Equal(t, lines, tc.lines, tc.behaviour)
		assert.Equal(t, b.Exit, tc.exit, tc.behaviour)
		assert.Equal(t, b.Silent, tc.silent, tc.behaviour)
		first := ""
		if len(b.Troubles) > 0 {
			first = b.Troubles[0]
		}
		assert.Equal(t, first, tc.trouble, tc.behaviour)
		assert.Assert(t, !b.Cancelled && !b.TimedOut, tc.behaviour)
	}
}

func TestRunRefusesACancelledContext(t *testing.T) {
	fakeqemu.Install(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	kernel := fakeqemu.Kernel(t, fakeqemu.Complete)
	_, err := Run(ctx, Spec{Kernel: kernel, ConsoleLog: filepath.Join(t.TempDir(), "c.log"), Accel: "tcg"}, nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, fakeqemu.Boots(t, kernel), 0, "no VM starts for a run that is over")
}

func TestRunTimeoutKillsAHungGuest(t *testing.T) {
	fakeqemu.Install(t)
	spec := Spec{Kernel: fakeqemu.Kernel(t, fakeqemu.Hang), Timeout: 300 * time.Millisecond,
		ConsoleLog: filepath.Join(t.TempDir(), "c.log"), Accel: "tcg"}
	b, err := Run(context.Background(), spec, nil)
	assert.NilError(t, err)
	assert.Assert(t, b.TimedOut)
	assert.Assert(t, !b.Silent)
}
