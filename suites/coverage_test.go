package suites

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/llconform/llconform/suites/check"
	"gotest.tools/v3/assert"
)

const coverageFile = "../COVERAGE.md"

// coverageTable renders COVERAGE.md from the cases' Covers.
func coverageTable() string {
	cases := map[string][]string{}
	for _, c := range check.All() {
		for _, id := range c.Covers {
			if !slices.Contains(cases[id], c.ID()) {
				cases[id] = append(cases[id], c.ID())
			}
		}
	}
	var b strings.Builder
	b.WriteString("# Coverage\n\nGenerated from the cases (`Case.Covers` in suites/); do not edit. Regenerate with\n" +
		"`LLCONFORM_WRITE_COVERAGE=1 go test ./suites -run TestCoverageTableIsCurrent`.\n" +
		"Every case runs on every kernel, as root and unprivileged; the counts are distinct cases.\n\n" +
		"| item | behaviours | cases |\n|---|---|---|\n")
	for _, it := range check.CoverageItems {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", it.ID, it.Title, len(cases[it.ID]))
	}
	mirrors := map[string][]string{}
	var fns []string
	for _, c := range check.All() {
		for _, fn := range c.Mirrors {
			if _, ok := mirrors[fn]; !ok {
				fns = append(fns, fn)
			}
			if !slices.Contains(mirrors[fn], c.ID()) {
				mirrors[fn] = append(mirrors[fn], c.ID())
			}
		}
	}
	slices.Sort(fns)
	if len(fns) > 0 {
		b.WriteString("\n## The kernel's selftests\n\nThe functions of tools/testing/selftests/landlock whose behaviour a case checks too (`Case.Mirrors`).\n\n" +
			"| selftest function | cases |\n|---|---|\n")
		for _, fn := range fns {
			fmt.Fprintf(&b, "| `%s` | %s |\n", fn, "`"+strings.Join(mirrors[fn], "`, `")+"`")
		}
	}
	for _, it := range check.CoverageItems {
		fmt.Fprintf(&b, "\n## %s %s\n\n", it.ID, it.Title)
		if len(cases[it.ID]) == 0 {
			b.WriteString("No case yet.\n")
			continue
		}
		for _, id := range cases[it.ID] {
			fmt.Fprintf(&b, "- `%s`\n", id)
		}
	}
	return b.String()
}

func TestCoverageTableIsCurrent(t *testing.T) {
	want := coverageTable()
	if os.Getenv("LLCONFORM_WRITE_COVERAGE") == "1" {
		assert.NilError(t, os.WriteFile(coverageFile, []byte(want), 0o644))
	}
	got, err := os.ReadFile(coverageFile)
	assert.NilError(t, err)
	assert.Assert(t, string(got) == want, "COVERAGE.md is stale: run LLCONFORM_WRITE_COVERAGE=1 go test ./suites -run TestCoverageTableIsCurrent")
}

func TestCasesCoverKnownItems(t *testing.T) {
	known := map[string]bool{}
	for _, it := range check.CoverageItems {
		known[it.ID] = true
	}
	for _, c := range check.All() {
		for _, id := range c.Covers {
			assert.Check(t, known[id], "%s covers unknown item %q", c.ID(), id)
		}
	}
}
