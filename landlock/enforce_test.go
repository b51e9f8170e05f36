package landlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// Enforcement cannot be undone, so each native test runs its body in a
// re-executed copy of the test binary.
const childEnv = "LLCONFORM_LANDLOCK_TEST_CHILD"

var children = map[string]func() error{}

// cgoEnabled is set by cgo_test.go in cgo builds.
var cgoEnabled bool

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := children[name](); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs children[name] in a fresh process with extra environment.
func runChild(t *testing.T, name string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+name)...)
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, "child %s: %s", name, out)
}

func kernelABI(t *testing.T) int {
	st, err := Probe()
	assert.NilError(t, err)
	return st.ABI
}

// openErr returns the errno of open(path, O_RDONLY), or nil.
func openErr(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func expectErr(what string, got, want error) error {
	if !errors.Is(got, want) && !(got == nil && want == nil) {
		return fmt.Errorf("%s: expected %v, observed %v", what, want, got)
	}
	return nil
}

func init() {
	children["read"] = func() error {
		allowed, denied := os.Getenv("ALLOWED"), os.Getenv("DENIED")
		p := Policy{FS: FSReadFile | FSReadDir}
		p.AllowPath(filepath.Dir(allowed), FSReadFile)
		r, err := p.Enforce(Config{})
		if err != nil {
			return err
		}
		var want error
		if r.ABI >= 1 {
			want = unix.EACCES
		}
		if err := expectErr("allowed read", openErr(allowed), nil); err != nil {
			return err
		}
		return expectErr("denied read", openErr(denied), want)
	}
	children["threads"] = func() error {
		denied := os.Getenv("DENIED")
		threads := map[string]Threads{"all": AllThreads, "current": CurrentThread}[os.Getenv("THREADS")]
		// A sibling OS thread that exists before enforcement.
		req, res := make(chan struct{}), make(chan error)
		go func() {
			runtime.LockOSThread()
			for range req {
				res <- openErr(denied)
			}
		}()
		req <- struct{}{}
		if err := <-res; err != nil {
			return fmt.Errorf("sibling before enforcement: %v", err)
		}
		runtime.LockOSThread()
		r, err := (&Policy{FS: FSReadFile}).Enforce(Config{Threads: threads})
		if errors.Is(err, ErrCgoThreads) && cgoEnabled && r.ABI < 8 && threads == AllThreads {
			return nil // the documented refusal: no TSYNC and no AllThreadsSyscall with cgo
		}
		if err != nil {
			return err
		}
		var want error
		if r.ABI >= 1 {
			want = unix.EACCES
		}
		if err := expectErr("enforcing thread", openErr(denied), want); err != nil {
			return err
		}
		req <- struct{}{}
		sibling := <-res
		if threads == CurrentThread {
			want = nil
		}
		if err := expectErr("sibling thread ("+r.Threads+")", sibling, want); err != nil {
			return err
		}
		nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		if r.ABI >= 1 && nnp != 1 {
			return fmt.Errorf("no_new_privs not set after enforcement (report: %s)", r.NoNewPrivs)
		}
		return nil
	}
	children["ceiling"] = func() error {
		f := os.Getenv("FILE")
		p := Policy{FS: FSRights(NewestABI) &^ FSRefer}
		p.AllowPath(filepath.Dir(f), FSWriteFile|FSReadFile)
		r, err := p.Enforce(Config{})
		if err != nil {
			return err
		}
		var want error
		if r.ABI >= 3 { // TRUNCATE arrived in ABI 3
			want = unix.EACCES
		}
		return expectErr(fmt.Sprintf("truncate at effective ABI %d", r.ABI), unix.Truncate(f, 0), want)
	}
}

func TestEnforceDeniesRead(t *testing.T) {
	dir := t.TempDir()
	allowedDir := filepath.Join(dir, "allowed")
	assert.NilError(t, os.Mkdir(allowedDir, 0o755))
	allowed, denied := filepath.Join(allowedDir, "f"), filepath.Join(dir, "g")
	assert.NilError(t, os.WriteFile(allowed, []byte("x"), 0o644))
	assert.NilError(t, os.WriteFile(denied, []byte("x"), 0o644))
	runChild(t, "read", "ALLOWED="+allowed, "DENIED="+denied)
}

func TestEnforceRestrictsSiblingThreads(t *testing.T) {
	denied := filepath.Join(t.TempDir(), "f")
	assert.NilError(t, os.WriteFile(denied, []byte("x"), 0o644))
	for _, threads := range []string{"all", "current"} {
		t.Run(threads, func(t *testing.T) {
			runChild(t, "threads", "DENIED="+denied, "THREADS="+threads)
		})
	}
	if abi := kernelABI(t); abi >= 8 {
		// Also the AllThreadsSyscall path, below the TSYNC ABI.
		runChild(t, "threads", "DENIED="+denied, "THREADS=all", MaxABIEnv+"=7")
	}
}

func TestCeilingChangesEnforcement(t *testing.T) {
	abi := kernelABI(t)
	for ceiling := 1; ceiling <= abi; ceiling++ {
		t.Run(fmt.Sprint(ceiling), func(t *testing.T) {
			dir := t.TempDir()
			f := filepath.Join(dir, "f")
			assert.NilError(t, os.WriteFile(f, []byte("x"), 0o644))
			runChild(t, "ceiling", "FILE="+f, fmt.Sprintf("%s=%d", MaxABIEnv, ceiling))
		})
	}
}

func TestProbeAndErrata(t *testing.T) {
	st, err := Probe()
	assert.NilError(t, err)
	if st.State != Enabled {
		_, err := ABI()
		assert.Assert(t, errors.Is(err, ErrNotSupported) || errors.Is(err, ErrDisabled))
		return
	}
	assert.Assert(t, st.ABI >= 1)
	mask, known, err := Errata()
	assert.NilError(t, err)
	if !known {
		assert.Equal(t, mask, uint64(0))
	}
}
