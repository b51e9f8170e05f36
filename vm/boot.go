package vm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/llconform/llconform/internal/arch"
)

// Spec describes one boot.
type Spec struct {
	Arch       arch.Arch     // guest architecture: amd64 (default) or arm64
	Kernel     string        // the kernel image (x86 bzImage, arm64 Image)
	Initramfs  string        // from Prepare, for the same architecture
	Cmdline    string        // appended to the base command line
	MemoryMB   int           // default DefaultMemoryMB(Arch)
	Timeout    time.Duration // default 5 minutes; the VM is killed then
	ConsoleLog string        // where the guest console (ttyS0, ttyAMA0) is written
	Accel      string        // "kvm" or "tcg"; "" probes
	// Decode, if set, turns the result port's bytes into the lines the
	// caller reads (the guest may compress them).
	Decode func(io.Reader) io.Reader
	// Grace is how long QEMU may run on once the caller's onLine said the
	// stream has ended: a guest that halts instead of powering off (x86
	// without ACPI) is stopped then, not at Timeout. Default 5 seconds.
	Grace time.Duration
}

// Boot is what one QEMU run showed, as facts: whether its result stream
// was complete is for the caller to judge.
type Boot struct {
	Started time.Time
	Wall    time.Duration
	// CPU is the host CPU time QEMU used: unlike Wall it barely changes
	// with the load of the host.
	CPU       time.Duration
	TimedOut  bool // killed at Spec.Timeout
	Cancelled bool // killed because the caller's context ended
	// Stopped: killed Grace after the stream ended, the guest still
	// running (it halted instead of powering off, or hung on the way).
	Stopped bool
	// NoPowerOff: the guest kernel said it cannot power off and halted.
	NoPowerOff  bool
	Exit        string   // how QEMU ended when it was not killed by us: "" (exit 0), "exit status 1", "signal: killed"
	Stderr      string   // QEMU's own messages, trimmed
	Console     []byte   // the whole console log
	ConsoleTail string   // its last lines
	Troubles    []string // the console lines saying the kernel misbehaved, in order
	// Entry is how the kernel was entered: "pvh" (its uncompressed ELF,
	// see pvhKernel) or the image as given, with the reason.
	Entry string
	// Silent: QEMU exited on its own with status 0 and the guest wrote
	// nothing to either serial port, not even the kernel's first console
	// line. The guest reset (and -no-reboot ended QEMU) before its kernel
	// printed anything: with a Debian kernel, too little memory.
	Silent bool
}

