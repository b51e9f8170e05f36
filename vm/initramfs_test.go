package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// initOf returns the /init of an initramfs image.
func initOf(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	assert.NilError(t, err)
	for _, r := range recs {
		if r.Name == "init" {
			body, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
			assert.NilError(t, err)
			return body
		}
	}
	t.Fatalf("%s has no /init", path)
	return nil
}

// fakeBuild "builds" an agent whose bytes say which checkout it came from.
func fakeBuild(checkout string) func(context.Context, string) error {
	return func(_ context.Context, out string) error {
		return os.WriteFile(out, []byte("agent of "+checkout), 0o755)
	}
}

func names(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	assert.NilError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// Two runs from different checkouts share one cache and build at the same
// time: each boots an image holding its own agent. Both builds finish
// before either run goes on, which is when a shared build path (the old
// vm/llconform-agent) handed both runs the agent written last.
func TestPrepareConcurrentCheckoutsBootTheirOwnAgent(t *testing.T) {
	dir := t.TempDir()
	var built sync.WaitGroup
	built.Add(2)
	barrier := func(checkout string) func(context.Context, string) error {
		return func(ctx context.Context, out string) error {
			err := fakeBuild(checkout)(ctx, out)
			built.Done()
			built.Wait()
			return err
		}
	}
	paths := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, checkout := range []string{"/src/a", "/src/b"} {
		wg.Go(func() { paths[i], errs[i] = prepare(context.Background(), dir, "amd64", barrier(checkout), nil) })
	}
	wg.Wait()
	for i, checkout := range []string{"/src/a", "/src/b"} {
		assert.NilError(t, errs[i])
		assert.Equal(t, string(initOf(t, paths[i])), "agent of "+checkout)
	}
	assert.Assert(t, paths[0] != paths[1])
	// Published by content hash; no private build directory is left.
	n := names(t, dir)
	assert.Equal(t, len(n), 4, "%v", n)
	for _, name := range n {
		assert.Assert(t, name[0] != '.', "leftover %s", name)
	}
}

func TestPrepareReusesAndVerifiesTheCachedImage(t *testing.T) {
	dir := t.TempDir()
	path, err := prepare(context.Background(), dir, "amd64", fakeBuild("a"), nil)
	assert.NilError(t, err)
	good, err := os.ReadFile(path)
	assert.NilError(t, err)

	// The same agent: the same path, nothing said.
	var notes []string
	note := func(s string) { notes = append(notes, s) }
	again, err := prepare(context.Background(), dir, "amd64", fakeBuild("a"), note)
	assert.NilError(t, err)
	assert.Equal(t, again, path)
	assert.Assert(t, is.Len(notes, 0))

	// One flipped byte is detected, said and repaired.
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0x40
	assert.NilError(t, os.WriteFile(path, bad, 0o644))
	again, err = prepare(context.Background(), dir, "amd64", fakeBuild("a"), note)
	assert.NilError(t, err)
	assert.Equal(t, again, path)
	got, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Assert(t, bytes.Equal(got, good), "the damaged image was not rebuilt")
	assert.DeepEqual(t, notes, []string{"cached " + filepath.Base(path) + " failed its SHA256 check: rebuilding it"})
}

func TestPrepareBuildErrorLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	_, err := prepare(context.Background(), dir, "amd64", func(context.Context, string) error { return fmt.Errorf("no go") }, nil)
	assert.ErrorContains(t, err, "no go")
	assert.Assert(t, is.Len(names(t, dir), 0))
}

func TestInitramfsIsDeterministic(t *testing.T) {
	a, err := Initramfs([]byte("agent"))
	assert.NilError(t, err)
	b, err := Initramfs([]byte("agent"))
	assert.NilError(t, err)
	assert.Assert(t, bytes.Equal(a, b), "the same agent must give the same image, or images cannot be named by content")
}

func TestPruneKeepsTheNewestAndTheRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	touch := func(name string, at time.Time) {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.WriteFile(p, []byte(name), 0o644))
		assert.NilError(t, os.Chtimes(p, at, at))
	}
	for i := 0; i < 7; i++ { // used 48 h ago, then 47 h, ...: 6 is the newest
		touch(fmt.Sprintf("initramfs-%d.cpio", i), old.Add(time.Duration(i)*time.Hour))
		touch(fmt.Sprintf("agent-%d", i), old.Add(time.Duration(i)*time.Hour))
	}
	touch("initramfs-in-use-elsewhere.cpio", time.Now().Add(-time.Minute)) // a run booting right now
	touch("llconform-agent", old)                                          // the old shared build path
	assert.NilError(t, os.Mkdir(filepath.Join(dir, ".build-killed"), 0o755))
	assert.NilError(t, os.Chtimes(filepath.Join(dir, ".build-killed"), old, old))
	assert.NilError(t, os.Mkdir(filepath.Join(dir, ".build-running"), 0o755))

	removed := Prune(dir, 4)
	assert.Equal(t, len(removed), 3+4+2, "%v", removed)
	assert.DeepEqual(t, names(t, dir), []string{".build-running",
		"agent-3", "agent-4", "agent-5", "agent-6",
		"initramfs-4.cpio", "initramfs-5.cpio", "initramfs-6.cpio", "initramfs-in-use-elsewhere.cpio"})
}

// The cache keeps each architecture's agent and image under its own name,
// even if their bytes were the same.
func TestPrepareNamesByArchitecture(t *testing.T) {
	dir := t.TempDir()
	a, err := prepare(context.Background(), dir, "amd64", fakeBuild("a"), nil)
	assert.NilError(t, err)
	b, err := prepare(context.Background(), dir, "arm64", fakeBuild("a"), nil)
	assert.NilError(t, err)
	assert.Assert(t, strings.HasPrefix(filepath.Base(a), "initramfs-amd64-"), a)
	assert.Assert(t, strings.HasPrefix(filepath.Base(b), "initramfs-arm64-"), b)
	n := names(t, dir)
	assert.Equal(t, len(n), 4, "%v", n)
	_, err = Prepare(context.Background(), "riscv64", nil)
	assert.ErrorContains(t, err, "no QEMU machine for architecture")
}

// The agent really is cross-built: an arm64 build is an aarch64 ELF
// without an interpreter.
func TestBuildAgentForArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent for arm64")
	}
	out := filepath.Join(t.TempDir(), "agent")
	assert.NilError(t, BuildAgent(context.Background(), "arm64", out))
	f, err := elf.Open(out)
	assert.NilError(t, err)
	defer f.Close()
	assert.Equal(t, f.Machine, elf.EM_AARCH64)
	assert.Assert(t, isStatic(out))
}

// A kernel's own files follow the shared image as a second archive: the
// shared bytes unchanged, the files after them.
func TestWithFilesAppendsAnArchive(t *testing.T) {
	dir := t.TempDir()
	base, err := Initramfs([]byte("agent"))
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "base.cpio"), base, 0o644))
	out := filepath.Join(dir, "kernel.cpio")
	assert.NilError(t, WithFiles(filepath.Join(dir, "base.cpio"), out, File{Path: "lib/modules/llconform/00-overlay.ko", Data: []byte("ko"), Mode: 0o644}))
	got, err := os.ReadFile(out)
	assert.NilError(t, err)
	assert.Assert(t, bytes.HasPrefix(got, base))
	assert.Equal(t, len(base)%4, 0, "the second archive must start 4-byte aligned")
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(got[len(base):])))
	assert.NilError(t, err)
	var paths []string
	for _, r := range recs {
		paths = append(paths, r.Name)
	}
	assert.DeepEqual(t, paths, []string{"lib", "lib/modules", "lib/modules/llconform", "lib/modules/llconform/00-overlay.ko"})
}
