package tinyasm

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// The tiny programs on arm64 (AArch64): the same programs as on x86-64,
// from the same code (asm.go's Program hands every instruction it would
// emit over to the methods here when asm.arm64 is set), plus the few
// that x86-64 writes by hand (exit, pause, read, open, receive a
// descriptor). The system call ABI: the number in x8, the arguments in
// x0..x5, svc #0, the result in x0. x9 and x10 are scratch. The file is
// built on every architecture (its name is no GOARCH), so that the
// encodings are tested on an x86 host too; the system call numbers are
// this build's (sysnr_*.go), which on arm64 are arm64's.

// tinyArch is the architecture the tiny programs are made for: this
// one's, since the agent runs them in a guest of its own build.
var tinyArch = runtime.GOARCH

// Pseudo system call numbers for the calls arm64 lacks (sysnr_arm64.go):
// the arm64 assembler turns them into calls it has.
const (
	pseudoOpen  = -1 // open(path, flags): openat(AT_FDCWD, path, flags, 0)
	pseudoFork  = -2 // fork(): clone(SIGCHLD, 0, 0, 0, 0)
	pseudoPause = -3 // pause(): ppoll(NULL, 0, NULL, NULL, 0)
)

// Registers of the arm64 programs.
const (
	a64X8      reg = 8  // the system call number
	a64Scratch reg = 9  // addresses of far stack slots
	a64Value   reg = 10 // values stored by setSlot, compared by cmpRax
	a64SP      reg = 31 // sp as a base register (xzr elsewhere)
)

// a64Regs are the argument registers of the arm64 system call ABI.
var a64Regs = []reg{0, 1, 2, 3, 4, 5}

// Instruction words; the operands are ORed in.
const (
	a64MOVZ   = 0xd2800000 // movz xd, #imm16, lsl #hw*16
	a64MOVN   = 0x92800000 // movn xd, #imm16, lsl #hw*16
	a64MOVK   = 0xf2800000 // movk xd, #imm16, lsl #hw*16
	a64ADDI   = 0x91000000 // add xd, xn|sp, #imm12
	a64SUBI   = 0xd1000000 // sub xd, xn|sp, #imm12
	a64ADDX   = 0x8b206000 // add xd, xn|sp, xm, uxtx
	a64LDR    = 0xf9400000 // ldr xt, [xn|sp, #imm12*8]
	a64STR    = 0xf9000000 // str xt, [xn|sp, #imm12*8]
	a64SUBSI  = 0xf100001f // cmp xn, #imm12 (subs xzr, xn, #imm12)
	a64ADDSI  = 0xb100001f // cmn xn, #imm12 (adds xzr, xn, #imm12)
	a64SUBSR  = 0xeb00001f // cmp xn, xm (subs xzr, xn, xm)
	a64NEG    = 0xcb0003e0 // neg xd, xm (sub xd, xzr, xm)
	a64SVC    = 0xd4000001 // svc #0
	a64B      = 0x14000000 // b imm26
	a64BCond  = 0x54000000 // b.cond imm19
	a64NOP    = 0xd503201f
	a64Always = 0xff // jump: b, not b.cond
)

// a64Cond maps the condition codes of jumpIf (x86-64 encodings, after
// cmpRax) to arm64's: eq, ne, lt, ge.
var a64Cond = map[byte]uint32{CcEq: 0x0, CcNe: 0x1, CcLt: 0xb, ccGe: 0xa}

// a64Reloc is a movz/movk pair that loads the address of a data blob.
type a64Reloc struct {
	at  int // code offset of the movz
	r   reg
	off int // offset in the data
}

// newA64 starts an arm64 program: it reserves frameSize bytes of stack
// (sub sp, sp, #frameSize: 16 KiB, sp stays 16-byte aligned).
func newA64() *Program {
	p := &Program{labels: map[string]int{}, jumps: map[int]string{}, arm64: true}
	p.a64(a64SUBI | 1<<22 | (frameSize>>12)<<10 | uint32(a64SP)<<5 | uint32(a64SP)) // sub sp, sp, #n, lsl #12
	return p
}

func (p *Program) a64(insn uint32) { p.code = binary.LittleEndian.AppendUint32(p.code, insn) }

// a64MovImm loads a 64-bit constant: movz (or movn when most halfwords
// are ones), then movk for each remaining halfword.
func (p *Program) a64MovImm(r reg, v int64) {
	u := uint64(v)
	ones, zeros := 0, 0
	for hw := 0; hw < 4; hw++ {
		switch (u >> (16 * hw)) & 0xffff {
		case 0xffff:
			ones++
		case 0:
			zeros++
		}
	}
	neg := ones > zeros
	first := true
	for hw := 0; hw < 4; hw++ {
		h := uint32(u>>(16*hw)) & 0xffff
		if (!neg && h == 0) || (neg && h == 0xffff) {
			continue
		}
		switch {
		case first && neg:
			p.a64(a64MOVN | uint32(hw)<<21 | (^h&0xffff)<<5 | uint32(r))
		case first:
			p.a64(a64MOVZ | uint32(hw)<<21 | h<<5 | uint32(r))
		default:
			p.a64(a64MOVK | uint32(hw)<<21 | h<<5 | uint32(r))
		}
		first = false
	}
	if first { // 0 or -1
		if neg {
			p.a64(a64MOVN | uint32(r))
		} else {
			p.a64(a64MOVZ | uint32(r))
		}
	}
}

