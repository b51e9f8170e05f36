package vm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/internal/arch"
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
		b, err := Run(context.Background(), spec, func([]byte) bool { lines++; return false })
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

// Once the caller says the stream ended, a guest that does not exit is
// stopped after the grace period: Stopped, not TimedOut, with the
// kernel's word that it halted.
func TestRunStopsAGuestThatHaltsAfterTheStream(t *testing.T) {
	fakeqemu.Install(t)
	spec := Spec{Kernel: fakeqemu.Kernel(t, fakeqemu.Halt), Initramfs: "/dev/null", MemoryMB: 64, Timeout: time.Minute,
		ConsoleLog: filepath.Join(t.TempDir(), "console.log"), Accel: "tcg", Grace: 200 * time.Millisecond}
	lines := 0
	b, err := Run(context.Background(), spec, func(l []byte) bool { lines++; return strings.Contains(string(l), `"done"`) })
	assert.NilError(t, err)
	assert.Equal(t, lines, 5)
	assert.Assert(t, b.Stopped && b.NoPowerOff, "%+v", b)
	assert.Assert(t, !b.TimedOut && !b.Cancelled)
	assert.Equal(t, b.Exit, "", "a stop is no exit of QEMU's own")
	assert.Assert(t, b.Wall < 30*time.Second, "waited %v", b.Wall)
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

// Each architecture boots its own QEMU with its own machine, console and
// result port; the defaults (memory, CPU model) are the architecture's.
func TestRunCommandLinePerArchitecture(t *testing.T) {
	fakeqemu.Install(t)
	t.Setenv("LLCONFORM_QEMU_CPU", "")
	for _, tc := range []struct {
		arch arch.Arch
		want []string
	}{
		{arch.AMD64, []string{"qemu-system-x86_64 -accel tcg -cpu max,-cx16 -m 512 -smp 1 ",
			" -serial file:CONSOLE -serial stdio -kernel KERNEL -initrd /dev/null -append console=ttyS0 panic=-1 rdinit=/init mitigations=off no_timer_check llconform.x=1"}},
		{arch.ARM64, []string{"qemu-system-aarch64 -machine virt -accel tcg -cpu max,pauth=off -m 256 -smp 1 ",
			" -serial file:CONSOLE -chardev stdio,id=results -device pci-serial,chardev=results -kernel KERNEL -initrd /dev/null -append console=ttyAMA0 panic=-1 rdinit=/init mitigations=off llconform.x=1"}},
	} {
		kernel := fakeqemu.Kernel(t, fakeqemu.Complete)
		console := filepath.Join(t.TempDir(), "console.log")
		spec := Spec{Arch: tc.arch, Kernel: kernel, Initramfs: "/dev/null", Cmdline: "llconform.x=1", ConsoleLog: console, Accel: "tcg"}
		b, err := Run(context.Background(), spec, nil)
		assert.NilError(t, err, tc.arch)
		assert.Equal(t, b.Exit, "", tc.arch)
		args := strings.ReplaceAll(strings.ReplaceAll(fakeqemu.Args(t, kernel), console, "CONSOLE"), kernel, "KERNEL")
		for _, w := range tc.want {
			assert.Assert(t, strings.Contains(args, w), "%s: %s\nwant %s", tc.arch, args, w)
		}
	}
	_, err := Run(context.Background(), Spec{Arch: "riscv64", ConsoleLog: filepath.Join(t.TempDir(), "c")}, nil)
	assert.ErrorContains(t, err, `no QEMU machine for architecture "riscv64" (have: amd64, arm64)`)
	assert.Equal(t, ResultPort("arm64"), "/dev/ttyS0")
	assert.Equal(t, ResultPort("amd64"), "/dev/ttyS1")
}

func TestCheckQEMUSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	assert.Error(t, CheckQEMU("arm64"), "qemu-system-aarch64 not found: apt-get install qemu-system-arm (or make deps ARCH=arm64)")
	assert.Error(t, CheckQEMU("amd64"), "qemu-system-x86_64 not found: apt-get install qemu-system-x86 (or make deps ARCH=amd64)")
}
