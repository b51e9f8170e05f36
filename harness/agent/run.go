package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
)

func priv(env check.Env) string {
	if env.Root {
		return "root"
	}
	return "unpriv"
}

// RunCase runs one case in its isolation and judges it.
func RunCase(c check.Case, env check.Env, timeout time.Duration) results.Case {
	r := results.Case{Area: c.Area, Name: c.Name, Priv: priv(env)}
	r.Library = libraryOf(c)
	if c.Skip != nil {
		if why := c.Skip(env); why != "" {
			r.Verdict, r.Detail = results.Skip, why
			return r
		}
	}
	r.Expected = c.Want(env)
	start := time.Now()
	var o outcome
	if c.Isolation == check.Process {
		o = runInChild(c, env, timeout)
	} else {
		o = runOnThread(c, env, timeout, "")
	}
	r.DurationUS = time.Since(start).Microseconds()
	r.Observed, r.Detail = o.Observed, o.Detail
	switch {
	case o.Broken != "":
		r.Verdict = results.Broken
		r.Detail = strings.TrimPrefix(o.Broken+"; "+o.Detail, "; ")
	case check.Matches(r.Expected, r.Observed):
		r.Verdict = results.Pass
	default:
		r.Verdict = results.Fail
		if d, ok := c.Deviation(env, r.Observed); ok {
			r.Verdict = deviationVerdict[d.Kind]
			r.Detail = strings.TrimSuffix(d.Why+"; "+r.Detail, "; ")
		}
	}
	return r
}

var deviationVerdict = map[check.DeviationKind]results.Verdict{check.Known: results.Known, check.Warn: results.Warn}

// outcome is what a case run returns, also across the process boundary.
type outcome struct {
	Observed string `json:"observed"`
	Detail   string `json:"detail,omitempty"`
	Broken   string `json:"broken,omitempty"`
}

// runOnThread runs the case on a new OS thread that is locked for its whole
// life and so dies with the goroutine, taking its Landlock domain along.
func runOnThread(c check.Case, env check.Env, timeout time.Duration, dir string) outcome {
	t := &check.T{Env: env, Dir: dir}
	if dir == "" {
		t.NewDir = newCaseDir // made on first use
	}
	done := make(chan outcome, 1)
	go func() {
		fixture.LockThread() // never unlocked: the thread exits with us
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{Broken: fmt.Sprintf("panic: %v", p), Detail: t.Detail()}
			}
		}()
		obs := c.Execute(t)
		o := outcome{Observed: obs, Detail: t.Detail()}
		if why, ok := check.SetupFailure(obs, t); ok {
			// The kernel was not asked: the case shows nothing of it.
			o.Broken = "the fixture could not be built: " + why
		}
		done <- o
	}()
	// A stopped timer, not time.After: with the collector off (tuneGC)
	// every case's timer would otherwise stay queued until it fires.
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case o := <-done:
		if dir == "" && t.Dir != "" {
			removeCaseDir(t.Dir) // on this unrestricted thread
		}
		return o
	case <-timer.C:
		return outcome{Broken: fmt.Sprintf("timed out after %v", timeout)}
	}
}

// The roles of the agent's own children (internal/role).
const (
	caseRole   = "LLCONFORM_CASE"        // one process-isolated case: a caseSpec
	unprivRole = "LLCONFORM_UNPRIV_PASS" // the unprivileged pass: its protocol.Settings
)

// caseSpec is what a process-isolated case's child is given.
type caseSpec struct {
	Ref string    `json:"ref"` // suites.Case.Ref
	Env check.Env `json:"env"`
	Dir string    `json:"dir"` // the case directory, owned by the parent
}

func init() {
	role.Register(caseRole, caseMain)
	role.Register(unprivRole, unprivMain)
}

// runInChild re-executes this binary to run one case in a fresh process.
func runInChild(c check.Case, env check.Env, timeout time.Duration) outcome {
	self, err := os.Executable()
	if err != nil {
		return outcome{Broken: "cannot find this executable: " + err.Error()}
	}
	// The parent owns the case directory: the child may chroot or mount
	// over parts of it and could not clean it up.
	dir, err := newCaseDir()
	if err != nil {
		return outcome{Broken: err.Error()}
	}
	defer removeCaseDir(dir)
	spec, _ := json.Marshal(caseSpec{Ref: c.Ref(), Env: env, Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = role.Environ(os.Environ(), caseRole, string(spec))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var o outcome
	if jerr := json.Unmarshal(out, &o); jerr != nil || err != nil {
		why := fmt.Sprintf("child process failed: %v", err)
		if ctx.Err() != nil {
			why = fmt.Sprintf("timed out after %v", timeout)
		}
		return outcome{Broken: why, Detail: tail(stderr.String()+string(out), 400)}
	}
	return o
}

// keepCaseDirs leaves case directories in place: set in the VM, whose
// /tmp is a tmpfs that dies with the guest, where removing a directory
// costs about as much as making it (0.35-0.64 ms under TCG).
var keepCaseDirs = os.Getpid() == 1 || os.Getenv(keepDirsEnv) == "1"

// keepDirsEnv passes keepCaseDirs on to the agent's children.
const keepDirsEnv = "LLCONFORM_KEEP_CASE_DIRS"

func removeCaseDir(dir string) {
	if !keepCaseDirs {
		os.RemoveAll(dir)
	}
}

func newCaseDir() (string, error) {
	dir, err := os.MkdirTemp("", "llconform-case-")
	if err != nil {
		return "", fmt.Errorf("cannot create the case directory: %w", err)
	}
	return dir, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// caseMain runs one case in this fresh process and prints its outcome.
func caseMain(value string) int {
	var spec caseSpec
	if err := json.Unmarshal([]byte(value), &spec); err != nil {
		return fatalChild(err)
	}
	c, ok := suites.LookupRef(spec.Ref)
	if !ok {
		return fatalChild(fmt.Errorf("no case %q", spec.Ref))
	}
	c.Isolation = check.Thread // already in a fresh process
	o := runOnThread(c, spec.Env, time.Hour, spec.Dir)
	json.NewEncoder(os.Stdout).Encode(o)
	return 0
}

// unprivMain runs the unprivileged pass and streams its records.
func unprivMain(settings string) int {
	var s protocol.Settings
	if err := json.Unmarshal([]byte(settings), &s); err != nil {
		return fatalChild(err)
	}
	p, err := newPlan(s)
	if err != nil {
		return fatalChild(err)
	}
	// Records are batched on their way to the parent: one pipe write
	// (and process switch, which under TCG flushes the emulated TLB)
	// per record made this pass cost about twice the root pass.
	out := newBatchWriter(os.Stdout, 32<<10, 250*time.Millisecond)
	err = p.runPass(protocol.NewStreamWriter(out))
	out.Flush()
	if err != nil {
		return fatalChild(err)
	}
	return 0
}

func fatalChild(err error) int {
	fmt.Fprintln(os.Stderr, "llconform child:", err)
	return 3
}

// batchWriter buffers writes and passes them on when the buffer is full
// or a write comes after the delay since the last flush (a record is
// never split: each Write is whole).
type batchWriter struct {
	w     io.Writer
	buf   []byte
	size  int
	delay time.Duration
	last  time.Time
}

func newBatchWriter(w io.Writer, size int, delay time.Duration) *batchWriter {
	return &batchWriter{w: w, size: size, delay: delay, last: time.Now()}
}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.size || time.Since(b.last) >= b.delay {
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush passes on what is buffered.
func (b *batchWriter) Flush() error {
	b.last = time.Now()
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}
