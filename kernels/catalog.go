// Package kernels knows which kernels to test and where they come from:
// the embedded default catalog, Debian's signed package index (resolve,
// download, verify, extract, cache), and kernels users bring themselves.
// It knows nothing of Landlock beyond the state each entry should report.
package kernels

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
)

// Entry is one row of the catalog for one architecture: a kernel series in
// one or more Debian suites. It resolves to the newest released package
// across its suites, or to a pre-release when none has a release (see
// Fetcher.Resolve).
type Entry struct {
	Name    string         `json:"name"`
	Arch    arch.Arch      `json:"arch,omitempty"` // "" is amd64
	Suites  []string       `json:"suites"`         // Debian suites (dists/<suite>) that carry the series
	Package string         `json:"package"`        // regexp on the binary package name
	Cmdline string         `json:"cmdline,omitempty"`
	Status  landlock.State `json:"status"` // expected Landlock state
	ABI     int            `json:"abi"`    // expected ABI; 0 unless enabled
	Note    string         `json:"note,omitempty"`
	Flavour string         `json:"flavour,omitempty"` // Debian's kernel flavour (Flavours); "" is cloud
	// Version pins the package's version (a Debian package the user
	// names, DebianEntry); "" resolves to the newest.
	Version string `json:"version,omitempty"`
}

// row is a series of catalog.json: one name, suites and expectation, and
// the package of each architecture. The expectation belongs to the series,
// not to an architecture: an architecture that behaves otherwise is a
// finding, not another row.
type row struct {
	Name     string               `json:"name"`
	Suites   []string             `json:"suites"`
	Packages map[arch.Arch]string `json:"packages"` // architecture -> regexp on the package name
	Cmdline  string               `json:"cmdline,omitempty"`
	Status   landlock.State       `json:"status"`
	ABI      int                  `json:"abi"`
	Note     string               `json:"note,omitempty"`
}

func (r row) entry(a arch.Arch) (Entry, bool) {
	p, ok := r.Packages[a]
	return Entry{Name: r.Name, Arch: a, Suites: slices.Clone(r.Suites), Package: p, Cmdline: r.Cmdline,
		Status: r.Status, ABI: r.ABI, Note: r.Note, Flavour: DefaultFlavour}, ok
}

//go:embed catalog.json
var catalogJSON []byte

var catalog = mustCatalog(catalogJSON)

// mustCatalog parses and checks the embedded catalog; a broken catalog is
// a build mistake, so it fails at start-up rather than in the middle of a run.
func mustCatalog(data []byte) []row {
	var rs []row
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		panic(fmt.Sprintf("kernels: embedded catalog: %v", err))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if len(r.Packages) == 0 {
			panic(fmt.Sprintf("kernels: embedded catalog: entry %q has no packages", r.Name))
		}
		for _, a := range slices.Sorted(maps.Keys(r.Packages)) {
			if _, err := arch.Parse(string(a)); err != nil {
				panic(fmt.Sprintf("kernels: embedded catalog: entry %s: %v", r.Name, err))
			}
			e, _ := r.entry(a)
			if err := e.check(); err != nil {
				panic("kernels: embedded catalog: " + err.Error())
			}
			for _, f := range Flavours {
				if _, err := e.Flavoured(f); err != nil {
					panic("kernels: embedded catalog: " + err.Error())
				}
			}
		}
		if seen[r.Name] {
			panic("kernels: embedded catalog: duplicate " + r.Name)
		}
		seen[r.Name] = true
	}
	return rs
}

func (e Entry) check() error {
	if e.Name == "" || len(e.Suites) == 0 || slices.Contains(e.Suites, "") {
		return fmt.Errorf("entry %q: a name and one or more suites are required", e.Name)
	}
	if _, err := regexp.Compile(e.Package); err != nil {
		return fmt.Errorf("entry %s: package pattern: %w", e.Name, err)
	}
	// Debian names kernel packages after their architecture: a pattern
	// without it was copied from another architecture's column.
	if !strings.Contains(e.Package, string(e.Arch.OrDefault())) {
		return fmt.Errorf("entry %s: the %s package pattern %q does not name %s", e.Name, e.Arch.OrDefault(), e.Package, e.Arch.OrDefault())
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

// Catalog returns the default kernel set of an architecture, in matrix
// order.
func Catalog(a arch.Arch) []Entry {
	var out []Entry
	for _, r := range catalog {
		if e, ok := r.entry(a); ok {
			out = append(out, e)
		}
	}
	return out
}

// Lookup finds a catalog entry by name and architecture.
func Lookup(name string, a arch.Arch) (Entry, bool) {
	for _, r := range catalog {
		if r.Name == name {
			return r.entry(a)
		}
	}
	return Entry{}, false
}

// Names lists the catalog's series names, in matrix order (an architecture
// may lack some: Lookup says).
func Names() []string {
	n := make([]string, 0, len(catalog))
	for _, r := range catalog {
		n = append(n, r.Name)
	}
	return n
}
