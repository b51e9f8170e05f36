package main

import (
	"flag"
	"slices"
	"strings"

	"github.com/llconform/llconform/kernels"
)

// flavourFlag is --flavour: cloud (the default), generic, rt or all.
type flavourFlag struct{ value string }

func (f *flavourFlag) register(fs *flag.FlagSet) {
	f.value = kernels.DefaultFlavour
	fs.Var(f, "flavour", "Debian kernel flavour of the catalog kernels: "+strings.Join(kernels.Flavours, ", ")+" or all (each series in every flavour; a flavour other than cloud is named SERIES-FLAVOUR, e.g. 7.3-rt)")
}

func (f *flavourFlag) String() string { return f.value }

func (f *flavourFlag) Set(s string) error {
	if s != "all" {
		if err := kernels.CheckFlavour(s); err != nil {
			return usagef("--flavour %s: want %s or all", s, strings.Join(kernels.Flavours, ", "))
		}
	}
	f.value = s
	return nil
}

// flavours are the flavours the flag selects, the default first.
func (f *flavourFlag) flavours() []string {
	switch f.value {
	case "all":
		return append([]string(nil), kernels.Flavours...)
	case "":
		return []string{kernels.DefaultFlavour}
	}
	return []string{f.value}
}

// flavoured turns catalog entries into the entries of the flavours
// selected, each series' flavours together. An entry named with its
// flavour (7.3-rt) keeps it.
func (f *flavourFlag) flavoured(entries []kernels.Entry) ([]kernels.Entry, error) {
	var out []kernels.Entry
	for _, e := range entries {
		if !slices.Contains(kernels.Names(), e.Name) {
			out = append(out, e)
			continue
		}
		for _, fl := range f.flavours() {
			fe, err := e.Flavoured(fl)
			if err != nil {
				return nil, err
			}
			out = append(out, fe)
		}
	}
	return out, nil
}
