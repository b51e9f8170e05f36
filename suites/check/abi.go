package check

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
)

// The suites' own ABI table: every right, scope, flag, rule type and
// struct field of the Landlock UAPI with the ABI that introduced it,
// written from the kernel documentation (Documentation/userspace-api/
// landlock.rst, "Previous limitations" and the ABI notes of
// include/uapi/linux/landlock.h, Linux 7.3). It is kept independent of
// landlock.Features on purpose: the expectations are the oracle for the
// library, so a wrong row in the library's table must show up as failing
// cases instead of being mirrored here.
//
// Every ABI boundary of the cases derives from this table through the
// named boundaries below; case code holds no ABI numbers. Adding ABI 12 is
// one row here (and one in landlock.Features) plus the new behaviour
// cases, which TestEveryFeatureHasBehaviourCases demands.

// FeatureKind says what a table row is.
type FeatureKind string

const (
	FSRight      FeatureKind = "fs"       // handled_access_fs bit
	NetRight     FeatureKind = "net"      // handled_access_net bit
	ScopeBit     FeatureKind = "scope"    // scoped bit
	RestrictFlag FeatureKind = "restrict" // landlock_restrict_self flag
	AddRuleFlag  FeatureKind = "add_rule" // landlock_add_rule flag
	CreateFlag   FeatureKind = "create"   // landlock_create_ruleset flag
	RuleType     FeatureKind = "rule"     // landlock_add_rule rule type
	AttrField    FeatureKind = "attr"     // struct landlock_ruleset_attr field
)

// Feature is one row: Value is the bit (or rule type number, or for a
// struct field the offset just past it: the size needed to pass it).
type Feature struct {
	Kind  FeatureKind
	Name  string // lower case, without the UAPI prefix
	Value uint64
	ABI   int
}

// ID is kind/name, e.g. "fs/read_file": how cases name what they show.
func (f Feature) ID() string { return string(f.Kind) + "/" + f.Name }

// Features is the table.
var Features = []Feature{
	{FSRight, "execute", 1 << 0, 1},
	{FSRight, "write_file", 1 << 1, 1},
	{FSRight, "read_file", 1 << 2, 1},
	{FSRight, "read_dir", 1 << 3, 1},
	{FSRight, "remove_dir", 1 << 4, 1},
	{FSRight, "remove_file", 1 << 5, 1},
	{FSRight, "make_char", 1 << 6, 1},
	{FSRight, "make_dir", 1 << 7, 1},
	{FSRight, "make_reg", 1 << 8, 1},
	{FSRight, "make_sock", 1 << 9, 1},
	{FSRight, "make_fifo", 1 << 10, 1},
	{FSRight, "make_block", 1 << 11, 1},
	{FSRight, "make_sym", 1 << 12, 1},
	{FSRight, "refer", 1 << 13, 2},
	{FSRight, "truncate", 1 << 14, 3},
	{FSRight, "ioctl_dev", 1 << 15, 5},
	{FSRight, "resolve_unix", 1 << 16, 9},

	{NetRight, "bind_tcp", 1 << 0, 4},
	{NetRight, "connect_tcp", 1 << 1, 4},
	{NetRight, "bind_udp", 1 << 2, 10},
	{NetRight, "connect_send_udp", 1 << 3, 10},

	{ScopeBit, "abstract_unix_socket", 1 << 0, 6},
	{ScopeBit, "signal", 1 << 1, 6},

	{RestrictFlag, "log_same_exec_off", 1 << 0, 7},
	{RestrictFlag, "log_new_exec_on", 1 << 1, 7},
	{RestrictFlag, "log_subdomains_off", 1 << 2, 7},
	{RestrictFlag, "tsync", 1 << 3, 8},
	{RestrictFlag, "no_new_privs", 1 << 4, 11},

	{AddRuleFlag, "quiet", 1 << 0, 10},

	{CreateFlag, "version", 1 << 0, 1},
	// The documentation ties the errata query to no ABI. It arrived with
	// ABI 7 (6.15) and was backported to older stable series, so a kernel
	// of an older ABI may accept it too; from this ABI on it must.
	{CreateFlag, "errata", 1 << 1, 7},

	{RuleType, "path_beneath", 1, 1},
	{RuleType, "net_port", 2, 4},

	{AttrField, "handled_access_fs", 8, 1},
	{AttrField, "handled_access_net", 16, 4},
	{AttrField, "scoped", 24, 6},
	{AttrField, "quiet_access_fs", 32, 10},
	{AttrField, "quiet_access_net", 40, 10},
	{AttrField, "quiet_scoped", 48, 10},
}

// FeatureNamed looks a row up; a missing row is a programming error.
func FeatureNamed(kind FeatureKind, name string) Feature {
	for _, f := range Features {
		if f.Kind == kind && f.Name == name {
			return f
		}
	}
	panic(fmt.Sprintf("suites: no %s feature %q in the ABI table", kind, name))
}

func ABIOf(kind FeatureKind, name string) int { return FeatureNamed(kind, name).ABI }

// The ABI boundaries the cases use, each derived from the table.
var (
	ABILandlock    = ABIOf(AttrField, "handled_access_fs")    // the first ABI: filesystem rights, ptrace
	ABIRefer       = ABIOf(FSRight, "refer")                  // reparenting can be allowed
	ABITruncate    = ABIOf(FSRight, "truncate")               // truncation can be denied
	ABINet         = ABIOf(AttrField, "handled_access_net")   // TCP rights and port rules
	ABIIoctlDev    = ABIOf(FSRight, "ioctl_dev")              // device ioctls can be denied
	ABIScoped      = ABIOf(AttrField, "scoped")               // abstract sockets and signals
	ABILogFlags    = ABIOf(RestrictFlag, "log_same_exec_off") // logging flags, ruleset_fd -1
	ABITSync       = ABIOf(RestrictFlag, "tsync")             // every thread at once
	ABIResolveUnix = ABIOf(FSRight, "resolve_unix")           // pathname sockets
	ABIUDP         = ABIOf(NetRight, "bind_udp")              // UDP rights
	ABIQuiet       = ABIOf(AttrField, "quiet_access_fs")      // quiet masks and quiet rules
	ABINNPFlag     = ABIOf(RestrictFlag, "no_new_privs")      // the NO_NEW_PRIVS flag; flags parsed before privilege
	ABIErrataQuery = ABIOf(CreateFlag, "errata")              // the errata query must work
)

// NewestABI is the newest ABI of the table: the newest these suites cover.
var NewestABI = func() int {
	n := 0
	for _, f := range Features {
		n = max(n, f.ABI)
	}
	return n
}()

// Mask is the union of the values of kind introduced at or before abi.
func Mask(kind FeatureKind, abi int) uint64 {
	var m uint64
	for _, f := range Features {
		if f.Kind == kind && f.ABI <= abi {
			m |= f.Value
		}
	}
	return m
}

// FeaturesOf lists the rows of a kind, in table order.
func FeaturesOf(kind FeatureKind) []Feature {
	var out []Feature
	for _, f := range Features {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// AllFS is every filesystem right of this suite's table (not read from
// the library).
var AllFS = landlock.AccessFS(Mask(FSRight, NewestABI))

// Ceilings are the ABI ceilings exercised, 1 to the newest; above the
// kernel's ABI the kernel's own ABI is in force.
var Ceilings = func() []int {
	var out []int
	for c := 1; c <= NewestABI; c++ {
		out = append(out, c)
	}
	return out
}()
