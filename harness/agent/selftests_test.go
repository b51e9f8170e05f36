package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// feed gives the lines to a tapRun one second apart and returns the
// results they report.
func feed(t *tapRun, out string) []results.Case {
	var got []results.Case
	now := t.last
	for _, l := range strings.Split(out, "\n") {
		now = now.Add(time.Second)
		if c, ok := t.line(l, now); ok {
			got = append(got, c)
		}
	}
	return got
}

// The kselftest harness's output: each verdict becomes a result named by
// program and test, a failure keeps the lines that led to it, a skip its
// reason, and a complete plan ends without a broken result.
func TestTAPVerdicts(t *testing.T) {
	tap := &tapRun{prog: "base_test", last: time.Unix(0, 0)}
	got := feed(tap, `TAP version 13
1..5
# Starting 5 tests from 2 test cases.
#  RUN           global.abi_version ...
#            OK  global.abi_version
ok 1 global.abi_version
#  RUN           layout1.no_restriction ...
# fs_test.c:90:no_restriction:Expected 0 (0) == err (-13)
#          FAIL  layout1.no_restriction
not ok 2 layout1.no_restriction
#  RUN           layout3_fs.hostfs.tag_inode_file ...
#      SKIP      this filesystem is not supported (setup)
ok 3 layout3_fs.hostfs.tag_inode_file # SKIP this filesystem is not supported (setup)
ok 4 global.expected # XFAIL known
ok 5 global.lucky # XPASS
# FAILED: 3 / 5 tests passed.`)
	assert.Equal(t, len(got), 5)
	want := []struct {
		name    string
		verdict results.Verdict
	}{{"base_test/global.abi_version", results.Pass}, {"base_test/layout1.no_restriction", results.Fail},
		{"base_test/layout3_fs.hostfs.tag_inode_file", results.Skip}, {"base_test/global.expected", results.Pass}, {"base_test/global.lucky", results.Fail}}
	for i, w := range want {
		assert.Equal(t, got[i].Area, "selftests")
		assert.Equal(t, got[i].Name, w.name)
		assert.Equal(t, got[i].Verdict, w.verdict, w.name)
		assert.Equal(t, got[i].Priv, "root")
	}
	assert.Assert(t, strings.Contains(got[1].Detail, "Expected 0 (0) == err (-13)"), got[1].Detail)
	assert.Assert(t, !strings.Contains(got[1].Detail, "abi_version"), "only the lines since the last result: %s", got[1].Detail)
	assert.Equal(t, got[2].Detail, "this filesystem is not supported (setup)")
	assert.Equal(t, got[3].Detail, "XFAIL known")
	assert.Equal(t, got[0].DurationUS, int64(6e6), "since the start: six lines")
	assert.Equal(t, got[1].DurationUS, int64(4e6), "since the result before")
	_, broken := tap.end(nil, time.Second)
	assert.Assert(t, !broken)
}

// A program that ends before its plan is complete, or before it printed
// one, leaves one broken result with how it ended and its last output.
func TestTAPIncomplete(t *testing.T) {
	tap := &tapRun{prog: "fs_test", last: time.Unix(0, 0)}
	feed(tap, "1..3\nok 1 a.b\n#  RUN           a.c ...\n# about to crash")
	c, broken := tap.end(errors.New("signal: segmentation fault"), 2*time.Second)
	assert.Assert(t, broken)
	assert.Equal(t, c.Name, "fs_test")
	assert.Equal(t, c.Verdict, results.Broken)
	assert.Assert(t, strings.Contains(c.Detail, "signal: segmentation fault after 2s with 1 of 3 tests reported"), c.Detail)
	assert.Assert(t, strings.Contains(c.Detail, "about to crash"), c.Detail)

	tap = &tapRun{prog: "net_test"}
	feed(tap, "error while loading")
	c, broken = tap.end(nil, time.Second)
	assert.Assert(t, broken)
	assert.Assert(t, strings.Contains(c.Detail, "exited after 1s with no plan: error while loading"), c.Detail)
}

func script(t *testing.T, dir, name, body string) {
	assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755))
}

func records(t *testing.T, b *bytes.Buffer) []results.Case {
	s, err := protocol.ReadStream(strings.NewReader("{\"type\":\"header\",\"env\":{}}\n" + b.String()))
	assert.NilError(t, err)
	return s.Cases
}

// A program runs from its directory (it executes its helpers as ./true),
// its results stream as it prints them, and one that outlives its
// timeout is killed with its children and reported broken.
func TestRunSelftest(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "true", "exit 0\n")
	script(t, dir, "good_test", "echo 1..2\n./true && echo ok 1 x.helper\necho '# to stderr' >&2\necho not ok 2 x.fails\nexit 1\n")
	var b bytes.Buffer
	assert.NilError(t, runSelftest(dir, "good_test", time.Minute, protocol.NewStreamWriter(&b)))
	got := records(t, &b)
	assert.Equal(t, len(got), 2, b.String())
	assert.Equal(t, got[0].Name, "good_test/x.helper")
	assert.Equal(t, got[0].Verdict, results.Pass)
	assert.Equal(t, got[1].Verdict, results.Fail)
	assert.Assert(t, strings.Contains(got[1].Detail, "# to stderr"), "stderr is part of the detail: %q", got[1].Detail)

	// The child keeps the output open: it must die with the program.
	script(t, dir, "hang_test", "echo 1..2\necho ok 1 y.first\nsleep 600 &\necho $! >child\nsleep 600\n")
	b.Reset()
	start := time.Now()
	assert.NilError(t, runSelftest(dir, "hang_test", 500*time.Millisecond, protocol.NewStreamWriter(&b)))
	assert.Assert(t, time.Since(start) < 30*time.Second, "killed at its timeout, not after its children")
	got = records(t, &b)
	assert.Equal(t, len(got), 2, b.String())
	assert.Equal(t, got[0].Verdict, results.Pass)
	assert.Equal(t, got[1].Name, "hang_test")
	assert.Equal(t, got[1].Verdict, results.Broken)
	assert.Assert(t, strings.Contains(got[1].Detail, "timed out after 500ms"), got[1].Detail)
	pid, err := os.ReadFile(filepath.Join(dir, "child"))
	assert.NilError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	assert.NilError(t, err)
	assert.Assert(t, exits(t, n), "the program's child %d still runs", n)
}

// exits reports whether the process ends within 10 s (the SIGKILL sent
// to its group takes effect asynchronously): a pidfd becomes readable
// when its process exits, whoever its parent is.
func exits(t *testing.T, pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return true
	}
	assert.NilError(t, err)
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10000)
	assert.NilError(t, err)
	return n == 1
}
