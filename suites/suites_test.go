package suites_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

func TestMain(m *testing.M) {
	role.Run()
	os.Exit(m.Run())
}

// check fails the test for a fail or broken verdict, naming the expected
// and observed outcomes; skips carry their environment reason; known and
// warn are this kernel's documented deviations, logged.
func check(t *testing.T, r results.Case) {
	t.Helper()
	switch r.Verdict {
	case results.Skip:
		t.Skip(r.Detail)
	case results.Pass, results.Known, results.Warn:
		t.Logf("%s: expected %s, observed %s (%s)", r.Verdict, r.Expected, r.Observed, r.Detail)
	default:
		t.Errorf("%s %s/%s [%s]: expected %s, observed %s; %s", r.Verdict, r.Area, r.Name, r.Priv, r.Expected, r.Observed, r.Detail)
	}
}

// TestCases runs every case natively on this kernel, one subtest each.
func TestCases(t *testing.T) {
	env, _, err := agent.DetectEnv(0)
	assert.NilError(t, err)
	for _, c := range agent.AllCases(nil) {
		t.Run(c.ID(), func(t *testing.T) { check(t, agent.RunCase(c, env, 20*time.Second)) })
	}
}

// TestCasesUnprivileged runs the unprivileged pass (root re-executes the
// test binary as nobody) and checks each of its results.
func TestCasesUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the unprivileged pass is started by root; TestCases already runs unprivileged here")
	}
	var buf bytes.Buffer
	w := protocol.NewStreamWriter(&buf)
	assert.NilError(t, agent.Suite(protocol.Settings{}, w, true))
	s, err := protocol.ReadStream(&buf)
	assert.NilError(t, err)
	ok, why := s.Complete()
	assert.Assert(t, ok, why)
	n := 0
	for _, r := range s.Cases {
		if r.Priv != "unpriv" {
			continue
		}
		n++
		t.Run(r.Area+"/"+r.Name, func(t *testing.T) { check(t, r) })
	}
	env, _, err := agent.DetectEnv(0)
	assert.NilError(t, err)
	env.Root = false
	planned, _, err := agent.Planned(protocol.Settings{}, env)
	assert.NilError(t, err)
	assert.Equal(t, n, len(planned), "every planned case must have an unprivileged result")
}
