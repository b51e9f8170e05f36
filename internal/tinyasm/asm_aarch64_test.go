package tinyasm

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// words reads the instruction words of arm64 code.
func words(code []byte) []uint32 {
	out := make([]uint32, len(code)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	return out
}

// The arm64 encodings the tiny programs rely on, against words assembled
// by hand from the Arm Architecture Reference Manual (and checked against
// GNU as output for the same instructions).
func TestA64Encodings(t *testing.T) {
	p := newA64()
	p.a64MovImm(8, 93)         // mov x8, #93
	p.a64MovImm(0, -100)       // mov x0, #-100 (AT_FDCWD)
	p.a64MovImm(1, 0x12345678) // movz x1, #0x5678; movk x1, #0x1234, lsl #16
	p.a64MovImm(2, -1)         // movn x2, #0
	p.a64MovImm(3, 0)          // movz x3, #0
	p.a64MovImm(4, -12288)     // movn x4, #0x2fff
	p.a64SlotAddr(1, 2)        // add x1, sp, #16
	p.LoadRax(3)               // ldr x0, [sp, #24]
	p.SetSlot(4, 7)            // movz x10, #7; str x10, [sp, #32]
	p.CmpRax(0)                // cmp x0, #0
	p.CmpRax(-1)               // cmn x0, #1
	p.CmpRax(5000)             // movz x10, #5000; cmp x0, x10
	p.a64(a64NEG)              // neg x0, x0
	p.a64(a64SVC)              // svc #0
	assert.DeepEqual(t, words(p.code), []uint32{
		0xd14013ff,             // sub sp, sp, #4, lsl #12 (the 16 KiB frame)
		0xd2800ba8,             // mov x8, #93
		0x92800c60,             // mov x0, #-100
		0xd28acf01, 0xf2a24681, // x1 = 0x12345678
		0x92800002,             // mov x2, #-1
		0xd2800003,             // mov x3, #0
		0x9285ffe4,             // mov x4, #-12288
		0x910043e1,             // add x1, sp, #16
		0xf9400fe0,             // ldr x0, [sp, #24]
		0xd28000ea, 0xf90013ea, // mov x10, #7; str x10, [sp, #32]
		0xf100001f,             // cmp x0, #0
		0xb100041f,             // cmn x0, #1
		0xd282710a, 0xeb0a001f, // mov x10, #5000; cmp x0, x10
		0xcb0003e0, // neg x0, x0
		0xd4000001, // svc #0
	})

	// A slot seen from a thread's stack (a negative frame) is reached
	// through x9.
	p = newA64()
	p.Frame = -8 * 1536
	p.Save(12) // 96 - 12288 = -12192 from sp
	assert.DeepEqual(t, words(p.code[4:]), []uint32{
		0x9285f3e9, // mov x9, #-12192
		0x8b2963e9, // add x9, sp, x9 (uxtx)
		0xf9000120, // str x0, [x9]
	})
}

// Branches are linked to their labels, data addresses to the data after
// the code, and the image is an arm64 ELF whose entry is the code.
func TestA64Linking(t *testing.T) {
	p := newA64()
	p.Label("top")           // word 1
	p.CmpRax(0)              // 1
	p.JumpIf(CcNe, "out")    // 2: b.ne +3
	p.JumpIf(CcLt, "top")    // 3: b.lt -2
	p.Jump("top")            // 4: b -3
	p.Label("out")           // 5
	p.dataAddr0(p.Cstr("/")) // 5, 6: the address of "/" in x1
	img := p.Bytes()

	f, err := elf.NewFile(bytes.NewReader(img))
	assert.NilError(t, err)
	assert.Equal(t, f.Machine, elf.EM_AARCH64)
	assert.Equal(t, f.Entry, uint64(TinyBase+64+56))
	assert.Equal(t, f.Progs[0].Align, uint64(0x10000))
	code := words(img[64+56:])
	assert.Equal(t, code[2], uint32(0x54000061), "b.ne +3")
	assert.Equal(t, code[3], uint32(0x54ffffcb), "b.lt -2")
	assert.Equal(t, code[4], uint32(0x17fffffd), "b -3")
	// 7 words, padded to 8: the data starts 32 bytes after the entry.
	addr := uint32(TinyBase + 64 + 56 + 32)
	assert.Equal(t, code[5], uint32(a64MOVZ|(addr&0xffff)<<5|1))
	assert.Equal(t, code[6], uint32(a64MOVK|1<<21|(addr>>16)<<5|1))
	assert.Equal(t, code[7], uint32(a64NOP))
	assert.Equal(t, string(img[addr-TinyBase:addr-TinyBase+2]), "/\x00")
}

// dataAddr0 loads a data address into x1 (as a system call's second
// argument would be).
func (p *Program) dataAddr0(d DataAddr) { d.load(p, 1) }

// The calls arm64 lacks become the ones that stand in for them, and clone
// gets arm64's argument order.
func TestA64SystemCalls(t *testing.T) {
	call := func(nr int, args ...Arg) []uint32 {
		p := newA64()
		p.a64Sys(nr, args...)
		return words(p.code[4:])
	}
	nr := func(n int) uint32 { return a64MOVZ | uint32(n)<<5 | 8 } // mov x8, #n

	// open(path, flags): openat(AT_FDCWD, path, flags, 0)
	got := call(pseudoOpen, Imm(5), Imm(7))
	assert.DeepEqual(t, got, []uint32{0x92800c60, a64MOVZ | 5<<5 | 1, a64MOVZ | 7<<5 | 2, a64MOVZ | 3, nr(SysOpenat), a64SVC})

	// fork(): clone(SIGCHLD, 0, 0, 0, 0)
	assert.DeepEqual(t, call(pseudoFork), []uint32{a64MOVZ | uint32(unix.SIGCHLD)<<5, a64MOVZ | 1, a64MOVZ | 2, a64MOVZ | 3, a64MOVZ | 4, nr(SysClone), a64SVC})

	// pause(): ppoll(NULL, 0, NULL, NULL, 0)
	assert.DeepEqual(t, call(pseudoPause), []uint32{a64MOVZ, a64MOVZ | 1, a64MOVZ | 2, a64MOVZ | 3, a64MOVZ | 4, nr(SysPpoll), a64SVC})

	// clone(flags, stack, parent_tid, child_tid, tls) in x86-64's order:
	// arm64 takes tls in x3 and child_tid in x4.
	got = call(SysClone, Imm(1), Imm(2), Imm(3), Imm(4), Imm(5))
	assert.DeepEqual(t, got[:5], []uint32{a64MOVZ | 1<<5, a64MOVZ | 2<<5 | 1, a64MOVZ | 3<<5 | 2, a64MOVZ | 5<<5 | 3, a64MOVZ | 4<<5 | 4})
}

// The x86-64 programs stay x86-64: an ELF for EM_X86_64 from newAsm on
// amd64 builds; on arm64 builds newAsm makes arm64 programs.
func TestTinyProgramsAreForThisArchitecture(t *testing.T) {
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tinyArch]
	if want == 0 {
		t.Skipf("no tiny programs for %s", tinyArch)
	}
	for name, prog := range map[string][]byte{
		"exit": ExitProgram(), "pause": PauseProgram(), "read": ReadProgram(),
		"open": OpenProgram("/", unix.O_RDONLY), "receiver": ReceiverProgram("fionread"),
	} {
		f, err := elf.NewFile(bytes.NewReader(prog))
		assert.NilError(t, err, name)
		assert.Equal(t, f.Machine, want, name)
	}
	// And the arm64 ones are arm64 on any build.
	for name, prog := range map[string][]byte{
		"exit": a64ExitProgram(), "open": a64OpenProgram("/", 0), "receiver": a64ReceiverProgram("ftruncate"),
	} {
		f, err := elf.NewFile(bytes.NewReader(prog))
		assert.NilError(t, err, name)
		assert.Equal(t, f.Machine, elf.EM_AARCH64, name)
		assert.Equal(t, len(prog[64+56:])%4, 0, name)
	}
}

// The encodings the tiny programs rely on, against hand-assembled bytes.
func TestAsmEncodings(t *testing.T) {
	p := &Program{labels: map[string]int{}, jumps: map[int]string{}}
	p.movImm(rax, 60)
	p.movImm(r10, -1)
	p.rspOp(0x8b, rdi, 2) // mov rdi, [rsp+16]
	p.rspOp(0x89, rax, 3) // mov [rsp+24], rax
	p.rspOp(0x8d, r8, 1)  // lea r8, [rsp+8]
	p.SetSlot(4, 7)       // mov qword [rsp+32], 7
	p.CmpRax(0)
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
