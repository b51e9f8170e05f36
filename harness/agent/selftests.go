package agent

// The agent's peer mode (protocol.Settings.Selftests): instead of the
// suites it runs the kernel's own Landlock selftests, which the host put
// in protocol.SelftestsDir (peers/selftests), and streams one result per
// test, so that `llconform bench` times both on the same boot machinery.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
)

// selftestTimeout bounds one selftest program: the kselftest runner
// gives each 45 s; under TCG the longest (fs_test) needs more room.
const selftestTimeout = 3 * time.Minute

// Selftests streams the header, a result per test of every *_test
// program in dir/landlock, in name order, and the done record.
func Selftests(dir string, w *protocol.StreamWriter) error {
	_, hdr, err := DetectEnv(0)
	if err != nil {
		w.Done(err.Error())
		return err
	}
	if err := w.Header(hdr); err != nil {
		return err
	}
	err = installBusybox(filepath.Join(dir, "busybox"))
	var progs []string
	if err == nil {
		progs, err = selftestPrograms(filepath.Join(dir, "landlock"))
	}
	for _, p := range progs {
		if err = runSelftest(filepath.Join(dir, "landlock"), p, selftestTimeout, w); err != nil {
			break
		}
	}
	return finish(w, err)
}

// selftestPath is the PATH of the selftests: where installBusybox puts
// its commands.
var selftestPath = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// installBusybox gives the guest the commands the selftests call (sh for
// system(), ip) as busybox's links in the usual directories, whose /usr
// the trace tests also use as a path that exists.
func installBusybox(busybox string) error {
	for _, d := range selftestPath {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if b, err := exec.Command(busybox, "--install", "-s").CombinedOutput(); err != nil {
		return fmt.Errorf("%s --install -s: %v: %s", busybox, err, tail(string(b), 300))
	}
	return nil
}

// selftestPrograms are the test programs in dir; the helpers they
// execute (true, wait-pipe, ...) lie beside them.
func selftestPrograms(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("the selftests: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), "_test") {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *_test program in %s", dir)
	}
	slices.Sort(out)
	return out, nil
}

// runSelftest runs one program as this (root) process from dir, where it
// finds its helpers as ./true and so on, and streams its results as they
// come. Only a failure to send a record is returned: a program that fails
// to start, crashes or times out is a broken result.
func runSelftest(dir, prog string, timeout time.Duration, w *protocol.StreamWriter) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./"+prog)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+strings.Join(selftestPath, ":"))
	// Its own process group: a timeout kills the tests' children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child that escaped the group and holds the output open does not
	// keep the run waiting past the program's end.
	cmd.WaitDelay = 2 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	tap := &tapRun{prog: prog, last: start}
	parsed := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		var err error
		for sc.Scan() {
			if c, ok := tap.line(sc.Text(), time.Now()); ok && err == nil {
				err = w.Case(c)
			}
		}
		pr.Close() // a program still writing gets EPIPE, never blocks
		parsed <- err
	}()
	runErr := cmd.Run()
	pw.Close()
	if err := <-parsed; err != nil {
		return err
	}
	if ctx.Err() != nil {
		runErr = fmt.Errorf("timed out after %v (killed)", timeout)
	}
	if c, ok := tap.end(runErr, time.Since(start)); ok {
		return w.Case(c)
	}
	return nil
}

// tapRun reads the KTAP output of one kselftest program: a plan "1..N",
// "ok N name", "not ok N name", with a directive after " # " (SKIP,
// XFAIL, XPASS), and diagnostic lines starting with "#" in between.
type tapRun struct {
	prog    string
	sawPlan bool
	planned int
	seen    int
	since   []string  // the lines since the last result, for a failure's detail
	last    time.Time // of the last result, or the start
}

var (
	tapPlan   = regexp.MustCompile(`^1\.\.(\d+)`)
	tapResult = regexp.MustCompile(`^(not ok|ok) \d+ (.*)$`)
)

// detailMax bounds the output kept with a failing test: its last lines.
const detailMax = 600

// line takes one line of output, read at now, and returns the result it
// reports, if any; its duration is the time since the one before.
func (t *tapRun) line(l string, now time.Time) (results.Case, bool) {
	l = strings.TrimRight(l, "\r")
	if m := tapPlan.FindStringSubmatch(l); m != nil && !t.sawPlan {
		t.planned, _ = strconv.Atoi(m[1])
		t.sawPlan = true
		return results.Case{}, false
	}
	m := tapResult.FindStringSubmatch(l)
	if m == nil {
		t.since = append(t.since, l)
		return results.Case{}, false
	}
	t.seen++
	name, directive, _ := strings.Cut(m[2], " # ")
	directive = strings.TrimSpace(directive)
	c := results.Case{Area: "selftests", Name: t.prog + "/" + strings.TrimSpace(name), Priv: "root", DurationUS: now.Sub(t.last).Microseconds()}
	t.last = now
	word, reason, _ := strings.Cut(directive, " ")
	switch {
	case m[1] == "ok" && word == "SKIP":
		c.Verdict, c.Detail = results.Skip, strings.TrimSpace(reason)
	case m[1] == "ok" && word == "XPASS":
		c.Verdict, c.Detail = results.Fail, "XPASS (passed, expected to fail): "+t.tail()
	case m[1] == "ok":
		c.Verdict, c.Detail = results.Pass, directive
	default:
		c.Verdict, c.Detail = results.Fail, t.tail()
	}
	t.since = t.since[:0]
	return c, true
}

// tail is the end of the output since the last result.
func (t *tapRun) tail() string {
	return tail(strings.Join(t.since, "\n"), detailMax)
}

// end judges the program's exit: the plan must be complete, else the
// missing tests are one broken result.
func (t *tapRun) end(runErr error, took time.Duration) (results.Case, bool) {
	if t.sawPlan && t.seen >= t.planned {
		return results.Case{}, false
	}
	how := "exited"
	if runErr != nil {
		how = runErr.Error()
	}
	plan := "no plan"
	if t.sawPlan {
		plan = fmt.Sprintf("%d of %d tests reported", t.seen, t.planned)
	}
	return results.Case{Area: "selftests", Name: t.prog, Priv: "root", Verdict: results.Broken, DurationUS: took.Microseconds(),
		Detail: fmt.Sprintf("%s after %v with %s: %s", how, took.Round(time.Millisecond), plan, t.tail())}, true
}
