package tinyasm

import "encoding/binary"

// Ready-made tiny programs of this machine's architecture (tinyArch):
// x86-64's are written by hand here, arm64's in asm_aarch64.go.

// ExitProgram exits with 0.
func ExitProgram() []byte {
	if tinyArch == "arm64" {
		return a64ExitProgram()
	}
	return tinyELF(exitCode)
}

// PauseProgram waits for a signal, then exits with 0.
func PauseProgram() []byte {
	if tinyArch == "arm64" {
		return a64PauseProgram()
	}
	return tinyELF(pauseCode)
}

// ReadProgram reads one byte from its standard input, then exits with 0.
func ReadProgram() []byte {
	if tinyArch == "arm64" {
		return a64ReadProgram()
	}
	return tinyELF(readCode)
}

// Machine code of the tiny programs: exit(0), and pause() then exit(0).
var (
	exitCode  = []byte{0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}
	pauseCode = append([]byte{0xb8, 34, 0, 0, 0, 0x0f, 0x05}, exitCode...)
)

// tinyELF is a minimal static x86-64 program running code: an ELF header
// and one PT_LOAD segment. Writing it lets cases execute programs on any
// filesystem, without a shell and without the cost of starting a Go
// runtime (tens of milliseconds under TCG).
func tinyELF(code []byte) []byte {
	const base = 0x400000
	b := make([]byte, 64+56, 64+56+len(code))
	le := binary.LittleEndian
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(b[16:], 2)    // ET_EXEC
	le.PutUint16(b[18:], 0x3e) // x86-64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], base+64+56) // entry
	le.PutUint64(b[32:], 64)         // phoff
	le.PutUint16(b[52:], 64)         // ehsize
	le.PutUint16(b[54:], 56)         // phentsize
	le.PutUint16(b[56:], 1)          // phnum
	ph := b[64:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], uint64(cap(b)))
	le.PutUint64(ph[40:], uint64(cap(b)))
	le.PutUint64(ph[48:], 0x1000)
	return append(b, code...)
}

// readCode is read(0, sp-16, 1) then exit(0): a process that lives until
// its stdin is closed.
var readCode = append([]byte{0x31, 0xff, 0x48, 0x8d, 0x74, 0x24, 0xf0, 0xba, 1, 0, 0, 0, 0x31, 0xc0, 0x0f, 0x05}, exitCode...)

// OpenProgram is a static program that opens path with flags and exits
// with 0 or the errno of the open: a child that shows what its inherited
// domain allows, at the cost of an exec of a few hundred bytes.
func OpenProgram(path string, flags uint32) []byte {
	if tinyArch == "arm64" {
		return a64OpenProgram(path, flags)
	}
	code := []byte{
		0x48, 0x8d, 0x3d, 0, 0, 0, 0, // lea rdi, [rip+path]
		0xbe, 0, 0, 0, 0, // mov esi, flags
		0xb8, 2, 0, 0, 0, // mov eax, SYS_open
		0x0f, 0x05, // syscall
		0x31, 0xff, // xor edi, edi
		0x85, 0xc0, // test eax, eax
		0x79, 0x04, // jns exit
		0xf7, 0xd8, // neg eax
		0x89, 0xc7, // mov edi, eax
		0xb8, 60, 0, 0, 0, // exit: mov eax, SYS_exit
		0x0f, 0x05, // syscall
	}
	binary.LittleEndian.PutUint32(code[3:], uint32(len(code)-7))
	binary.LittleEndian.PutUint32(code[8:], flags)
	code = append(code, path...)
	return tinyELF(append(code, 0))
}

// ReceiverProgram is a static x86-64 program that receives one descriptor
// over SCM_RIGHTS on its descriptor 3, runs op on it ("ftruncate" to 0,
// or "fionread") and exits with 0 or the errno. Its buffers (the msghdr,
// iovec and control message) live in its own image, mapped writable.
func ReceiverProgram(op string) []byte {
	if tinyArch == "arm64" {
		return a64ReceiverProgram(op)
	}
	const base = 0x400000 + 64 + 56 // where the code is loaded (tinyELF)
	var code []byte
	emit := func(b ...byte) { code = append(code, b...) }
	type fix struct {
		at, end int
		target  *int
	}
	var fixes []fix
	rel := func(target *int, b ...byte) { // an instruction ending in a rip-relative disp32
		emit(b...)
		emit(0, 0, 0, 0)
		fixes = append(fixes, fix{len(code) - 4, len(code), target})
	}
	var msg, ctl, buf, result int
	emit(0xbf, 3, 0, 0, 0)      // mov edi, 3
	rel(&msg, 0x48, 0x8d, 0x35) // lea rsi, [rip+msg]
	emit(0x31, 0xd2)            // xor edx, edx
	emit(0xb8, 47, 0, 0, 0)     // mov eax, SYS_recvmsg
	emit(0x0f, 0x05)            // syscall
	emit(0x85, 0xc0)            // test eax, eax
	emit(0x78, 0)               // js result
	jsAt := len(code) - 1
	var ctlFD int
	rel(&ctlFD, 0x8b, 0x3d) // mov edi, [rip+ctl+16]: the received descriptor
	switch op {
	case "ftruncate":
		emit(0x31, 0xf6)        // xor esi, esi
		emit(0xb8, 77, 0, 0, 0) // mov eax, SYS_ftruncate
	case "fionread":
		emit(0xbe, 0x1b, 0x54, 0, 0) // mov esi, FIONREAD
		rel(&buf, 0x48, 0x8d, 0x15)  // lea rdx, [rip+buf]
		emit(0xb8, 16, 0, 0, 0)      // mov eax, SYS_ioctl
	default:
		panic("suites: receiverProgram: unknown operation " + op)
	}
	emit(0x0f, 0x05) // syscall
	result = len(code)
	code[jsAt] = byte(result - (jsAt + 1))
	emit(0x31, 0xff, 0x85, 0xc0, 0x79, 0x04, 0xf7, 0xd8, 0x89, 0xc7) // exit status: 0 or -eax
	emit(0xb8, 60, 0, 0, 0, 0x0f, 0x05)                              // exit
	for len(code)%8 != 0 {
		emit(0xcc)
	}
	// Data: msghdr (56 bytes), iovec (16), control buffer (24), byte buffer (8).
	msg = len(code)
	iov := msg + 56
	ctl = iov + 16
	buf = ctl + 24
	ctlFD = ctl + 16
	data := make([]byte, 56+16+24+8)
	le := binary.LittleEndian
	le.PutUint64(data[16:], uint64(base+iov)) // msg_iov
	le.PutUint64(data[24:], 1)                // msg_iovlen
	le.PutUint64(data[32:], uint64(base+ctl)) // msg_control
	le.PutUint64(data[40:], 24)               // msg_controllen: CMSG_SPACE(4)
	le.PutUint64(data[56:], uint64(base+buf)) // iov_base
	le.PutUint64(data[64:], 1)                // iov_len
	code = append(code, data...)
	for _, f := range fixes {
		le.PutUint32(code[f.at:], uint32(int32(*f.target-f.end)))
	}
	elf := tinyELF(code)
	elf[64+4] = 7 // p_flags: R+W+X, the buffers are written
	return elf
}
