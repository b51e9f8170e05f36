package suites

import (
	"bytes"
	"debug/elf"
	"runtime"
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseAuditRecord(t *testing.T) {
	r := parseRecord(auditLandlockAccess, []byte(`audit(1729738800.221:33): domain=1a6fdc679 blockers=fs.write_file path="/dev/tty 2" dev="devtmpfs" ino=9`+"\x00"))
	assert.Equal(t, r.fields["domain"], "1a6fdc679")
	assert.Equal(t, r.fields["blockers"], "fs.write_file")
	assert.Equal(t, r.fields["path"], "/dev/tty 2")
	assert.Equal(t, r.fields["dev"], "devtmpfs")
	assert.Equal(t, r.fields["ino"], "9")
}

// The suites' own tiny programs are for the architecture the agent runs on.
func TestSuiteProgramsAreForThisArchitecture(t *testing.T) {
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want == 0 {
		t.Skipf("no tiny programs for %s", runtime.GOARCH)
	}
	for name, prog := range map[string][]byte{
		"target": targetSpec{layer: ownLayer}.program(), "threads": threadOpenRootProgram(),
	} {
		f, err := elf.NewFile(bytes.NewReader(prog))
		assert.NilError(t, err, name)
		assert.Equal(t, f.Machine, want, name)
	}
}
