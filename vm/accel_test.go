package vm

import (
	"os/exec"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
)

// The probe guests must really print under TCG: otherwise a broken probe
// image would quietly rule KVM out everywhere.
func TestProbeGuestRunsUnderTCG(t *testing.T) {
	for _, a := range arch.All {
		t.Run(string(a), func(t *testing.T) {
			m, _ := machineOf(a)
			if _, err := exec.LookPath(m.qemu); err != nil {
				t.Skipf("%s not installed", m.qemu)
			}
			if !runsGuestCode(a, "tcg") {
				t.Fatalf("the %s probe printed nothing under TCG", a)
			}
			t.Logf("accelerator chosen here for %s: %s", a, Accel(a))
		})
	}
}

// KVM runs only guests of the host's own architecture.
func TestAccelOfAForeignArchitectureIsTCG(t *testing.T) {
	t.Setenv("LLCONFORM_ACCEL", "kvm")
	for _, a := range arch.All {
		if a != hostArch() {
			assert.Equal(t, probeAccel(a), "tcg", a)
		} else {
			assert.Equal(t, probeAccel(a), "kvm", "LLCONFORM_ACCEL=kvm forces KVM for the host's architecture")
		}
	}
}
