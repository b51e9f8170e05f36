package check

import (
	_ "embed"
	"strings"
)

//go:embed selftests-7.3.txt
var selftestList string

// SelftestFunctions returns the test functions of the kernel's Landlock
// selftests (Linux 7.3) as file:function, in the order of
// selftests-7.3.txt: the names Case.Mirrors may use.
func SelftestFunctions() []string {
	var out []string
	for _, l := range strings.Split(selftestList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// SelftestObservability says whether a selftest function checks audit
// records or tracepoints rather than what a sandbox may do: every
// function of audit_test.c, trace_test.c and trace_fs_test.c, and the
// functions of the other files whose fixture is an audit or trace one
// (audit, audit_layout1, scoped_audit, trace_net, ...). The others are
// the enforcement functions.
func SelftestObservability(fn string) bool {
	file, name, _ := strings.Cut(fn, ":")
	switch file {
	case "audit_test.c", "trace_test.c", "trace_fs_test.c":
		return true
	}
	fixture, _, _ := strings.Cut(name, ".")
	for _, w := range strings.Split(fixture, "_") {
		if w == "audit" || w == "trace" {
			return true
		}
	}
	return false
}
