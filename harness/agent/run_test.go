package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

func TestBatchWriterKeepsRecordsWhole(t *testing.T) {
	var out strings.Builder
	b := newBatchWriter(&out, 10, time.Hour)
	b.Write([]byte("aaaa\n"))
	assert.Equal(t, out.String(), "", "buffered below the size")
	b.Write([]byte("bbbbbbbb\n"))
	assert.Equal(t, out.String(), "aaaa\nbbbbbbbb\n", "passed on whole once the size is reached")
	b.Write([]byte("c\n"))
	assert.NilError(t, b.Flush())
	assert.Equal(t, out.String(), "aaaa\nbbbbbbbb\nc\n")

	out.Reset()
	late := newBatchWriter(&out, 1<<20, 0)
	late.Write([]byte("x\n"))
	assert.Equal(t, out.String(), "x\n", "a write after the delay flushes")
}

// A fixture that could not be built proves nothing of the kernel: the
// case is broken with the reason, never a fail that blames the kernel.
func TestSetupFailureIsBroken(t *testing.T) {
	env := check.Env{State: landlock.Enabled, ABI: 11, Root: true}
	for name, run := range map[string]func(*check.T) string{
		"observed": func(*check.T) string { return check.SetupFailedf("socket: %s", "EAFNOSUPPORT") },
		"case dir": func(t *check.T) string {
			t.NewDir = func() (string, error) { return "", unix.ENOSPC }
			t.Dir = ""
			t.Root()
			return "EACCES"
		},
	} {
		c := check.Case{Area: "fs", Name: name, Want: func(check.Env) string { return "EACCES" }, Run: run}
		r := RunCase(c, env, time.Minute)
		assert.Equal(t, r.Verdict, results.Broken, name)
		assert.Assert(t, strings.Contains(r.Detail, "the fixture could not be built"), r.Detail)
	}
	ok := check.Case{Area: "fs", Name: "kernel answer", Want: func(check.Env) string { return "EACCES" },
		Run: func(*check.T) string { return check.OK }}
	assert.Equal(t, RunCase(ok, env, time.Minute).Verdict, results.Fail, "a wrong kernel answer stays a fail")
}
