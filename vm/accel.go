package vm

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"time"
)

var (
	accelOnce sync.Once
	accel     string
)

// probeBootSector is a floppy boot sector that writes "K" to COM1 and
// halts: mov dx,0x3f8; mov al,'K'; out dx,al; hlt; jmp $-1.
var probeBootSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xba, 0xf8, 0x03, 0xb0, 'K', 0xee, 0xf4, 0xeb, 0xfd})
	b[510], b[511] = 0x55, 0xaa
	return b
}()

// Accel returns "kvm" when KVM really runs guest code here and "tcg"
// otherwise; LLCONFORM_ACCEL forces either. /dev/kvm can exist while KVM
// fails at the first instruction ("KVM internal error") or, on other
// hosts, runs nothing at all and prints nothing, so the probe boots a
// one-sector guest under KVM and waits for the byte it writes to the
// serial port.
func Accel() string {
	accelOnce.Do(func() {
		if a := os.Getenv("LLCONFORM_ACCEL"); a == "kvm" || a == "tcg" {
			accel = a
			return
		}
		accel = "tcg"
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
			return
		} else {
			f.Close()
		}
		if runsGuestCode("kvm") {
			accel = "kvm"
		}
	})
	return accel
}

// runsGuestCode boots the probe sector under the accelerator and reports
// whether its byte arrived within two seconds.
func runsGuestCode(accel string) bool {
	img, err := os.CreateTemp("", "llconform-kvm-probe-*.img")
	if err != nil {
		return false
	}
	defer os.Remove(img.Name())
	_, werr := img.Write(probeBootSector)
	if cerr := img.Close(); werr != nil || cerr != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cpu := tcgCPU
	if accel == "kvm" {
		cpu = "host" // the same CPU model as a real KVM boot
	}
	cmd := exec.CommandContext(ctx, qemuBinary, "-accel", accel, "-cpu", cpu, "-nodefaults", "-display", "none",
		"-monitor", "none", "-serial", "stdio", "-no-reboot", "-m", "16",
		"-drive", "format=raw,if=floppy,file="+img.Name())
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
