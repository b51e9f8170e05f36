// Package arch names the guest architectures llconform boots, by
// Debian's names (amd64, arm64): the catalog, the QEMU machines, the
// results and the CLI all speak of an architecture as an Arch.
package arch

import (
	"fmt"
	"strings"
)

// Arch is a guest architecture by its Debian name.
type Arch string

const (
	AMD64 Arch = "amd64" // x86-64
	ARM64 Arch = "arm64" // AArch64
)

// All are the architectures llconform boots, amd64 first (the default).
var All = []Arch{AMD64, ARM64}

// names lists All for messages: "amd64, arm64".
func names(sep string) string {
	s := make([]string, len(All))
	for i, a := range All {
		s[i] = string(a)
	}
	return strings.Join(s, sep)
}

// Names lists the architectures for a message: "amd64, arm64".
func Names() string { return names(", ") }

// Parse checks an architecture's name, as a flag or a document gives it.
func Parse(s string) (Arch, error) {
	for _, a := range All {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("architecture %q: want one of %s", s, Names())
}

// OrDefault is a, or amd64 for the "" of what was written before
// llconform booted arm64 (catalog rows, caches, results of schema 1 and 2).
func (a Arch) OrDefault() Arch {
	if a == "" {
		return AMD64
	}
	return a
}

// unames are the guests' uname -m.
var unames = map[Arch]string{AMD64: "x86_64", ARM64: "aarch64"}

// Uname is the uname -m of a guest of a.
func (a Arch) Uname() string { return unames[a.OrDefault()] }

// OfUname is the architecture of a uname -m ("x86_64" -> amd64), false
// for a machine llconform does not boot.
func OfUname(machine string) (Arch, bool) {
	for a, u := range unames {
		if u == machine {
			return a, true
		}
	}
	return "", false
}

// GOARCH is the Go architecture of an agent for a guest of a.
func (a Arch) GOARCH() string { return string(a.OrDefault()) }
