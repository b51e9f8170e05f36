package suites

import (
	"strconv"
	"strings"
)

// LookupRef finds a case by its Ref, running only the builder it names.
func LookupRef(ref string) (Case, bool) {
	n, id, ok := strings.Cut(ref, ":")
	if !ok {
		return Lookup(ref)
	}
	b, err := strconv.Atoi(n)
	if err != nil || b < 1 || b > len(builders) {
		return Lookup(id)
	}
	for _, c := range runBuilder(b - 1) {
		if c.ID() == id {
			return c, true
		}
	}
	return Case{}, false
}

// Lookup finds a case by ID. The harness's and the libraries' cases are
// made from their tables without building the kernel cases.
func Lookup(id string) (Case, bool) {
	var from []Case
	switch _, lib, isLib := strings.Cut(id, "@"); {
	case strings.HasPrefix(id, harnessArea+"/"):
		from = NoopCases()
	case isLib:
		from = LibraryCases(lib)
	default:
		buildAll()
		from = registry
	}
	for _, c := range from {
		if c.ID() == id {
			return c, true
		}
	}
	return Case{}, false
}
