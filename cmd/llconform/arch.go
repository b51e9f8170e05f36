package main

import (
	"flag"
	"strings"

	"github.com/llconform/llconform/internal/arch"
)

// archFlag is --arch: amd64 (the default), arm64 or all.
type archFlag struct {
	value arch.Arch
	all   bool
}

func (a *archFlag) register(fs *flag.FlagSet) {
	a.value = arch.AMD64
	fs.Var(a, "arch", "guest architecture: "+arch.Names()+" or all (every catalog kernel of each, one matrix)")
}

func (a *archFlag) String() string {
	if a.all {
		return "all"
	}
	return string(a.value)
}

func (a *archFlag) Set(s string) error {
	if s == "all" {
		a.all = true
		return nil
	}
	v, err := arch.Parse(s)
	if err != nil {
		return usagef("--arch %s: want %s or all", s, arch.Names())
	}
	a.value, a.all = v, false
	return nil
}

// arches are the architectures the flag selects, in matrix order.
func (a *archFlag) arches() []arch.Arch {
	if a.all {
		return append([]arch.Arch(nil), arch.All...)
	}
	return []arch.Arch{a.value.OrDefault()}
}

// byo is the architecture a bring-your-own kernel must have: the one
// selected, or "" (the image says) for all.
func (a *archFlag) byo() arch.Arch {
	if a.all {
		return ""
	}
	return a.value.OrDefault()
}

// archList names architectures for a message: "amd64, arm64".
func archList(as []arch.Arch) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
