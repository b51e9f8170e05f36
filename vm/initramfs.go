// Package vm boots kernels in QEMU from a tiny initramfs whose /init is the
// llconform agent and hands back, as facts, what each boot showed: the
// lines of the guest's result port, the console log, how QEMU ended. It
// knows nothing of Landlock or of the records on the result port.
//
// The result port is the guest's second ISA serial port (ttyS1, QEMU's
// second -serial, written to QEMU's standard output): Debian's cloud
// kernels have neither 9p nor virtio-console built in, but every x86
// kernel has the 8250 UART.
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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

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

// BuildAgent compiles the agent as a static binary (CGO_ENABLED=0, so it
// needs no loader in the initramfs) into dir and returns its path. Go's
// build cache makes repeated builds cheap.
func BuildAgent(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the Go toolchain is needed to build the VM agent: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "llconform-agent")
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, AgentPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the VM agent: %v\n%s", err, b)
	}
	return out, nil
}

// BuildInitramfs writes a newc cpio holding the agent as /init, cached by
// the agent's content hash, and returns its path.
func BuildInitramfs(agent, dir string) (string, error) {
	bin, err := os.ReadFile(agent)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	path := filepath.Join(dir, "initramfs-"+hex.EncodeToString(sum[:8])+".cpio")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
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
		cpio.StaticFile("init", string(bin), 0o755),
	}
	if err := cpio.WriteRecordsAndDirs(w, recs); err != nil {
		return "", err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// Prepare builds the agent and its initramfs in the cache. Outside the
// source tree it falls back to the running executable, which can serve as
// /init when it is statically linked (CGO_ENABLED=0).
func Prepare(ctx context.Context) (string, error) {
	dir, err := diskio.CacheDir("vm")
	if err != nil {
		return "", err
	}
	agent, err := BuildAgent(ctx, dir)
	if err != nil {
		self, serr := os.Executable()
		if serr != nil || !isStatic(self) {
			return "", fmt.Errorf("%w; or use a statically linked llconform (CGO_ENABLED=0 go build ./cmd/llconform)", err)
		}
		agent = self
	}
	return BuildInitramfs(agent, dir)
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
