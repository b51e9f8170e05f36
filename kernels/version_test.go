package kernels

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.9", "1.10", -1}, // numerically, not as text
		{"6.12.107-1", "6.12.94-1", 1},
		{"5.10.237-1", "5.10.223-1", 1},
		{"001", "1", 0},
		{"1.0-0", "1.0", 0}, // an absent revision is revision 0
		{"1.0-1", "1.0", 1},
		{"1.0-2", "1.0-10", -1},
		{"1.0-1.1", "1.0-1", 1},

		// Epochs trump everything.
		{"1:1.0", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"2:0.1", "10:0.1", -1},
		{"1:7.3-1", "7.3-1", 1},

		// '~' sorts before everything, even the end of the string.
		{"1.0~", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0~~a", "1.0~~", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"7.3~rc7-1~exp1", "7.3-1", -1},
		{"7.3~rc7-1~exp1", "7.3~rc6-1~exp1", 1},
		{"7.3~rc7-1~exp2", "7.3~rc7-1~exp1", 1},
		{"6.18.15-1~bpo13+1", "6.18.9-1~bpo13+1", 1},
		{"6.18.15-1~bpo13+1", "6.18.15-1", -1}, // a backport is older than the release
		{"7.0.12-2~bpo13+1", "7.0.12-1~bpo13+1", 1},

		// Letters sort before non-letters; the end sorts before any letter.
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1},
		{"1.0+b1", "1.0", 1},
		{"1.0+b1", "1.0.1", -1}, // '+' < '.'
		{"1.0a", "1.0b", -1},
		{"1.0Z", "1.0a", -1},
		{"1.0+dfsg", "1.0-1", 1}, // the upstream parts differ first

		// Digit runs longer than int64.
		{"1.123456789012345678901234567890", "1.123456789012345678901234567891", -1},
		// The revision is after the last hyphen.
		{"1.0-rc-1", "1.0-rc-2", -1},
	} {
		assert.Equal(t, CompareVersions(tc.a, tc.b), tc.want, "%s vs %s", tc.a, tc.b)
		assert.Equal(t, CompareVersions(tc.b, tc.a), -tc.want, "%s vs %s", tc.b, tc.a)
	}
}

func TestCandidateRanking(t *testing.T) {
	c := func(v string, valid bool) candidate {
		return candidate{Package{Version: v}, !PreRelease(v), valid}
	}
	for _, tc := range []struct {
		better, worse candidate
		why           string
	}{
		{c("6.18.15-1~bpo13+1", true), c("6.18.9-1~bpo13+1", true), "the higher version"},
		{c("7.3.4-1~bpo13+1", true), c("7.3~rc7-1~exp1", true), "a release beats a release candidate"},
		{c("7.3.1-1~bpo13+1", true), c("7.4~rc1-1~exp1", true), "a release beats even a newer release candidate"},
		{c("7.3.1-1~bpo13+1", true), c("7.3.4-1~bpo13+1", false), "a valid index beats an expired one"},
		{c("7.3.1-1~bpo13+1", false), c("7.3~rc7-1~exp1", true), "a release in an expired index beats a pre-release"},
	} {
		assert.Assert(t, tc.better.better(tc.worse), tc.why)
		assert.Assert(t, !tc.worse.better(tc.better), tc.why)
	}
	assert.Assert(t, PreRelease("7.3~rc7-1~exp1"))
	assert.Assert(t, !PreRelease("6.18.15-1~bpo13+1"), "~bpo is a backport revision, not a pre-release")
	assert.Assert(t, !PreRelease("7.3.4-1~bpo13+1"))
}
