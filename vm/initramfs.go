// Package vm boots kernels in QEMU from a tiny initramfs whose /init is the
// llconform agent and hands back, as facts, what each boot showed: the
// lines of the guest's result port, the console log, how QEMU ended. It
// knows nothing of Landlock or of the records on the result port.
//
// Two guest architectures boot (arch.go): amd64 (qemu-system-x86_64) and
// arm64 (qemu-system-aarch64 -machine virt). The agent is built for the
// guest's GOARCH (static, CGO_ENABLED=0) and cached per architecture.
//
// The result port of an x86 guest is its second ISA serial port (ttyS1,
// QEMU's second -serial, written to QEMU's standard output): Debian's cloud
// kernels have neither 9p nor virtio-console built in, but every x86
// kernel has the 8250 UART.
//
// arm64 (measured 2026-11-30, QEMU 7.2 from Debian's qemu-system-arm,
// TCG on this 2-core x86 host, every cloud-arm64 series 5.10 to 7.3.4;
// /work/notes/arm64.md has the tables):
//
//   - Result port: a 16550 on PCI (-device pci-serial, chardev stdio),
//     which the guest names /dev/ttyS0; the console is the virt machine's
//     PL011 (ttyAMA0, -serial file:). 8250 and 8250_PCI are built into
//     every series, so it needs no module: 165 of 165 streams of 426 KB
//     arrived byte-exact, including runs where the host reader fell
//     behind. The alternatives lost: QEMU 7.2's virt has one PL011 and
//     ignores a second -serial without a word; virtio-console is a module
//     on 5.10 and 6.1 and dropped data in 2 of 11 runs when the host fell
//     behind (QEMU drops the rest of a console's buffer on a short write);
//     virtserialport is fast but a module on 5.10/6.1 and not a tty. The
//     16550 costs one MMIO exit per byte: 0.09 to 0.23 MiB/s, about a
//     third of x86's ISA port.
//   - CPU: -cpu max,pauth=off under TCG. QEMU CPU-seconds to power-off of
//     a boot with a small fork/exec/thread workload (median): 6.12: max
//     35.3 s, max,pauth-impdef=on 8.9 s, max,pauth=off 8.2 s, cortex-a72
//     10.9 s; 7.3.4: 25.7, 10.7, 9.9, 12.2 s. Emulating pointer
//     authentication (QARMA5) is most of max's cost; 2 of 3 6.12 boots
//     with max printed "BUG: soft lockup" in the jitterentropy self-test on
//     the loaded host, which the console check would call broken.
//     max,pauth=off had 0 trouble in 74 boots and keeps LSE, BTI, SVE and
//     E0PD (so no KPTI); cortex-a72 is ARMv8.0, without LSE atomics, with
//     KPTI forced on: its user space (exec, threads) was the slowest.
//     Under KVM (an arm64 host) the CPU is "host".
//   - Memory: 64 MiB panics on every tried series, 80 MiB deadlocks 7.3.4
//     on memory, 96 MiB booted all of them with no margin on 7.3; the
//     arm64 kernels reserve about 48 MB. 256 MiB is the arm64 default,
//     MinMemoryMB (128) the floor.
//   - KVM: only on an arm64 host (accel.go); /dev/kvm of an x86 host can
//     never run an aarch64 guest.
//
// QEMU runs through os/exec, not github.com/hugelgupf/vmtest's qemu
// package. That package was tried: it attaches a pty console and
// go-expect to QEMU's standard output and puts the first serial port
// there with -nographic, where llconform needs the console in a file and
// a byte-clean result channel; it kills only the QEMU process, not its
// process group; it reads VMTEST_* variables from the environment that can
// change the command line unseen; its per-architecture knowledge is the
// binary name, while the machine type, CPU model and result device must be
// chosen here anyway; and its go.mod pins golang.org/x/tools v0.17.0,
// which does not build with Go 1.26. It would add a dependency and lose
// the process-group kill and the clean stream, so it is not used.
package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/u-root/u-root/pkg/cpio"
)

// AgentPackage is the import path of the agent built into the initramfs.
const AgentPackage = "./cmd/llconform-agent"

// ModuleRoot finds the llconform source tree (the directory holding
// go.mod) from the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/llconform/llconform")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("the llconform source tree (go.mod) is not in or above the working directory: run llconform from its checkout")
		}
		dir = parent
	}
}

