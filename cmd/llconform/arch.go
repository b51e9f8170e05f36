package main

import (
	"flag"
	"slices"
	"strings"

	"github.com/llconform/llconform/kernels"
)

// archFlag is --arch: amd64 (the default), arm64 or all.
type archFlag struct{ value string }

func (a *archFlag) register(fs *flag.FlagSet) {
	a.value = kernels.AMD64
	fs.Var(a, "arch", "guest architecture: "+strings.Join(kernels.Arches, ", ")+" or all (every catalog kernel of each, one matrix)")
}

func (a *archFlag) String() string { return a.value }

func (a *archFlag) Set(s string) error {
	if s != "all" && !slices.Contains(kernels.Arches, s) {
		return usagef("--arch %s: want %s or all", s, strings.Join(kernels.Arches, ", "))
	}
	a.value = s
	return nil
}

// arches are the architectures the flag selects, in matrix order.
func (a *archFlag) arches() []string {
	if a.value == "all" {
		return append([]string(nil), kernels.Arches...)
	}
	if a.value == "" {
		return []string{kernels.AMD64}
	}
	return []string{a.value}
}

// byo is the architecture a bring-your-own kernel must have: the one
// selected, or "" (the image says) for all.
func (a *archFlag) byo() string {
	if a.value == "all" {
		return ""
	}
	return a.arches()[0]
}
