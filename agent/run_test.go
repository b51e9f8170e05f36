package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites"
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
	env := suites.Env{State: landlock.Enabled, ABI: 11, Root: true}
	for name, run := range map[string]func(*suites.T) string{
		"observed": func(*suites.T) string { return suites.SetupFailedf("socket: %s", "EAFNOSUPPORT") },
		"case dir": func(t *suites.T) string {
			t.NewDir = func() (string, error) { return "", unix.ENOSPC }
			t.Dir = ""
			t.Root()
			return "EACCES"
		},
	} {
		c := suites.Case{Area: "fs", Name: name, Want: func(suites.Env) string { return "EACCES" }, Run: run}
		r := RunCase(c, env, time.Minute)
		assert.Equal(t, r.Verdict, results.Broken, name)
		assert.Assert(t, strings.Contains(r.Detail, "the fixture could not be built"), r.Detail)
	}
	ok := suites.Case{Area: "fs", Name: "kernel answer", Want: func(suites.Env) string { return "EACCES" },
		Run: func(*suites.T) string { return suites.OK }}
	assert.Equal(t, RunCase(ok, env, time.Minute).Verdict, results.Fail, "a wrong kernel answer stays a fail")
}