// BuildAgent compiles the agent for the guest architecture arch as a
// static binary (CGO_ENABLED=0, so it needs no loader in the initramfs) to
// the path out. Go's build cache makes repeated builds cheap.
func BuildAgent(ctx context.Context, a arch.Arch, out string) error {
	m, err := machineOf(a)
	if err != nil {
		return err
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the Go toolchain is needed to build the VM agent: %w", err)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, AgentPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+m.goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the VM agent for %s: %v\n%s", a, err, b)
	}
	return nil
}

// File is an extra file of the initramfs (a library under test).
type File struct {
	Path string // relative to /
	Data []byte
	Mode os.FileMode
}

// Initramfs returns a newc cpio holding agent as /init, and the extra
// files. The same inputs give the same bytes (no time stamps), so an image
// can be named by its content.
func Initramfs(agent []byte, extra ...File) ([]byte, error) {
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3),
		cpio.Directory("proc", 0o555),
		cpio.Directory("sys", 0o555),
		cpio.Directory("tmp", 0o1777),
		cpio.Directory("run", 0o755),
		cpio.Directory("etc", 0o755),
		cpio.StaticFile("etc/passwd", "root:x:0:0:root:/:/init\nnobody:x:65534:65534:nobody:/:/init\n", 0o644),
		cpio.StaticFile("init", string(agent), 0o755),
	}
	for _, f := range extra {
		recs = append(recs, cpio.StaticFile(f.Path, string(f.Data), uint64(f.Mode)))
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		return nil, err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WithFiles writes to path the image base with files added, as a second
// newc archive after base's (the kernel unpacks every archive of a
// concatenation): per-kernel files, such as a kernel's modules, ride on
// the shared image without rebuilding it.
func WithFiles(base, path string, files ...File) error {
	in, err := os.Open(base)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	w := cpio.Newc.Writer(out)
	var recs []cpio.Record
	for _, f := range files {
		recs = append(recs, cpio.StaticFile(f.Path, string(f.Data), uint64(f.Mode)))
	}
	err = cpio.WriteRecordsAndDirs(w, recs)
	if err == nil {
		err = cpio.WriteTrailer(w)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// ScratchDir makes a private directory in the VM cache for one run's
// per-kernel images. The caller removes it; Prune removes one that a
// killed run left behind.
func ScratchDir() (string, error) {
	dir, err := diskio.CacheDir("vm")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, ".build-")
}

// The VM cache, under diskio.CacheDir("vm"):
//
//	agent-<arch>-<sha256 prefix>            an agent binary, named by its architecture and content
//	initramfs-<arch>-<sha256 prefix>.cpio   an image holding one as /init, likewise
//	.build-*/                               one run's private build directory
//
// Every run builds its agent in a private directory, makes the image in
// memory and publishes both under their content hashes with an atomic
// rename. The path a run boots therefore names the bytes of its own agent:
// two runs from different checkouts sharing one cache never boot each
// other's agent. A cached file is reused only when its bytes hash to what
// the run built (a flipped byte is rewritten, and said so). Using a file
// sets its modification time; Prune keeps the KeepImages most recently
// used images and agents, and anything used within pruneGrace (a run in
// progress elsewhere).
const (
	KeepImages = 4
	pruneGrace = time.Hour
)

// Prepare builds the agent for the guest architecture arch and its
// initramfs and returns the image's path in the cache, pruning old
// images. Outside the source tree it falls back to the running
// executable, which can serve as /init when it is statically linked
// (CGO_ENABLED=0) and built for arch. note, if not nil, receives what a
// user should know (a damaged cache entry replaced).
func Prepare(ctx context.Context, a arch.Arch, note func(string), extra ...File) (string, error) {
	if _, err := machineOf(a); err != nil {
		return "", err
	}
	a = a.OrDefault()
	dir, err := diskio.CacheDir("vm")
	if err != nil {
		return "", err
	}
	build := func(ctx context.Context, out string) error { return buildOrSelf(ctx, a, out) }
	return prepare(ctx, dir, a, build, note, extra...)
}

// buildOrSelf builds the agent to out, or copies the running executable
// there when it is static, of arch, and the source tree is not at hand.
func buildOrSelf(ctx context.Context, ar arch.Arch, out string) error {
	err := BuildAgent(ctx, ar, out)
	if err == nil || ctx.Err() != nil {
		return err
	}
	self, serr := os.Executable()
	m, _ := machineOf(ar)
	if serr != nil || !isStatic(self) || runtime.GOARCH != m.goarch {
		return fmt.Errorf("%w; or use a statically linked llconform built for %s (CGO_ENABLED=0 GOARCH=%s go build ./cmd/llconform)", err, ar, m.goarch)
	}
	b, rerr := os.ReadFile(self)
	if rerr != nil {
		return rerr
	}
	return os.WriteFile(out, b, 0o755)
}

// prepare is Prepare with the cache directory and the agent build given.
func prepare(ctx context.Context, dir string, ar arch.Arch, build func(ctx context.Context, out string) error, note func(string), extra ...File) (string, error) {
	if note == nil {
		note = func(string) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("the VM cache: %w (set LLCONFORM_CACHE to a writable directory)", err)
	}
	private, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", fmt.Errorf("the VM cache: %w (set LLCONFORM_CACHE to a writable directory)", err)
	}
	defer os.RemoveAll(private)
	if err := build(ctx, filepath.Join(private, "agent")); err != nil {
		return "", err
	}
	agent, err := os.ReadFile(filepath.Join(private, "agent"))
	if err != nil {
		return "", err
	}
	img, err := Initramfs(agent, extra...)
	if err != nil {
		return "", err
	}
	if _, err := publish(dir, "agent-"+string(ar)+"-%s", agent, 0o755, note); err != nil {
		return "", err
	}
	path, err := publish(dir, "initramfs-"+string(ar)+"-%s.cpio", img, 0o644, note)
	if err != nil {
		return "", err
	}
	Prune(dir, KeepImages)
	return path, nil
}

// publish puts b in dir under a name made of its content hash, unless a
// file whose bytes hash the same is already there, and marks it used.
func publish(dir, pattern string, b []byte, perm os.FileMode, note func(string)) (string, error) {
	sum := sha256.Sum256(b)
	path := filepath.Join(dir, fmt.Sprintf(pattern, hex.EncodeToString(sum[:8])))
	switch got, err := fileSHA256(path); {
	case err == nil && got == sum:
		now := time.Now()
		os.Chtimes(path, now, now) // best effort: only pruning reads it
		return path, nil
	case err == nil:
		note(fmt.Sprintf("cached %s failed its SHA256 check: rebuilding it", filepath.Base(path)))
	case !errors.Is(err, fs.ErrNotExist):
		note(fmt.Sprintf("cached %s is unreadable (%v): rebuilding it", filepath.Base(path), err))
	}
	if err := diskio.WriteAtomic(path, b, perm); err != nil {
		return "", fmt.Errorf("writing %s: %w (set LLCONFORM_CACHE to a writable directory)", path, err)
	}
	return path, nil
}

func fileSHA256(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// Prune removes from the VM cache dir all but the keep most recently used
// images and agents, sparing anything used within the last hour (another
// run may be booting it), and the private build directories of runs that
// ended without cleaning up. It returns what it removed.
func Prune(dir string, keep int) []string {
	var removed []string
	for _, glob := range []string{"initramfs-*.cpio", "agent-*"} {
		paths, _ := filepath.Glob(filepath.Join(dir, glob))
		type used struct {
			path string
			at   time.Time
		}
		var files []used
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				files = append(files, used{p, st.ModTime()})
			}
		}
		sort.Slice(files, func(i, j int) bool { return files[i].at.After(files[j].at) })
		for i, f := range files {
			if i < keep || time.Since(f.at) < pruneGrace {
				continue
			}
			if os.Remove(f.path) == nil {
				removed = append(removed, f.path)
			}
		}
	}
	// Leftovers: private build directories of runs that were killed, and
	// the shared agent path of llconform before content addressing.
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".build-*"))
	leftovers = append(leftovers, filepath.Join(dir, "llconform-agent"))
	for _, p := range leftovers {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) >= pruneGrace {
			if os.RemoveAll(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	return removed
}

// isStatic reports whether path is an ELF executable without an
// interpreter, which can run as /init in an empty initramfs.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN
}
