package harness

import (
	"context"
	"testing"

	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

func TestMatrixKeepsPartialResultsAndChecksTheCatalog(t *testing.T) {
	seven, six := 7, 6
	targets := []Target{
		{Name: "good", ExpectedStatus: "enabled", Host: results.Env{ExpectedABI: &seven}},
		{Name: "mismatch", ExpectedStatus: "enabled", Host: results.Env{ExpectedABI: &six}},
		{Name: "crashed", ExpectedStatus: "enabled", Host: results.Env{ExpectedABI: &seven}},
	}
	boot := func(_ context.Context, tg Target, on func(results.Event)) ([]Attempt, error) {
		s := &results.Stream{Header: &results.Env{Release: tg.Name, LandlockStatus: "enabled", ABI: 7}}
		on(results.Event{Type: results.EventHeader, Env: s.Header})
		c := results.Case{Area: "fs", Name: "x", Priv: "root", Verdict: results.Pass}
		s.Cases = append(s.Cases, c)
		on(results.Event{Type: results.EventCase, Case: &c})
		if tg.Name == "crashed" {
			return []Attempt{{Stream: s, Status: "broken", Reason: "no done record"}, {Stream: s, Status: "broken", Reason: "no done record"}}, nil
		}
		s.Done = &results.Event{Type: results.EventDone, Count: 1}
		return []Attempt{{Stream: s, Status: "complete"}}, nil
	}
	var states []string
	runs := Matrix(context.Background(), targets, 2, boot, func(k, state string, _, _, _, _ int) { states = append(states, k+":"+state) })
	assert.Equal(t, len(runs), 3)

	assert.Equal(t, runs[0].Status, "complete")
	assert.Equal(t, runs[0].Cases[len(runs[0].Cases)-1].Verdict, results.Pass)

	last := runs[1].Cases[len(runs[1].Cases)-1]
	assert.Equal(t, last.Verdict, results.Fail)
	assert.Equal(t, last.Expected, "enabled ABI 6")
	assert.Equal(t, last.Observed, "enabled ABI 7")
	assert.Equal(t, len(runs[1].Flags), 1)

	assert.Equal(t, runs[2].Status, "broken")
	assert.Equal(t, len(runs[2].Attempts), 2)
	assert.Equal(t, runs[2].Cases[0].Name, "x", "partial results are kept")
	assert.Assert(t, len(states) >= 6)
}
