package vm

import (
	"fmt"
	"os/exec"
	"runtime"

	"github.com/llconform/llconform/internal/arch"
)

// machine is how QEMU boots one guest architecture, named by Debian's
// architecture name (amd64, arm64) as the kernels are.
type machine struct {
	arch     arch.Arch
	goarch   string // GOARCH of the agent
	uname    string // uname -m of the guest
	qemu     string // QEMU binary
	pkg      string // the Debian/Ubuntu package that provides it
	console  string // the guest's console device (the console log)
	port     string // the guest's device of the result port
	tcgCPU   string // -cpu under TCG
	memoryMB int    // default guest memory
}

var machines = map[arch.Arch]machine{
	// tcgCPU: QEMU's default model makes the 6.12 cloud kernel
	// double-fault in the allocator; with "max" the suites still broke 1
	// boot in 3 there, at the slab allocator's cmpxchg16b (double fault,
	// or a #DB WARNING). Without CX16 the kernel takes the allocator's
	// locking path: 9 of 9 boots ran clean.
	arch.AMD64: {arch: arch.AMD64, goarch: "amd64", uname: "x86_64", qemu: "qemu-system-x86_64", pkg: "qemu-system-x86",
		console: "ttyS0", port: "/dev/ttyS1", tcgCPU: "max,-cx16", memoryMB: 512},
	// See the package comment (initramfs.go) for the measurements behind
	// the CPU model, the result port and the memory.
	arch.ARM64: {arch: arch.ARM64, goarch: "arm64", uname: "aarch64", qemu: "qemu-system-aarch64", pkg: "qemu-system-arm",
		console: "ttyAMA0", port: "/dev/ttyS0", tcgCPU: "max,pauth=off", memoryMB: 256},
}

func machineOf(a arch.Arch) (machine, error) {
	m, ok := machines[a.OrDefault()]
	if !ok {
		return machine{}, fmt.Errorf("no QEMU machine for architecture %q (have: %s)", a, arch.Names())
	}
	return m, nil
}

// ResultPort is the guest device of the result port on arch: the agent
// must be told it (protocol key llconform.port).
func ResultPort(a arch.Arch) string {
	m, _ := machineOf(a)
	return m.port
}

// DefaultMemoryMB is the guest memory of arch when none is asked for.
func DefaultMemoryMB(a arch.Arch) int {
	m, _ := machineOf(a)
	return m.memoryMB
}

// GuestUname is what uname -m says in a guest of arch ("x86_64",
// "aarch64"); "" for an unknown architecture.
func GuestUname(a arch.Arch) string {
	m, _ := machineOf(a)
	return m.uname
}

// hostArch is the architecture this host runs, in vm's names: KVM runs
// guests of this architecture only.
func hostArch() arch.Arch {
	for a, m := range machines {
		if m.goarch == runtime.GOARCH {
			return a
		}
	}
	return arch.Arch(runtime.GOARCH)
}

// CheckQEMU says how to install the QEMU of arch when it is missing.
func CheckQEMU(a arch.Arch) error {
	m, err := machineOf(a)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath(m.qemu); err != nil {
		return noQEMU(m)
	}
	return nil
}

func noQEMU(m machine) error {
	return fmt.Errorf("%s not found: apt-get install %s (or make deps ARCH=%s)", m.qemu, m.pkg, m.arch)
}

// args are the QEMU arguments of a boot, before the kernel's: the machine,
// CPU, memory, the console (to a file) and the result port (to QEMU's
// standard output).
func (m machine) args(accel, cpu string, memoryMB int, consoleLog string) []string {
	common := []string{"-accel", accel, "-cpu", cpu, "-m", fmt.Sprint(memoryMB), "-smp", "1",
		"-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none"}
	switch m.goarch {
	case "arm64":
		machineArg := "virt"
		if accel == "kvm" {
			machineArg += ",gic-version=host"
		}
		return append(append([]string{"-machine", machineArg}, common...),
			"-serial", "file:"+consoleLog, // the PL011: ttyAMA0, the console
			"-chardev", "stdio,id=results", "-device", "pci-serial,chardev=results", // 16550 on PCI: ttyS0, the results
		)
	}
	return append(common,
		"-serial", "file:"+consoleLog, // ttyS0: the console
		"-serial", "stdio", // ttyS1: the results
	)
}

// cmdline is the base kernel command line: the console, reboot (and so
// exit, with -no-reboot) at once on a panic. CPU vulnerability mitigations
// only cost time under TCG (7.3's suites ran about 20 % faster without
// them on x86) and have nothing to do with Landlock. no_timer_check (x86
// only): on a loaded host the kernel's IO-APIC timer check panicked
// ("IO-APIC + timer doesn't work!") 3 boots in about 170.
func (m machine) cmdline() string {
	c := "console=" + m.console + " panic=-1 rdinit=/init mitigations=off"
	if m.goarch == "amd64" {
		c += " no_timer_check"
	}
	return c
}
