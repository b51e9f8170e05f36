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
	b.WriteString(selftestGaps(mirrors))
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

// selftestGaps renders the selftest functions (check.SelftestFunctions)
// per file: how many a case mirrors, overall and for the enforcement
// functions (not audit or trace), and the names of those no case mirrors.
func selftestGaps(mirrors map[string][]string) string {
	type count struct{ covered, total, enfCovered, enfTotal int }
	var files []string
	per := map[string]*count{}
	missing := map[string][]string{}
	var all count
	for _, fn := range check.SelftestFunctions() {
		file, _, _ := strings.Cut(fn, ":")
		if per[file] == nil {
			per[file] = &count{}
			files = append(files, file)
		}
		covered := len(mirrors[fn]) > 0
		enf := !check.SelftestObservability(fn)
		for _, c := range []*count{per[file], &all} {
			c.total++
			if covered {
				c.covered++
			}
			if enf {
				c.enfTotal++
				if covered {
					c.enfCovered++
				}
			}
		}
		if !covered {
			missing[file] = append(missing[file], fn)
		}
	}
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%d / %d (%d %%)", a, b, 100*a/b)
	}
	var b strings.Builder
	b.WriteString("\n## Selftest functions with a case\n\nThe test functions of the Linux 7.3 selftests (suites/check/selftests-7.3.txt) that a case mirrors. " +
		"Enforcement functions are all but the audit and trace ones (audit_test.c, trace_test.c, trace_fs_test.c and the audit and trace fixtures of the other files).\n\n" +
		"| selftest file | functions with a case | enforcement functions with a case |\n|---|---|---|\n")
	for _, f := range files {
		c := per[f]
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f, pct(c.covered, c.total), pct(c.enfCovered, c.enfTotal))
	}
	fmt.Fprintf(&b, "| **all** | **%s** | **%s** |\n", pct(all.covered, all.total), pct(all.enfCovered, all.enfTotal))
	b.WriteString("\n## Selftest functions without a case\n")
	for _, f := range files {
		if len(missing[f]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s (%d of %d)\n\n", f, len(missing[f]), per[f].total)
		for _, fn := range missing[f] {
			mark := ""
			if check.SelftestObservability(fn) {
				mark = " (audit or trace)"
			}
			fmt.Fprintf(&b, "- `%s`%s\n", fn, mark)
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

// TestMirrorsNameSelftestFunctions is the typo guard of Case.Mirrors: a
// name must be one of the selftest functions.
func TestMirrorsNameSelftestFunctions(t *testing.T) {
	known := map[string]bool{}
	for _, fn := range check.SelftestFunctions() {
		assert.Check(t, !known[fn], "selftests-7.3.txt lists %s twice", fn)
		known[fn] = true
	}
	assert.Equal(t, len(known), 290)
	enf := 0
	for fn := range known {
		if !check.SelftestObservability(fn) {
			enf++
		}
	}
	assert.Equal(t, enf, 179, "enforcement functions")
	for _, c := range check.All() {
		for _, fn := range c.Mirrors {
			assert.Check(t, known[fn], "%s mirrors %q, which is no selftest function of selftests-7.3.txt", c.ID(), fn)
		}
	}
}

// TestAuditedMirrorsReachTheirCases: every case auditedMirrors names is
// registered, through mirrored, and carries the function.
func TestAuditedMirrorsReachTheirCases(t *testing.T) {
	byID := map[string]check.Case{}
	for _, c := range check.All() {
		byID[c.ID()] = c
	}
	for _, a := range auditedMirrors {
		for _, id := range a.cases {
			c, ok := byID[id]
			if !assert.Check(t, ok, "auditedMirrors: %s names %s, which is no case", a.fn, id) {
				continue
			}
			assert.Check(t, slices.Contains(c.Mirrors, a.fn), "%s is registered without mirrored: it lacks %s", id, a.fn)
		}
	}
}
