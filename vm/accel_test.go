package vm

import (
	"os/exec"
	"testing"

	"gotest.tools/v3/assert"
)

// The probe guests must really print under TCG: otherwise a broken probe
// image would quietly rule KVM out everywhere.
func TestProbeGuestRunsUnderTCG(t *testing.T) {
	for _, arch := range Arches() {
		t.Run(arch, func(t *testing.T) {
			m, _ := machineOf(arch)
			if _, err := exec.LookPath(m.qemu); err != nil {
				t.Skipf("%s not installed", m.qemu)
			}
			if !runsGuestCode(arch, "tcg") {
				t.Fatalf("the %s probe printed nothing under TCG", arch)
			}
			t.Logf("accelerator chosen here for %s: %s", arch, Accel(arch))
		})
	}
}

// KVM runs only guests of the host's own architecture.
func TestAccelOfAForeignArchitectureIsTCG(t *testing.T) {
	t.Setenv("LLCONFORM_ACCEL", "kvm")
	for _, arch := range Arches() {
		if arch != hostArch() {
			assert.Equal(t, probeAccel(arch), "tcg", arch)
		} else {
			assert.Equal(t, probeAccel(arch), "kvm", "LLCONFORM_ACCEL=kvm forces KVM for the host's architecture")
		}
	}
}
