package landlock

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NetPortAttr is struct landlock_net_port_attr (x/sys lacks it).
type NetPortAttr struct {
	AllowedAccess uint64
	Port          uint64
}

// pathBeneathAttr is the packed 12-byte struct landlock_path_beneath_attr;
// unix.LandlockPathBeneathAttr is padded to 16 bytes, so it is encoded here.
func pathBeneathAttr(access uint64, fd int) [12]byte {
	var b [12]byte
	binary.NativeEndian.PutUint64(b[:8], access)
	binary.NativeEndian.PutUint32(b[8:], uint32(int32(fd)))
	return b
}

// SysCreateRuleset is landlock_create_ruleset(2), unmodified.
func SysCreateRuleset(attr unsafe.Pointer, size uintptr, flags uint32) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(attr), size, uintptr(flags))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// SysAddRule is landlock_add_rule(2), unmodified.
func SysAddRule(rulesetFD int, ruleType int, attr unsafe.Pointer, flags uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD), uintptr(ruleType), uintptr(attr), uintptr(flags), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// SysRestrictSelf is landlock_restrict_self(2) on the calling thread.
func SysRestrictSelf(rulesetFD int, flags uint32) error {
	_, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rulesetFD), uintptr(flags), 0)
	if e != 0 {
		return e
	}
	return nil
}

// EncodeRulesetAttr returns the bytes of struct landlock_ruleset_attr,
// sized for the last non-zero field: a kernel rejects non-zero bytes past
// the struct it knows with E2BIG, while zero tails are accepted, so the
// shortest encoding works on every kernel that knows the fields in use.
func EncodeRulesetAttr(a unix.LandlockRulesetAttr) []byte {
	fields := []uint64{a.Handled_access_fs, a.Handled_access_net, a.Scoped, a.Quiet_access_fs, a.Quiet_access_net, a.Quiet_scoped}
	n := 1 // handled_access_fs is mandatory (8-byte minimum)
	for i, v := range fields {
		if v != 0 {
			n = i + 1
		}
	}
	b := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.NativeEndian.PutUint64(b[8*i:], fields[i])
	}
	return b
}

// createRuleset creates a ruleset fd from an attribute struct.
func createRuleset(a unix.LandlockRulesetAttr) (int, error) {
	b := EncodeRulesetAttr(a)
	fd, err := SysCreateRuleset(unsafe.Pointer(&b[0]), uintptr(len(b)), 0)
	if err != nil {
		return -1, fmt.Errorf("landlock_create_ruleset(%d-byte attr): %w", len(b), err)
	}
	return fd, nil
}

func addPathRule(rulesetFD int, access AccessFS, parentFD int, flags uint32) error {
	b := pathBeneathAttr(uint64(access), parentFD)
	return SysAddRule(rulesetFD, rulePathBeneath, unsafe.Pointer(&b[0]), flags)
}

func addPortRule(rulesetFD int, access AccessNet, port uint64, flags uint32) error {
	a := NetPortAttr{AllowedAccess: uint64(access), Port: port}
	return SysAddRule(rulesetFD, ruleNetPort, unsafe.Pointer(&a), flags)
}

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }
