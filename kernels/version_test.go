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
		{"6.12.107-1", "6.12.94-1", 1},
		{"7.3~rc7-1~exp1", "7.3-1", -1},
		{"7.3~rc7-1~exp1", "7.3~rc6-1~exp1", 1},
		{"6.18.15-1~bpo13+1", "6.18.9-1~bpo13+1", 1},
		{"6.18.15-1~bpo13+1", "6.18.15-1", -1},
		{"1:1.0", "2.0", 1},
		{"1.0a", "1.0", 1},
		{"1.0~", "1.0", -1},
		{"1.0+b1", "1.0", 1},
		{"5.10.237-1", "5.10.223-1", 1},
		{"001", "1", 0},
	} {
		assert.Equal(t, CompareVersions(tc.a, tc.b), tc.want, "%s vs %s", tc.a, tc.b)
		assert.Equal(t, CompareVersions(tc.b, tc.a), -tc.want, "%s vs %s", tc.b, tc.a)
	}
}
