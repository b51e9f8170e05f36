package vm

import (
	"os/exec"
	"testing"
)

// The probe guest must really print under TCG: otherwise a broken probe
// image would quietly rule KVM out everywhere.
func TestProbeGuestRunsUnderTCG(t *testing.T) {
	if _, err := exec.LookPath(qemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	if !runsGuestCode("tcg") {
		t.Fatal("the probe boot sector printed nothing under TCG")
	}
	t.Logf("accelerator chosen here: %s", Accel())
}
