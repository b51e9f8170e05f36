package suites

import (
	"encoding/binary"
	"fmt"
)

// A few tiny programs, assembled at run time for this machine (x86-64
// here; arm64 in asm_aarch64.go, which the methods below hand over to): the security cases
// need processes that are single-threaded (KEYCTL_SESSION_TO_PARENT),
// that act on exactly one thread (PTRACE_TRACEME, signals, ptrace of a
// parent), that add their own Landlock layer, and that start in a few
// milliseconds under TCG, which a second Go runtime cannot. A program is
// a list of system calls whose arguments are immediates, read-only data,
// or 8-byte slots on its stack; results go to slots and are reported on
// a pipe.

type reg byte

const (
	rax reg = 0
	rcx reg = 1
	rdx reg = 2
	rsi reg = 6
	rdi reg = 7
	r8  reg = 8
	r9  reg = 9
	r10 reg = 10
)

// syscallRegs are the argument registers of the x86-64 syscall ABI.
var syscallRegs = []reg{rdi, rsi, rdx, r10, r8, r9}

// asmArg is a system call argument.
type asmArg interface{ load(p *asm, r reg) }

type (
	imm      int64 // an immediate (sign-extended from 32 bits)
	slotVal  int   // the value of a stack slot
	slotAddr int   // the address of a stack slot
	dataAddr int   // the address of a read-only blob (asm.blob)
)

func (v imm) load(p *asm, r reg) {
	if p.arm64 {
		p.a64MovImm(r, int64(v))
		return
	}
	p.movImm(r, int32(v))
}

func (s slotVal) load(p *asm, r reg) {
	if p.arm64 {
		p.a64Slot(a64LDR, r, int(s))
		return
	}
	p.rspOp(0x8b, r, int(s))
}

func (s slotAddr) load(p *asm, r reg) {
	if p.arm64 {
		p.a64SlotAddr(r, int(s))
		return
	}
	p.rspOp(0x8d, r, int(s))
}

func (d dataAddr) load(p *asm, r reg) {
	if p.arm64 {
		p.a64DataAddr(r, d)
		return
	}
	if r >= 8 {
		p.code = append(p.code, 0x41)
	}
	p.code = append(p.code, 0xb8+byte(r&7))
	p.relocs = append(p.relocs, len(p.code))
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(d))
}

// asm assembles one program.
type asm struct {
	code, data []byte
	relocs     []int // code offsets of 32-bit data offsets to relocate
	labels     map[string]int
	jumps      map[int]string // code offset of a rel32 -> label
	frame      int            // displacement added to slot addresses
	arm64      bool           // the program is for arm64 (asm_aarch64.go)
	a64Relocs  []a64Reloc
}

// frameSize is the stack the program reserves below its initial rsp.
const frameSize = 16384

func newAsm() *asm {
	if tinyArch == "arm64" {
		return newA64()
	}
	p := &asm{labels: map[string]int{}, jumps: map[int]string{}}
	p.code = append(p.code, 0x48, 0x81, 0xec) // sub rsp, frameSize
	p.code = binary.LittleEndian.AppendUint32(p.code, frameSize)
	return p
}

func rex(r, b reg) byte {
	x := byte(0x48)
	if r >= 8 {
		x |= 4
	}
	if b >= 8 {
		x |= 1
	}
	return x
}

// movImm is mov r64, imm32 (sign-extended).
func (p *asm) movImm(r reg, v int32) {
	p.code = append(p.code, rex(0, r), 0xc7, 0xc0|byte(r&7))
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

// rspOp is op r64, [rsp+8*slot+frame] (op 0x8b load, 0x89 store, 0x8d lea).
func (p *asm) rspOp(op byte, r reg, slot int) {
	p.code = append(p.code, rex(r, 0), op, 0x84|byte(r&7)<<3, 0x24)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(int32(8*slot+p.frame)))
}

