package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/llconform/llconform/suites/check"
	"gotest.tools/v3/assert"
)

// The TCP layer rows run on both families, and the listing finds where
// each is written: a file:line that holds the row's name.
func TestCasesListsBothFamiliesAndTheirRows(t *testing.T) {
	cases, err := selectCases(selection{run: "^tcp/.*layers/3_layers/connect_denied_by_last$"})
	assert.NilError(t, err)
	var ids []string
	for _, c := range cases {
		ids = append(ids, c.ID())
		row := check.RowSource(c)
		file, line, ok := strings.Cut(row, ":")
		assert.Assert(t, ok, "%s: no row found (%q)", c.ID(), row)
		b, err := os.ReadFile("../../" + file)
		assert.NilError(t, err)
		n, _ := strconv.Atoi(line)
		assert.Assert(t, strings.Contains(strings.Split(string(b), "\n")[n-1], `"3_layers/connect_denied_by_last"`), row)
	}
	assert.DeepEqual(t, ids, []string{"tcp/ipv4/layers/3_layers/connect_denied_by_last", "tcp/ipv6/layers/3_layers/connect_denied_by_last"})
}

// --explain shows the ABI boundary of the network rights, and folds the
// kernel states that expect the same.
func TestCasesExplainShowsTheABIBoundary(t *testing.T) {
	cases, err := selectCases(selection{run: "^tcp/ipv6/layers/3_layers/connect_denied_by_last$"})
	assert.NilError(t, err)
	assert.Equal(t, len(cases), 1)
	var got []string
	for _, x := range check.Explain(cases[0]) {
		got = append(got, x.States+"="+x.Want)
	}
	assert.DeepEqual(t, got, []string{"absent to ABI 3=ok", "ABI 4-11=EACCES"})
}
