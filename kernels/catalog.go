// Package kernels knows which kernels to test and where they come from:
// the embedded default catalog, Debian's signed package index (resolve,
// download, verify, extract, cache), and kernels users bring themselves.
// It knows nothing of Landlock beyond the state each entry should report.
package kernels

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/llconform/llconform/landlock"
)

// Entry is one row of the catalog: a kernel series in one or more Debian
// suites. It resolves to the newest released package across its suites,
// or to a pre-release when none has a release (see Fetcher.Resolve).
type Entry struct {
	Name    string         `json:"name"`
	Suites  []string       `json:"suites"`  // Debian suites (dists/<suite>) that carry the series
	Package string         `json:"package"` // regexp on the binary package name
	Cmdline string         `json:"cmdline,omitempty"`
	Status  landlock.State `json:"status"` // expected Landlock state
	ABI     int            `json:"abi"`    // expected ABI; 0 unless enabled
	Note    string         `json:"note,omitempty"`
}

//go:embed catalog.json
var catalogJSON []byte

var catalog = mustCatalog(catalogJSON)

// mustCatalog parses and checks the embedded catalog; a broken catalog is
// a build mistake, so it fails at start-up rather than in the middle of a run.
func mustCatalog(data []byte) []Entry {
	var es []Entry
	if err := json.Unmarshal(data, &es); err != nil {
		panic(fmt.Sprintf("kernels: embedded catalog: %v", err))
	}
	seen := map[string]bool{}
	for _, e := range es {
		if err := e.check(); err != nil {
			panic("kernels: embedded catalog: " + err.Error())
		}
		if seen[e.Name] {
			panic("kernels: embedded catalog: duplicate " + e.Name)
		}
		seen[e.Name] = true
	}
	return es
}

func (e Entry) check() error {
	if e.Name == "" || len(e.Suites) == 0 || slices.Contains(e.Suites, "") {
		return fmt.Errorf("entry %q: a name and one or more suites are required", e.Name)
	}
	if _, err := regexp.Compile(e.Package); err != nil {
		return fmt.Errorf("entry %s: package pattern: %w", e.Name, err)
	}
	switch e.Status {
	case landlock.Enabled:
		if e.ABI < 1 {
			return fmt.Errorf("entry %s: enabled needs an ABI ≥ 1", e.Name)
		}
	case landlock.Disabled, landlock.Absent:
		if e.ABI != 0 {
			return fmt.Errorf("entry %s: %s means ABI 0", e.Name, e.Status)
		}
	default:
		return fmt.Errorf("entry %s: status %q is not enabled, disabled or absent", e.Name, e.Status)
	}
	return nil
}

// Catalog returns the default kernel set, in matrix order.
func Catalog() []Entry { return append([]Entry(nil), catalog...) }

// Lookup finds a catalog entry by name.
func Lookup(name string) (Entry, bool) {
	for _, e := range catalog {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names lists the catalog names, in matrix order.
func Names() []string {
	n := make([]string, 0, len(catalog))
	for _, e := range catalog {
		n = append(n, e.Name)
	}
	return n
}
