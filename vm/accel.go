package vm

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/llconform/llconform/internal/arch"
)

var (
	accelMu sync.Mutex
	accels  = map[arch.Arch]string{} // architecture -> "kvm" or "tcg", once probed
)

// probeBootSector is a floppy boot sector that writes "K" to COM1 and
// halts: mov dx,0x3f8; mov al,'K'; out dx,al; hlt; jmp $-1.
var probeBootSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xba, 0xf8, 0x03, 0xb0, 'K', 0xee, 0xf4, 0xeb, 0xfd})
	b[510], b[511] = 0x55, 0xaa
	return b
}()

// probeArm64Image is an arm64 Image (the 64-byte header of
// Documentation/arch/arm64/booting.rst, so that QEMU's -kernel loads it
// as a kernel) whose code enables the virt machine's PL011 at 0x09000000,
// writes "K" to it and spins.
var probeArm64Image = func() []byte {
	le := binary.LittleEndian
	b := make([]byte, 64)
	le.PutUint32(b[0:], 0x14000010) // b +0x40: over the header
	le.PutUint64(b[16:], 4096)      // image_size
	copy(b[0x38:], "ARM\x64")       // magic
	for _, insn := range []uint32{
		0xd2a12001, // movz x1, #0x0900, lsl #16: the PL011
		0x52802022, // movz w2, #0x101: UARTEN | TXE
		0xb9003022, // str w2, [x1, #0x30]: UARTCR
		0x52800962, // movz w2, #'K'
		0xb9000022, // str w2, [x1]: UARTDR
		0x14000000, // b .
	} {
		b = le.AppendUint32(b, insn)
	}
	return b
}()

// Accel returns "kvm" when KVM really runs guest code of arch here and
// "tcg" otherwise; LLCONFORM_ACCEL=tcg forces TCG, and =kvm forces KVM
// for guests of this host's own architecture. KVM runs only guests of the
// host's architecture: an arm64 guest on an x86 host is always TCG,
// whatever /dev/kvm says. /dev/kvm can exist while KVM fails at the first
// instruction ("KVM internal error") or, on other hosts, runs nothing at
// all and prints nothing, so the probe boots a tiny guest of arch under
// KVM (an x86 boot sector, an arm64 Image) and waits for the byte it
// writes to its serial port.
func Accel(a arch.Arch) string {
	a = a.OrDefault()
	accelMu.Lock()
	defer accelMu.Unlock()
	if acc, ok := accels[a]; ok {
		return acc
	}
	acc := probeAccel(a)
	accels[a] = acc
	return acc
}

func probeAccel(a arch.Arch) string {
	if a != hostArch() {
		return "tcg"
	}
	switch os.Getenv("LLCONFORM_ACCEL") {
	case "kvm", "tcg":
		return os.Getenv("LLCONFORM_ACCEL")
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	if runsGuestCode(a, "kvm") {
		return "kvm"
	}
	return "tcg"
}

// runsGuestCode boots the probe of arch under the accelerator and reports
// whether its byte arrived within two seconds.
func runsGuestCode(a arch.Arch, accel string) bool {
	m, err := machineOf(a)
	if err != nil {
		return false
	}
	img, err := os.CreateTemp("", "llconform-kvm-probe-*.img")
	if err != nil {
		return false
	}
	defer os.Remove(img.Name())
	probe, boot := probeBootSector, []string{"-drive", "format=raw,if=floppy,file=" + img.Name()}
	machineArgs := []string(nil)
	if m.goarch == "arm64" {
		probe, boot = probeArm64Image, []string{"-kernel", img.Name()}
		machineArgs = []string{"-machine", "virt"}
		if accel == "kvm" {
			machineArgs = []string{"-machine", "virt,gic-version=host"}
		}
	}
	_, werr := img.Write(probe)
	if cerr := img.Close(); werr != nil || cerr != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	args := append(machineArgs, "-accel", accel, "-cpu", CPU(a, accel), "-nodefaults", "-display", "none",
		"-monitor", "none", "-serial", "stdio", "-no-reboot", "-m", "64")
	cmd := exec.CommandContext(ctx, m.qemu, append(args, boot...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	b := make([]byte, 1)
	for {
		if _, err := out.Read(b); err != nil {
			return false // QEMU ended, or the probe timed out
		}
		if b[0] == 'K' {
			return true
		}
	}
}