// a64SlotOff is the offset of a stack slot from sp.
func (p *Program) a64SlotOff(slot int) int { return 8*slot + p.Frame }

// a64SlotAddr puts the address of a stack slot in r.
func (p *Program) a64SlotAddr(r reg, slot int) {
	off := p.a64SlotOff(slot)
	switch {
	case off >= 0 && off < 4096:
		p.a64(a64ADDI | uint32(off)<<10 | uint32(a64SP)<<5 | uint32(r))
	case off < 0 && off > -4096:
		p.a64(a64SUBI | uint32(-off)<<10 | uint32(a64SP)<<5 | uint32(r))
	default:
		p.a64MovImm(a64Scratch, int64(off))
		p.a64(a64ADDX | uint32(a64Scratch)<<16 | uint32(a64SP)<<5 | uint32(r))
	}
}

// a64Slot loads (a64LDR) or stores (a64STR) r from or to a stack slot.
func (p *Program) a64Slot(op uint32, r reg, slot int) {
	if off := p.a64SlotOff(slot); off >= 0 && off < 8*4096 {
		p.a64(op | uint32(off/8)<<10 | uint32(a64SP)<<5 | uint32(r))
		return
	}
	p.a64SlotAddr(a64Scratch, slot)
	p.a64(op | uint32(a64Scratch)<<5 | uint32(r))
}

// a64SetSlot stores a constant in a stack slot.
func (p *Program) a64SetSlot(slot int, v int64) {
	p.a64MovImm(a64Value, v)
	p.a64Slot(a64STR, a64Value, slot)
}

// a64SetSlotAddr stores the address of the stack slot target in slot.
func (p *Program) a64SetSlotAddr(slot, target int) {
	p.a64SlotAddr(a64Value, target)
	p.a64Slot(a64STR, a64Value, slot)
}

// a64DataAddr loads the address of a data blob: a movz/movk pair of the
// 32-bit address, filled in by a64Program.
func (p *Program) a64DataAddr(r reg, d DataAddr) {
	p.a64Relocs = append(p.a64Relocs, a64Reloc{at: len(p.code), r: r, off: int(d)})
	p.a64(a64MOVZ | uint32(r))
	p.a64(a64MOVK | 1<<21 | uint32(r))
}

// a64Cmp compares x0 with v.
func (p *Program) a64Cmp(v int64) {
	switch {
	case v >= 0 && v < 4096:
		p.a64(a64SUBSI | uint32(v)<<10)
	case v < 0 && v > -4096:
		p.a64(a64ADDSI | uint32(-v)<<10)
	default:
		p.a64MovImm(a64Value, v)
		p.a64(a64SUBSR | uint32(a64Value)<<16)
	}
}

// a64Branch is b.cond (or b for a64Always) to a label, linked by
// a64Program.
func (p *Program) a64Branch(cond uint32, label string) {
	p.jumps[len(p.code)] = label
	if cond == a64Always {
		p.a64(a64B)
		return
	}
	p.a64(a64BCond | cond)
}

// a64Sys performs a system call. The calls arm64 lacks become the ones
// that stand in for them, and clone takes x86-64's argument order (flags,
// stack, parent_tid, child_tid, tls) from its callers, while arm64's puts
// tls before child_tid.
func (p *Program) a64Sys(nr int, args ...Arg) {
	switch {
	case nr == pseudoOpen:
		nr, args = SysOpenat, append(append([]Arg{Imm(unix.AT_FDCWD)}, args...), Imm(0))
	case nr == pseudoFork:
		nr, args = SysClone, []Arg{Imm(unix.SIGCHLD), Imm(0), Imm(0), Imm(0), Imm(0)}
	case nr == pseudoPause:
		nr, args = SysPpoll, []Arg{Imm(0), Imm(0), Imm(0), Imm(0), Imm(0)}
	case nr == SysClone && len(args) == 5:
		args = []Arg{args[0], args[1], args[2], args[4], args[3]}
	}
	if len(args) > len(a64Regs) {
		panic(fmt.Sprintf("suites: asm: %d system call arguments", len(args)))
	}
	for i, a := range args {
		a.load(p, a64Regs[i])
	}
	p.a64MovImm(a64X8, int64(nr))
	p.a64(a64SVC)
}

