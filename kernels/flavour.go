package kernels

import (
	"fmt"
	"strings"

	"github.com/llconform/llconform/internal/arch"
)

// Debian builds every kernel series in several flavours. The catalog's
// rows name the cloud flavour's package; the others are the same series
// and upload with another word in the package name, and the same expected
// Landlock state and ABI.
const (
	FlavourCloud   = "cloud"   // linux-image-X-cloud-amd64: the catalog's default
	FlavourGeneric = "generic" // linux-image-X-amd64: no flavour word
	FlavourRT      = "rt"      // linux-image-X-rt-amd64: PREEMPT_RT
)

// Flavours lists the catalog's flavours, the default first.
var Flavours = []string{FlavourCloud, FlavourGeneric, FlavourRT}

// DefaultFlavour is the flavour a catalog entry has unless asked otherwise.
const DefaultFlavour = FlavourCloud

// CheckFlavour says what is valid when f is not a flavour of the catalog.
func CheckFlavour(f string) error {
	for _, v := range Flavours {
		if f == v {
			return nil
		}
	}
	return fmt.Errorf("flavour %q: want one of %s", f, strings.Join(Flavours, ", "))
}

// flavourWord is what a flavour puts between the version and the
// architecture in a package name: "-cloud-", "-rt-", or "-" for generic.
func flavourWord(f string) string {
	if f == FlavourGeneric {
		return "-"
	}
	return "-" + f + "-"
}

// Flavoured returns the entry of the same series in another flavour. A
// flavour other than the default is part of the name ("7.3-rt"), so that
// results, reports, compare and merge, which know a kernel by its name
// and architecture, keep the flavours apart; the expectation is the
// series'.
func (e Entry) Flavoured(flavour string) (Entry, error) {
	if err := CheckFlavour(flavour); err != nil {
		return e, err
	}
	from := e.flavour()
	if flavour == from {
		return e, nil
	}
	old := flavourWord(from) + string(e.Arch.OrDefault())
	if strings.Count(e.Package, old) != 1 {
		return e, fmt.Errorf("kernel %s: the package pattern %q names no %s flavour to replace", e.Name, e.Package, from)
	}
	e.Package = strings.Replace(e.Package, old, flavourWord(flavour)+string(e.Arch.OrDefault()), 1)
	e.Suites = append([]string(nil), e.Suites...)
	if from == DefaultFlavour {
		e.Name += "-" + flavour
	} else {
		e.Name = strings.TrimSuffix(e.Name, "-"+from)
		if flavour != DefaultFlavour {
			e.Name += "-" + flavour
		}
	}
	e.Flavour = flavour
	return e, nil
}

func (e Entry) flavour() string {
	if e.Flavour == "" {
		return DefaultFlavour
	}
	return e.Flavour
}

// LookupFlavoured finds a catalog entry by a name that may carry a
// flavour ("7.3-rt", "6.12-generic") as well as by a plain series name.
func LookupFlavoured(name string, a arch.Arch) (Entry, bool) {
	if e, ok := Lookup(name, a); ok {
		return e, true
	}
	for _, f := range Flavours[1:] {
		series, ok := strings.CutSuffix(name, "-"+f)
		if !ok {
			continue
		}
		e, ok := Lookup(series, a)
		if !ok {
			return Entry{}, false
		}
		fe, err := e.Flavoured(f)
		return fe, err == nil
	}
	return Entry{}, false
}
