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
)

// Entry is one row of the catalog: a kernel series in a Debian suite.
type Entry struct {
	Name    string `json:"name"`
	Suite   string `json:"suite"`   // Debian suite (dists/<suite>)
	Package string `json:"package"` // regexp on the package name
	Cmdline string `json:"cmdline,omitempty"`
	Status  string `json:"status"` // expected Landlock state: enabled, disabled, absent
	ABI     int    `json:"abi"`    // expected ABI when enabled
	Note    string `json:"note,omitempty"`
}

//go:embed catalog.json
var catalogJSON []byte

var catalog = mustCatalog()

func mustCatalog() []Entry {
	var es []Entry
	if err := json.Unmarshal(catalogJSON, &es); err != nil {
		panic(fmt.Sprintf("kernels: embedded catalog: %v", err))
	}
	for _, e := range es {
		regexp.MustCompile(e.Package)
	}
	return es
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

// Names lists the catalog names.
func Names() []string {
	var n []string
	for _, e := range catalog {
		n = append(n, e.Name)
	}
	return n
}
