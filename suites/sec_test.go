package suites

import (
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

// The encodings the tiny programs rely on, against hand-assembled bytes.
func TestAsmEncodings(t *testing.T) {
	p := &asm{labels: map[string]int{}, jumps: map[int]string{}}
	p.movImm(rax, 60)
	p.movImm(r10, -1)
	p.rspOp(0x8b, rdi, 2) // mov rdi, [rsp+16]
	p.rspOp(0x89, rax, 3) // mov [rsp+24], rax
	p.rspOp(0x8d, r8, 1)  // lea r8, [rsp+8]
	p.setSlot(4, 7)       // mov qword [rsp+32], 7
	p.cmpRax(0)
	assert.DeepEqual(t, p.code, []byte{
		0x48, 0xc7, 0xc0, 60, 0, 0, 0,
		0x49, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff,
		0x48, 0x8b, 0xbc, 0x24, 16, 0, 0, 0,
		0x48, 0x89, 0x84, 0x24, 24, 0, 0, 0,
		0x4c, 0x8d, 0x84, 0x24, 8, 0, 0, 0,
		0x48, 0xc7, 0x84, 0x24, 32, 0, 0, 0, 7, 0, 0, 0,
		0x48, 0x3d, 0, 0, 0, 0,
	})
}
