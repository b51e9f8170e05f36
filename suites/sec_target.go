package suites

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
)

// Target processes for the security cases: a tiny program (internal/tinyasm)
// that blocks some signals, optionally adds its own Landlock layer,
// reports "ready" on its fd 3 once it really runs its own code (after
// execve: /proc/<pid>/* then belongs to its own credentials, which a
// fork-and-exec'd child's do not while it is still inside execve),
// optionally waits for a byte on its fd 4, performs an action, reports
// the action's results on fd 3 and pauses until killed.

// layerSpec is a Landlock layer a target adds itself (with no_new_privs).
type layerSpec struct {
	fs     uint64 // handled_access_fs
	scoped uint64 // scoped (needs ABI 6)
}

// targetSpec describes a target program.
type targetSpec struct {
	block  uint64     // signal mask blocked at start (bit sig-1)
	layer  *layerSpec // a layer the target adds before it is ready
	waitGo bool       // wait for a byte on fd 4 before the action
	// action runs after ready (and go); it stores results in slots
	// 2..2+results-1.
	action  func(p *tinyasm.Program)
	results int
}

// sigBit is the bit of a signal in a kernel sigset.
func sigBit(s unix.Signal) uint64 { return 1 << (uint(s) - 1) }

// ownLayer is the layer targets add to be in a nested domain: it handles
// MAKE_DIR, which nothing here needs.
var ownLayer = &layerSpec{fs: uint64(unix.LANDLOCK_ACCESS_FS_MAKE_DIR)}

func (s targetSpec) program() []byte {
	p := tinyasm.New()
	if s.block != 0 {
		p.SetSlot(20, int32(s.block))
		p.Sys(tinyasm.SysRtSigprocmask, tinyasm.Imm(unix.SIG_BLOCK), tinyasm.SlotAddr(20), tinyasm.Imm(0), tinyasm.Imm(8))
	}
	p.SetSlot(0, 0)
	if s.layer != nil {
		size := 8
		if s.layer.scoped != 0 {
			size = 24
		}
		a := attr(size, s.layer.fs, 0, s.layer.scoped)
		p.SysTo(21, tinyasm.SysLandlockCreate, p.Blob(a), tinyasm.Imm(size), tinyasm.Imm(0))
		p.Sys(tinyasm.SysPrctl, tinyasm.Imm(unix.PR_SET_NO_NEW_PRIVS), tinyasm.Imm(1), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
		p.SysTo(0, tinyasm.SysLandlockRestr, tinyasm.SlotVal(21), tinyasm.Imm(0))
		p.Sys(tinyasm.SysClose, tinyasm.SlotVal(21))
	}
	p.Report(3, 0, 1)
	if s.waitGo {
		p.Sys(tinyasm.SysRead, tinyasm.Imm(4), tinyasm.SlotAddr(1), tinyasm.Imm(1))
	}
	if s.action != nil {
		s.action(p)
		p.Report(3, 2, s.results)
	}
	p.PauseForever()
	return p.Bytes()
}

// tinyProc is a running target.
type tinyProc struct {
	pid    int
	rep    int // read end of the target's report pipe (its fd 3)
	goW    int // write end of its go pipe (its fd 4)
	layer  int64
	reaped bool
}

// startTarget writes the program into dir and starts it from the calling
// thread (so in that thread's domain), and waits until it is ready.
func startTarget(dir string, s targetSpec) (*tinyProc, error) {
	return startProgram(dir, s.program(), false)
}

// startProgram starts prog and waits for its first report (8 bytes).
func startProgram(dir string, prog []byte, setpgid bool) (*tinyProc, error) {
	return startProgramAttr(dir, prog, &syscall.SysProcAttr{Setpgid: setpgid})
}

// startProgramAttr is startProgram with the child's process attributes
// (a process group to join: Setpgid with Pgid).
func startProgramAttr(dir string, prog []byte, attr *syscall.SysProcAttr) (*tinyProc, error) {
	f, err := os.CreateTemp(dir, "tiny-")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	_, err = f.Write(prog)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, 0o755)
	}
	if err != nil {
		return nil, err
	}
	var rep, gop [2]int
	if err := unix.Pipe2(rep[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	if err := unix.Pipe2(gop[:], unix.O_CLOEXEC); err != nil {
		unix.Close(rep[0])
		unix.Close(rep[1])
		return nil, err
	}
	none := ^uintptr(0) // closed in the child
	pid, err := syscall.ForkExec(path, []string{filepath.Base(path)}, &syscall.ProcAttr{
		Env:   []string{},
		Files: []uintptr{none, none, none, uintptr(rep[1]), uintptr(gop[0])},
		Sys:   attr,
	})
	unix.Close(rep[1])
	unix.Close(gop[0])
	if err != nil {
		unix.Close(rep[0])
		unix.Close(gop[1])
		return nil, err
	}
	p := &tinyProc{pid: pid, rep: rep[0], goW: gop[1]}
	v, err := p.read(1)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("target not ready: %w", err)
	}
	p.layer = v[0]
	return p, nil
}

// read reads n 8-byte results.
func (p *tinyProc) read(n int) ([]int64, error) {
	b := make([]byte, 8*n)
	for got := 0; got < len(b); {
		m, err := unix.Read(p.rep, b[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return nil, fmt.Errorf("the target exited (after %d of %d bytes)", got, len(b))
		}
		got += m
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// goAhead lets a target that waits for it perform its action.
func (p *tinyProc) goAhead() error {
	_, err := unix.Write(p.goW, []byte{1})
	return err
}

// kill ends the target and reaps it; call it from a thread that may
// signal it (killFromOutside).
func (p *tinyProc) kill() {
	if !p.reaped {
		unix.Kill(p.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(p.pid, &ws, unix.WALL, nil)
		p.reaped = true
	}
	unix.Close(p.rep)
	unix.Close(p.goW)
}

// layerErr is the outcome of the target's own layer: "" when it was
// added.
func (p *tinyProc) layerErr() string {
	if p.layer == 0 {
		return ""
	}
	return "target layer: " + result(p.layer)
}

// result names a raw system call result: ok for 0, an errno name for a
// negative value, the number otherwise.
func result(v int64) string {
	if v < 0 && v >= -4095 {
		return check.Outcome(unix.Errno(-v))
	}
	if v == 0 {
		return check.OK
	}
	return strconv.FormatInt(v, 10)
}

// okOrErr is result with every non-negative value as ok.
func okOrErr(v int64) string {
	if v >= 0 {
		return check.OK
	}
	return result(v)
}

// pendingSignals reads the pending signals of a task from its status
// file: the thread's own (SigPnd) and its process's (ShdPnd).
func pendingSignals(pid, tid int) (thread, shared uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, perr := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		switch k {
		case "SigPnd":
			thread, err = n, perr
		case "ShdPnd":
			shared, err = n, perr
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return thread, shared, nil
}

// capDrop removes capabilities from the calling thread's effective set
// (capset acts on the calling thread only).
func capDrop(caps ...int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	for _, c := range caps {
		data[c/32].Effective &^= 1 << (uint(c) % 32)
	}
	return unix.Capset(&hdr, &data[0])
}

// rawSyscallErr is a raw system call's errno as an error.
func rawErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
