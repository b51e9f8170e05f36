package check

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
)

// judge is the verdict the agent gives an observation (agent/run.go):
// pass when it matches the expectation, else the kind of the deviation it
// matches, else fail.
func judge(c Case, e Env, observed string) string {
	if Matches(c.Want(e), observed) {
		return "pass"
	}
	if d, ok := c.Deviation(e, observed); ok {
		return string(d.Kind)
	}
	return "fail"
}

func TestParseRelease(t *testing.T) {
	for s, want := range map[string]Release{
		"7.3.4-amd64":          {7, 3, false},
		"6.1.0-41-cloud-amd64": {6, 1, false},
		"7.2.0-rc3":            {7, 2, true},
		"5.19":                 {5, 19, false},
		"6.18.44-fc-v1300":     {6, 18, false},
	} {
		r, ok := ParseRelease(s)
		assert.Assert(t, ok, s)
		assert.Equal(t, r, want, s)
	}
	for _, s := range []string{"", "unknown", "v7.3"} {
		_, ok := ParseRelease(s)
		assert.Assert(t, !ok, s)
	}
}

// A catalogued fix without an erratum bit: fail at or after its mainline
// release, warn before it (release candidates of it included) and where
// the release cannot be read; a CVE fix fails everywhere.
func TestFixVerdictFollowsTheRelease(t *testing.T) {
	f := fix{What: "made-up fix", Ref: "test", Since: "7.2", absent: Warn}
	c := Case{Want: func(Env) string { return OK }, Deviate: f.Without("EACCES")}
	env := func(release string) Env {
		return Env{State: landlock.Enabled, ABI: 10, Release: release}
	}
	for release, want := range map[string]string{
		"7.3.4-amd64": "fail",
		"7.2.0-1":     "fail",
		"8.0.0":       "fail",
		"7.2.0-rc7":   "warn",
		"7.1.9-amd64": "warn",
		"6.12.57":     "warn",
		"":            "warn",
		"garbage":     "warn",
	} {
		assert.Equal(t, judge(c, env(release), "EACCES"), want, "release %q", release)
		assert.Equal(t, judge(c, env(release), OK), "pass", "release %q", release)
	}
	d, _ := c.Deviation(env(""), "EACCES")
	assert.Assert(t, contains(d.Why, "cannot be read"), d.Why)
	d, _ = c.Deviation(env("7.1.9"), "EACCES")
	assert.Assert(t, contains(d.Why, "predates"), d.Why)

	cve := Case{Want: func(Env) string { return OK }, Deviate: FixCredTransfer.Without("EACCES")}
	assert.Equal(t, judge(cve, env("6.1.0"), "EACCES"), "fail")
}

// Every catalogued fix names the mainline release that carries it.
func TestFixesHaveMainlineReleases(t *testing.T) {
	for _, f := range fixes {
		_, ok := ParseRelease(f.Since)
		assert.Assert(t, ok, "%s: Since %q", f.What, f.Since)
		assert.Assert(t, f.Ref != "", f.What)
	}
}

// An erratum case: the fixed outcome passes where the mask has the bit
// and fails where the mask (read) lacks it; the unfixed one is known
// where the mask lacks the bit or cannot be read, and fails where the
// mask has it.
func TestErratumVerdictFollowsTheMask(t *testing.T) {
	c := maskBound(Case{Want: func(Env) string { return OK }, Deviate: UnfixedErratum(4, "EACCES|EXDEV")})
	with := Env{State: landlock.Enabled, ABI: 6, ErrataKnown: true, Errata: 1 << 3}
	without := Env{State: landlock.Enabled, ABI: 6, ErrataKnown: true, Errata: 1<<0 | 1<<1}
	noInterface := Env{State: landlock.Enabled, ABI: 6}

	assert.Equal(t, judge(c, with, OK), "pass")
	assert.Equal(t, judge(c, with, "EACCES"), "fail")

	assert.Equal(t, judge(c, without, OK), "fail")
	assert.Equal(t, judge(c, without, "EACCES"), "known")
	assert.Equal(t, judge(c, without, "EXDEV"), "known")
	assert.Equal(t, c.Want(without), "EACCES or EXDEV (the errata mask lacks erratum 4)")

	assert.Equal(t, judge(c, noInterface, OK), "pass")
	assert.Equal(t, judge(c, noInterface, "EACCES"), "known")

	// A kernel without the feature of the erratum: nothing to judge.
	old := Env{State: landlock.Enabled, ABI: 6, ErrataKnown: true}
	net := maskBound(Case{Want: func(Env) string { return OK }, Deviate: UnfixedErratum(1, "EACCES")})
	old.ABI = 3
	assert.Equal(t, judge(net, old, OK), "pass")

	// Other deviations do not bind the expectation to the mask.
	f := fix{What: "made-up fix", Ref: "test", Since: "9.0", absent: Warn}
	other := maskBound(Case{Want: func(Env) string { return OK }, Deviate: f.Without("EACCES")})
	assert.Equal(t, judge(other, without, OK), "pass")
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A row whose fixed outcome is one of the unfixed ones cannot tell the
// states apart: it keeps its expectation whatever the mask says.
func TestErratumRowThatCannotTellKeepsItsExpectation(t *testing.T) {
	c := maskBound(Case{Want: func(Env) string { return OK }, Deviate: UnfixedErratum(4, "EACCES|ok")})
	without := Env{State: landlock.Enabled, ABI: 6, ErrataKnown: true}
	assert.Equal(t, judge(c, without, OK), "pass")
	assert.Equal(t, judge(c, without, "EACCES"), "known")
}
