package landlock

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// State is whether the running kernel offers Landlock.
type State string

const (
	Enabled  State = "enabled"  // the syscalls return an ABI version
	Disabled State = "disabled" // EOPNOTSUPP: built in, not enabled at boot (lsm=)
	Absent   State = "absent"   // ENOSYS: not built in (or a kernel older than 5.13)
)

var (
	// ErrNotSupported is returned when the kernel has no Landlock (ENOSYS).
	ErrNotSupported = errors.New("landlock: not supported by this kernel (ENOSYS): needs Linux ≥ 5.13 with CONFIG_SECURITY_LANDLOCK")
	// ErrDisabled is returned when Landlock is built in but disabled (EOPNOTSUPP).
	ErrDisabled = errors.New("landlock: disabled at boot (EOPNOTSUPP): add landlock to the lsm= kernel parameter")
)

// Status is the kernel's Landlock state and ABI version.
type Status struct {
	State State
	ABI   int // 0 unless State is Enabled
}

// Probe asks the kernel for its Landlock ABI version.
func Probe() (Status, error) {
	v, err := SysCreateRuleset(nil, 0, createRulesetVersion)
	switch {
	case err == nil:
		return Status{State: Enabled, ABI: v}, nil
	case errors.Is(err, unix.ENOSYS):
		return Status{State: Absent}, nil
	case errors.Is(err, unix.EOPNOTSUPP):
		return Status{State: Disabled}, nil
	}
	return Status{}, fmt.Errorf("landlock: querying the ABI version: %w", err)
}

// ABI returns the kernel's Landlock ABI version, or an error wrapping
// ErrNotSupported or ErrDisabled.
func ABI() (int, error) {
	s, err := Probe()
	if err != nil {
		return 0, err
	}
	switch s.State {
	case Absent:
		return 0, ErrNotSupported
	case Disabled:
		return 0, ErrDisabled
	}
	return s.ABI, nil
}

// Errata returns the kernel's errata bitmask (bit n-1 = erratum n fixed).
// known is false when the kernel has no errata interface (EINVAL for the
// flag), which means "no errata information", not an error.
func Errata() (mask uint64, known bool, err error) {
	v, err := SysCreateRuleset(nil, 0, createRulesetErrata)
	switch {
	case err == nil:
		return uint64(v), true, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("landlock: querying errata: %w", err)
}

// MaxABIEnv names the environment variable holding an ABI ceiling: the
// library then acts as if the kernel had at most that ABI.
const MaxABIEnv = "LLCONFORM_MAX_ABI"

// ceilingFromEnv returns the ceiling from MaxABIEnv, 0 if unset.
func ceilingFromEnv() (int, error) {
	s := os.Getenv(MaxABIEnv)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("landlock: %s=%q: want a non-negative ABI number", MaxABIEnv, s)
	}
	return n, nil
}