// blob places read-only bytes after the code and returns their address.
func (p *asm) blob(b []byte) dataAddr {
	off := len(p.data)
	p.data = append(p.data, b...)
	for len(p.data)%8 != 0 {
		p.data = append(p.data, 0)
	}
	return dataAddr(off)
}

// cstr is a NUL-terminated string blob.
func (p *asm) cstr(s string) dataAddr { return p.blob(append([]byte(s), 0)) }

// sys performs a system call; its result is left in rax.
func (p *asm) sys(nr int, args ...asmArg) {
	if p.arm64 {
		p.a64Sys(nr, args...)
		return
	}
	for i, a := range args {
		a.load(p, syscallRegs[i])
	}
	p.movImm(rax, int32(nr))
	p.code = append(p.code, 0x0f, 0x05)
}

// sysTo performs a system call and stores its result in slot.
func (p *asm) sysTo(slot, nr int, args ...asmArg) {
	p.sys(nr, args...)
	p.save(slot)
}

func (p *asm) save(slot int) {
	if p.arm64 {
		p.a64Slot(a64STR, 0, slot)
		return
	}
	p.rspOp(0x89, rax, slot)
}

func (p *asm) loadRax(slot int) {
	if p.arm64 {
		p.a64Slot(a64LDR, 0, slot)
		return
	}
	p.rspOp(0x8b, rax, slot)
}

func (p *asm) label(name string) { p.labels[name] = len(p.code) }
func (p *asm) setSlot(slot int, v int32) {
	if p.arm64 {
		p.a64SetSlot(slot, int64(v))
		return
	}
	// mov qword [rsp+disp32], imm32
	p.code = append(p.code, 0x48, 0xc7, 0x84, 0x24)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(int32(8*slot+p.frame)))
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

// Condition codes for jumpIf, after cmpRax.
const (
	ccEq = 0x4
	ccNe = 0x5
	ccLt = 0xc
	ccGe = 0xd
)

// cmpRax compares rax with v.
func (p *asm) cmpRax(v int32) {
	if p.arm64 {
		p.a64Cmp(int64(v))
		return
	}
	p.code = append(p.code, 0x48, 0x3d)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

func (p *asm) jumpIf(cc byte, label string) {
	if p.arm64 {
		p.a64Branch(a64Cond[cc], label)
		return
	}
	p.code = append(p.code, 0x0f, 0x80|cc)
	p.jumps[len(p.code)] = label
	p.code = append(p.code, 0, 0, 0, 0)
}

func (p *asm) jump(label string) {
	if p.arm64 {
		p.a64Branch(a64Always, label)
		return
	}
	p.code = append(p.code, 0xe9)
	p.jumps[len(p.code)] = label
	p.code = append(p.code, 0, 0, 0, 0)
}

// report writes n slots starting at first to fd.
func (p *asm) report(fd, first, n int) {
	p.sys(sysWrite, imm(fd), slotAddr(first), imm(8*n))
}

// pauseForever waits for signals until killed.
func (p *asm) pauseForever() {
	p.label("pause")
	p.sys(sysPause)
	p.jump("pause")
}

func (p *asm) exitGroup(code asmArg) { p.sys(sysExitGroup, code) }

// program links the code and the data into an ELF image.
func (p *asm) program() []byte {
	if p.arm64 {
		return p.a64Program()
	}
	code := append([]byte(nil), p.code...)
	for at, l := range p.jumps {
		to, ok := p.labels[l]
		if !ok {
			panic(fmt.Sprintf("suites: asm: no label %q", l))
		}
		binary.LittleEndian.PutUint32(code[at:], uint32(int32(to-(at+4))))
	}
	dataBase := uint32(tinyBase + 64 + 56 + len(code))
	for _, at := range p.relocs {
		binary.LittleEndian.PutUint32(code[at:], dataBase+binary.LittleEndian.Uint32(code[at:]))
	}
	return tinyELF(append(code, p.data...))
}

// tinyBase is where tinyELF loads its segment.
const tinyBase = 0x400000
