package results

import (
	"cmp"
	"slices"

	"github.com/llconform/llconform/internal/arch"
)

// Architecture is the kernel's architecture: Arch, else (documents older
// than schema 3) what the guest's uname -m said, else amd64, the only
// architecture llconform booted before.
func (k *KernelRun) Architecture() arch.Arch {
	if k.Arch != "" {
		return k.Arch
	}
	if a, ok := arch.OfUname(k.Env.Arch); ok {
		return a
	}
	if k.Env.Arch != "" {
		return arch.Arch(k.Env.Arch) // a machine llconform does not boot: named as it is
	}
	return arch.AMD64
}

// Key names a kernel across runs and in every report: its name and
// architecture ("7.3/arm64"). compare, merge and the reports key kernels
// by it, never by the name alone: the same series on two architectures
// are two kernels.
func (k *KernelRun) Key() string { return k.Name + "/" + string(k.Architecture()) }

// archRank orders architectures in reports: amd64, arm64, then any other
// by name.
func archRank(a, b arch.Arch) int {
	rank := func(x arch.Arch) int {
		if i := slices.Index(arch.All, x); i >= 0 {
			return i
		}
		return len(arch.All)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}
