package suites

import (
	"bytes"
	"debug/elf"
	"runtime"
	"testing"

	"github.com/llconform/llconform/suites/fixture"
	"gotest.tools/v3/assert"
)

// The suites' own tiny programs are for the architecture the agent runs on.
func TestSuiteProgramsAreForThisArchitecture(t *testing.T) {
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want == 0 {
		t.Skipf("no tiny programs for %s", runtime.GOARCH)
	}
	for name, prog := range map[string][]byte{
		"target": fixture.TargetSpec{Layer: fixture.OwnLayer}.Program(), "threads": threadOpenRootProgram(),
	} {
		f, err := elf.NewFile(bytes.NewReader(prog))
		assert.NilError(t, err, name)
		assert.Equal(t, f.Machine, want, name)
	}
}
