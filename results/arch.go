package results

import (
	"cmp"
	"slices"
)

// unameArch maps the guest's uname -m to the Debian architecture names
// runs use.
var unameArch = map[string]string{"x86_64": "amd64", "aarch64": "arm64"}

// ArchOfUname is the Debian architecture of a uname -m ("x86_64" ->
// "amd64"), or the machine name itself when it is not one llconform
// boots.
func ArchOfUname(machine string) string {
	if a, ok := unameArch[machine]; ok {
		return a
	}
	return machine
}

// Architecture is the kernel's architecture: Arch, else (documents older
// than schema 3) what the guest's uname -m said, else amd64, the only
// architecture llconform booted before.
func (k *KernelRun) Architecture() string {
	switch {
	case k.Arch != "":
		return k.Arch
	case k.Env.Arch != "":
		return ArchOfUname(k.Env.Arch)
	}
	return "amd64"
}

// Key names a kernel across runs and in every report: its name and
// architecture ("7.3/arm64"). compare, merge and the reports key kernels
// by it, never by the name alone: the same series on two architectures
// are two kernels.
func (k *KernelRun) Key() string { return k.Name + "/" + k.Architecture() }

// archRank orders architectures in reports: amd64, arm64, then any other
// by name.
func archRank(a, b string) int {
	order := []string{"amd64", "arm64"}
	rank := func(x string) int {
		if i := slices.Index(order, x); i >= 0 {
			return i
		}
		return len(order)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}