// Run boots the spec once. Every line the guest writes to its result
// port goes to onLine as it arrives (without the newline); onLine returns
// true once the stream has ended (its last record came), and QEMU then
// has Spec.Grace to exit by itself. The error is for a QEMU that could
// not start; anything the guest did is in Boot.
func Run(ctx context.Context, spec Spec, onLine func([]byte) (ended bool)) (*Boot, error) {
	m, err := machineOf(spec.Arch)
	if err != nil {
		return nil, err
	}
	qemu, err := exec.LookPath(m.qemu)
	if err != nil {
		return nil, noQEMU(m)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // never start a VM for a run that is over
	}
	if spec.MemoryMB == 0 {
		spec.MemoryMB = m.memoryMB
	}
	if spec.Timeout == 0 {
		spec.Timeout = 5 * time.Minute
	}
	if spec.Accel == "" {
		spec.Accel = Accel(m.arch)
	}
	if spec.Grace == 0 {
		spec.Grace = DefaultGrace
	}
	cpu := CPU(m.arch, spec.Accel)
	kernel, entry := spec.Kernel, "image"
	if m.arch == arch.AMD64 {
		var why string
		if kernel, why = pvhKernel(spec.Kernel); why != "" {
			entry = "bzImage (no PVH boot: " + why + ")"
		} else {
			entry = "pvh"
		}
	}
	args := append(m.args(spec.Accel, cpu, spec.MemoryMB, spec.ConsoleLog),
		"-kernel", kernel, "-initrd", spec.Initramfs,
		"-append", strings.TrimSpace(m.cmdline()+" "+spec.Cmdline))
	tctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	// gctx ends Grace after the stream ended: QEMU is killed then.
	gctx, stop := context.WithCancel(tctx)
	defer stop()
	cmd := exec.CommandContext(gctx, qemu, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	b := &Boot{Started: time.Now(), Entry: entry}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", qemu, err)
	}
	results := &countingReader{r: stdout}
	var lines io.Reader = results
	if spec.Decode != nil {
		lines = spec.Decode(results)
	}
	sc := bufio.NewScanner(lines)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	var grace *time.Timer
	var stopped atomic.Bool
	for sc.Scan() {
		if onLine != nil && onLine(sc.Bytes()) && grace == nil {
			grace = time.AfterFunc(spec.Grace, func() {
				stopped.Store(true)
				stop()
			})
		}
	}
	waitErr := cmd.Wait()
	if grace != nil {
		grace.Stop()
	}
	b.Wall = time.Since(b.Started)
	if ps := cmd.ProcessState; ps != nil {
		b.CPU = ps.UserTime() + ps.SystemTime()
	}
	switch {
	case ctx.Err() != nil:
		b.Cancelled = true
	case tctx.Err() != nil:
		b.TimedOut = true
	case stopped.Load():
		b.Stopped = true
	case waitErr != nil:
		b.Exit = waitErr.Error()
	}
	b.Stderr = trimLines(stderr.String(), 5)
	b.Console, _ = os.ReadFile(spec.ConsoleLog)
	b.ConsoleTail = trimLines(string(b.Console), 40)
	for _, l := range consoleTrouble.FindAllString(string(b.Console), -1) {
		b.Troubles = append(b.Troubles, strings.TrimSpace(l))
	}
	b.NoPowerOff = noPowerOff.Match(b.Console)
	b.Silent = waitErr == nil && !b.Cancelled && !b.TimedOut && results.n == 0 && len(bytes.TrimSpace(b.Console)) == 0
	return b, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// consoleTrouble matches console lines that mean the kernel misbehaved
// (arm64 reports an oops as "Internal error: Oops: ..." and a bad access
// as "Unable to handle kernel ...").
var consoleTrouble = regexp.MustCompile(`(?m)^.*(Kernel panic|Oops:|BUG:|WARNING:|double fault|general protection fault|Internal error:|Unable to handle kernel|Attempted to kill init|Initramfs unpacking failed).*$`)

// noPowerOff matches the kernel's word that it halted instead of powering
// off: "reboot: Power off not available: System halted instead" (x86
// without ACPI).
var noPowerOff = regexp.MustCompile(`Power off not available`)

// DefaultGrace is Spec.Grace unless set: a guest powers off in well
// under a second after its last record.
const DefaultGrace = 5 * time.Second

// CPU is the -cpu model of a boot of arch under accel: the host's own
// under KVM, the measured TCG model otherwise; LLCONFORM_QEMU_CPU
// overrides both.
func CPU(a arch.Arch, accel string) string {
	if c := os.Getenv("LLCONFORM_QEMU_CPU"); c != "" {
		return c
	}
	if accel == "kvm" {
		return "host"
	}
	m, _ := machineOf(a)
	return m.tcgCPU
}

func trimLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// MinMemoryMB is the least guest memory (--memory) the catalog kernels
// boot with reliably, with a margin. Measured 2026-11-30 here (TCG,
// "run --area base --memory N", 3 boots per kernel and size, the agent
// initramfs about 6 MB):
//
//	 64 MiB  5.10 loses its initramfs ("Initramfs unpacking failed:
//	         invalid magic", then "VFS: Unable to mount root fs");
//	         6.1, 6.12 and 7.3~rc7 reset before printing anything: 3/3
//	 80 MiB  5.10, 6.1, 6.12, 6.18 complete 3/3; 7.0, 7.1, 7.2 and
//	         7.3~rc7 lose their initramfs 3/3
//	 96 MiB  every catalog kernel (5.10 ... 7.2, 7.3~rc7 and 7.3.4)
//	         complete 3/3
//	112, 128 MiB  5.10, 6.1, 6.12, 7.3~rc7 complete 3/3
//	128 MiB  the whole default matrix (9 kernels, every area, 7.3.4):
//	         10409 pass, 0 fail, 0 broken, one attempt each
//
// 96 MiB is the floor of the newer kernels; a third more leaves room for
// bigger kernels and a bigger agent. The matrix names both failure
// shapes "too little memory?" with this number.
const MinMemoryMB = 128