// a64Program links the code and the data into an arm64 ELF image: the
// branches to their labels, the data addresses to the data, which
// follows the code (8-byte aligned).
func (p *Program) a64Program() []byte {
	code := append([]byte(nil), p.code...)
	for len(code)%8 != 0 {
		code = binary.LittleEndian.AppendUint32(code, a64NOP)
	}
	le := binary.LittleEndian
	for at, l := range p.jumps {
		to, ok := p.labels[l]
		if !ok {
			panic(fmt.Sprintf("suites: asm: no label %q", l))
		}
		delta := uint32((to - at) / 4)
		insn := le.Uint32(code[at:])
		if insn&0xfc000000 == a64B {
			insn |= delta & 0x03ffffff
		} else {
			insn |= (delta & 0x7ffff) << 5
		}
		le.PutUint32(code[at:], insn)
	}
	dataBase := uint32(TinyBase + 64 + 56 + len(code))
	for _, r := range p.a64Relocs {
		addr := dataBase + uint32(r.off)
		le.PutUint32(code[r.at:], a64MOVZ|(addr&0xffff)<<5|uint32(r.r))
		le.PutUint32(code[r.at+4:], a64MOVK|1<<21|(addr>>16)<<5|uint32(r.r))
	}
	return a64ELF(append(code, p.data...))
}

// a64ELF is tinyELF's image for arm64: EM_AARCH64, and a segment
// alignment that also suits kernels with 64 KiB pages.
func a64ELF(code []byte) []byte {
	b := tinyELF(code)
	binary.LittleEndian.PutUint16(b[18:], 0xb7)       // EM_AARCH64: no debug/elf (its decompressors' inits) in the agent
	binary.LittleEndian.PutUint64(b[64+48:], 0x10000) // p_align
	return b
}

// The programs x86-64 writes by hand (actions.go, fs_exec.go,
// library_rows.go, truncate.go), for arm64.

// a64ExitProgram exits with 0.
func a64ExitProgram() []byte {
	p := newA64()
	p.Sys(SysExit, Imm(0))
	return p.Bytes()
}

// a64PauseProgram waits for a signal, then exits with 0.
func a64PauseProgram() []byte {
	p := newA64()
	p.Sys(SysPause)
	p.Sys(SysExit, Imm(0))
	return p.Bytes()
}

// a64ReadProgram reads one byte from its standard input, then exits with
// 0: it lives until its stdin is closed.
func a64ReadProgram() []byte {
	p := newA64()
	p.Sys(SysRead, Imm(0), SlotAddr(0), Imm(1))
	p.Sys(SysExit, Imm(0))
	return p.Bytes()
}

// a64ExitWithErrno ends a program with 0 if the result in x0 is not
// negative, else with its errno (-x0).
func (p *Program) a64ExitWithErrno() {
	p.SetSlot(3, 0)
	p.CmpRax(0)
	p.JumpIf(ccGe, "exit")
	p.a64(a64NEG) // x0 = -x0
	p.Save(3)
	p.Label("exit")
	p.Sys(SysExit, SlotVal(3))
}

// a64OpenProgram opens path with flags and exits with 0 or the errno.
func a64OpenProgram(path string, flags uint32) []byte {
	p := newA64()
	p.Sys(SysOpen, p.Cstr(path), Imm(int64(flags)))
	p.a64ExitWithErrno()
	return p.Bytes()
}

// a64ReceiverProgram receives one descriptor over SCM_RIGHTS on its
// descriptor 3, runs op on it ("ftruncate" to 0, or "fionread") and exits
// with 0 or the errno. Its buffers are stack slots: the msghdr (slots
// 10-16), the iovec (17-18), the control message (19-21, the descriptor
// in the low half of 21) and the byte received (22).
func a64ReceiverProgram(op string) []byte {
	if op != "ftruncate" && op != "fionread" {
		panic("suites: receiverProgram: unknown operation " + op)
	}
	p := newA64()
	for s := 10; s <= 22; s++ {
		p.SetSlot(s, 0)
	}
	p.a64SetSlotAddr(12, 17) // msg_iov
	p.SetSlot(13, 1)         // msg_iovlen
	p.a64SetSlotAddr(14, 19) // msg_control
	p.SetSlot(15, 24)        // msg_controllen: CMSG_SPACE(4)
	p.a64SetSlotAddr(17, 22) // iov_base
	p.SetSlot(18, 1)         // iov_len
	p.Sys(SysRecvmsg, Imm(3), SlotAddr(10), Imm(0))
	p.CmpRax(0)
	p.JumpIf(CcLt, "result")
	switch op {
	case "ftruncate":
		p.Sys(SysFtruncate, SlotVal(21), Imm(0))
	case "fionread":
		p.Sys(SysIoctl, SlotVal(21), Imm(unix.TIOCINQ), SlotAddr(22)) // FIONREAD
	}
	p.Label("result")
	p.a64ExitWithErrno()
	return p.Bytes()
}
