package suites

import (
	"strconv"
	"strings"

	"github.com/llconform/llconform/suites/check"
)

// LookupRef finds a case by its Ref, running only the builder it names.
func LookupRef(ref string) (check.Case, bool) {
	n, id, ok := strings.Cut(ref, ":")
	if !ok {
		return Lookup(ref)
	}
	b, err := strconv.Atoi(n)
	built, ok := check.BuiltBy(b)
	if err != nil || !ok {
		return Lookup(id)
	}
	for _, c := range built {
		if c.ID() == id {
			return c, true
		}
	}
	return check.Case{}, false
}

// Lookup finds a case by ID. The harness's and the libraries' cases are
// made from their tables without building the kernel cases.
func Lookup(id string) (check.Case, bool) {
	var from []check.Case
	switch _, lib, isLib := strings.Cut(id, "@"); {
	case strings.HasPrefix(id, harnessArea+"/"):
		from = NoopCases()
	case isLib:
		from = LibraryCases(lib)
	default:
		from = check.All()
	}
	for _, c := range from {
		if c.ID() == id {
			return c, true
		}
	}
	return check.Case{}, false
}
