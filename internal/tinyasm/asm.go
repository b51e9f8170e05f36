package tinyasm

import (
	"encoding/binary"
	"fmt"
)

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

// Arg is a system call argument.
type Arg interface{ load(p *Program, r reg) }

type (
	Imm      int64 // an immediate (sign-extended from 32 bits)
	SlotVal  int   // the value of a stack slot
	SlotAddr int   // the address of a stack slot
	DataAddr int   // the address of a read-only blob (asm.blob)
)

func (v Imm) load(p *Program, r reg) {
	if p.arm64 {
		p.a64MovImm(r, int64(v))
		return
	}
	p.movImm(r, int32(v))
}

func (s SlotVal) load(p *Program, r reg) {
	if p.arm64 {
		p.a64Slot(a64LDR, r, int(s))
		return
	}
	p.rspOp(0x8b, r, int(s))
}

func (s SlotAddr) load(p *Program, r reg) {
	if p.arm64 {
		p.a64SlotAddr(r, int(s))
		return
	}
	p.rspOp(0x8d, r, int(s))
}

func (d DataAddr) load(p *Program, r reg) {
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

// Program assembles one program.
type Program struct {
	code, data []byte
	relocs     []int // code offsets of 32-bit data offsets to relocate
	labels     map[string]int
	jumps      map[int]string // code offset of a rel32 -> label
	Frame      int            // displacement added to slot addresses
	arm64      bool           // the program is for arm64 (asm_aarch64.go)
	a64Relocs  []a64Reloc
}

// frameSize is the stack the program reserves below its initial rsp.
const frameSize = 16384

func New() *Program {
	if tinyArch == "arm64" {
		return newA64()
	}
	p := &Program{labels: map[string]int{}, jumps: map[int]string{}}
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
func (p *Program) movImm(r reg, v int32) {
	p.code = append(p.code, rex(0, r), 0xc7, 0xc0|byte(r&7))
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

// rspOp is op r64, [rsp+8*slot+frame] (op 0x8b load, 0x89 store, 0x8d lea).
func (p *Program) rspOp(op byte, r reg, slot int) {
	p.code = append(p.code, rex(r, 0), op, 0x84|byte(r&7)<<3, 0x24)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(int32(8*slot+p.Frame)))
}

// Blob places read-only bytes after the code and returns their address.
func (p *Program) Blob(b []byte) DataAddr {
	off := len(p.data)
	p.data = append(p.data, b...)
	for len(p.data)%8 != 0 {
		p.data = append(p.data, 0)
	}
	return DataAddr(off)
}

// Cstr is a NUL-terminated string blob.
func (p *Program) Cstr(s string) DataAddr { return p.Blob(append([]byte(s), 0)) }

// Sys performs a system call; its result is left in rax.
func (p *Program) Sys(nr int, args ...Arg) {
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

// SysTo performs a system call and stores its result in slot.
func (p *Program) SysTo(slot, nr int, args ...Arg) {
	p.Sys(nr, args...)
	p.Save(slot)
}

func (p *Program) Save(slot int) {
	if p.arm64 {
		p.a64Slot(a64STR, 0, slot)
		return
	}
	p.rspOp(0x89, rax, slot)
}

// StoreAddr stores the address of a data blob in a stack slot: how a
// program builds an array of pointers, such as execve's argv.
func (p *Program) StoreAddr(slot int, d DataAddr) {
	d.load(p, rax) // rax, and x0 on arm64: the register Save stores
	p.Save(slot)
}

func (p *Program) LoadRax(slot int) {
	if p.arm64 {
		p.a64Slot(a64LDR, 0, slot)
		return
	}
	p.rspOp(0x8b, rax, slot)
}

func (p *Program) Label(name string) { p.labels[name] = len(p.code) }
func (p *Program) SetSlot(slot int, v int32) {
	if p.arm64 {
		p.a64SetSlot(slot, int64(v))
		return
	}
	// mov qword [rsp+disp32], imm32
	p.code = append(p.code, 0x48, 0xc7, 0x84, 0x24)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(int32(8*slot+p.Frame)))
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

// Condition codes for jumpIf, after cmpRax.
const (
	CcEq = 0x4
	CcNe = 0x5
	CcLt = 0xc
	ccGe = 0xd
)

// CmpRax compares rax with v.
func (p *Program) CmpRax(v int32) {
	if p.arm64 {
		p.a64Cmp(int64(v))
		return
	}
	p.code = append(p.code, 0x48, 0x3d)
	p.code = binary.LittleEndian.AppendUint32(p.code, uint32(v))
}

func (p *Program) JumpIf(cc byte, label string) {
	if p.arm64 {
		p.a64Branch(a64Cond[cc], label)
		return
	}
	p.code = append(p.code, 0x0f, 0x80|cc)
	p.jumps[len(p.code)] = label
	p.code = append(p.code, 0, 0, 0, 0)
}

func (p *Program) Jump(label string) {
	if p.arm64 {
		p.a64Branch(a64Always, label)
		return
	}
	p.code = append(p.code, 0xe9)
	p.jumps[len(p.code)] = label
	p.code = append(p.code, 0, 0, 0, 0)
}

// Report writes n slots starting at first to fd.
func (p *Program) Report(fd, first, n int) {
	p.Sys(SysWrite, Imm(fd), SlotAddr(first), Imm(8*n))
}

// PauseForever waits for signals until killed.
func (p *Program) PauseForever() {
	p.Label("pause")
	p.Sys(SysPause)
	p.Jump("pause")
}

func (p *Program) ExitGroup(code Arg) { p.Sys(SysExitGroup, code) }

// program links the code and the data into an ELF image.
func (p *Program) Bytes() []byte {
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
	dataBase := uint32(TinyBase + 64 + 56 + len(code))
	for _, at := range p.relocs {
		binary.LittleEndian.PutUint32(code[at:], dataBase+binary.LittleEndian.Uint32(code[at:]))
	}
	return tinyELF(append(code, p.data...))
}

// TinyBase is where tinyELF loads its segment.
const TinyBase = 0x400000
