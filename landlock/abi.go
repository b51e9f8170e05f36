package landlock

import "golang.org/x/sys/unix"

// Access rights, scopes and flags. Values come from golang.org/x/sys/unix
// where it has them; the few it lacks (7.3 UAPI) are defined here.
type (
	// AccessFS is a set of filesystem access rights.
	AccessFS uint64
	// AccessNet is a set of network access rights.
	AccessNet uint64
	// Scope is a set of IPC scopes.
	Scope uint64
	// RestrictFlags are landlock_restrict_self(2) flags.
	RestrictFlags uint32
)

// Values missing from golang.org/x/sys/unix (Linux 7.3 UAPI).
const (
	restrictSelfNoNewPrivs = 1 << 4 // LANDLOCK_RESTRICT_SELF_NO_NEW_PRIVS
	ruleNetPort            = 2      // LANDLOCK_RULE_NET_PORT
)

const (
	FSExecute     AccessFS = unix.LANDLOCK_ACCESS_FS_EXECUTE
	FSWriteFile   AccessFS = unix.LANDLOCK_ACCESS_FS_WRITE_FILE
	FSReadFile    AccessFS = unix.LANDLOCK_ACCESS_FS_READ_FILE
	FSReadDir     AccessFS = unix.LANDLOCK_ACCESS_FS_READ_DIR
	FSRemoveDir   AccessFS = unix.LANDLOCK_ACCESS_FS_REMOVE_DIR
	FSRemoveFile  AccessFS = unix.LANDLOCK_ACCESS_FS_REMOVE_FILE
	FSMakeChar    AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_CHAR
	FSMakeDir     AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_DIR
	FSMakeReg     AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_REG
	FSMakeSock    AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_SOCK
	FSMakeFifo    AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_FIFO
	FSMakeBlock   AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK
	FSMakeSym     AccessFS = unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	FSRefer       AccessFS = unix.LANDLOCK_ACCESS_FS_REFER
	FSTruncate    AccessFS = unix.LANDLOCK_ACCESS_FS_TRUNCATE
	FSIoctlDev    AccessFS = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	FSResolveUnix AccessFS = unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX

	NetBindTCP        AccessNet = unix.LANDLOCK_ACCESS_NET_BIND_TCP
	NetConnectTCP     AccessNet = unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	NetBindUDP        AccessNet = unix.LANDLOCK_ACCESS_NET_BIND_UDP
	NetConnectSendUDP AccessNet = unix.LANDLOCK_ACCESS_NET_CONNECT_SEND_UDP

	ScopeAbstractUnixSocket Scope = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	ScopeSignal             Scope = unix.LANDLOCK_SCOPE_SIGNAL

	RestrictLogSameExecOff   RestrictFlags = unix.LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
	RestrictLogNewExecOn     RestrictFlags = unix.LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
	RestrictLogSubdomainsOff RestrictFlags = unix.LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF
	RestrictTSync            RestrictFlags = unix.LANDLOCK_RESTRICT_SELF_TSYNC
	RestrictNoNewPrivs       RestrictFlags = restrictSelfNoNewPrivs
	addRuleQuiet                           = unix.LANDLOCK_ADD_RULE_QUIET
	createRulesetVersion                   = unix.LANDLOCK_CREATE_RULESET_VERSION
	createRulesetErrata                    = unix.LANDLOCK_CREATE_RULESET_ERRATA
	rulePathBeneath                        = unix.LANDLOCK_RULE_PATH_BENEATH
)

// FileRights are the rights a rule on a non-directory may carry.
const FileRights = FSExecute | FSWriteFile | FSReadFile | FSTruncate | FSIoctlDev | FSResolveUnix

// Kind says what a Feature is.
type Kind string

const (
	KindFSRight      Kind = "fs right"
	KindNetRight     Kind = "net right"
	KindScope        Kind = "scope"
	KindRestrictFlag Kind = "restrict_self flag"
	KindAddRuleFlag  Kind = "add_rule flag"
	KindCreateFlag   Kind = "create_ruleset flag"
	KindAttrField    Kind = "ruleset_attr field"
	KindRuleType     Kind = "rule type"
)

// Feature is one row of the ABI table: something the kernel API offers and
// the ABI version that introduced it. For KindAttrField, Value is the byte
// offset just past the field (the struct size needed to pass it).
type Feature struct {
	Kind  Kind
	Name  string // the UAPI name
	Value uint64
	ABI   int
}

// NewestABI is the newest Landlock ABI this package knows.
const NewestABI = 11

// Features is the ABI table: every right, scope, flag, field and rule type
// mapped to the ABI that introduced it (Linux 7.3 UAPI and its
// documentation). Every other ABI-dependent fact in this package derives
// from it; adding ABI 12 is adding its rows here.
var Features = []Feature{
	{KindFSRight, "LANDLOCK_ACCESS_FS_EXECUTE", uint64(FSExecute), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_WRITE_FILE", uint64(FSWriteFile), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_READ_FILE", uint64(FSReadFile), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_READ_DIR", uint64(FSReadDir), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_REMOVE_DIR", uint64(FSRemoveDir), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_REMOVE_FILE", uint64(FSRemoveFile), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_CHAR", uint64(FSMakeChar), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_DIR", uint64(FSMakeDir), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_REG", uint64(FSMakeReg), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_SOCK", uint64(FSMakeSock), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_FIFO", uint64(FSMakeFifo), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_BLOCK", uint64(FSMakeBlock), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_MAKE_SYM", uint64(FSMakeSym), 1},
	{KindFSRight, "LANDLOCK_ACCESS_FS_REFER", uint64(FSRefer), 2},
	{KindFSRight, "LANDLOCK_ACCESS_FS_TRUNCATE", uint64(FSTruncate), 3},
	{KindFSRight, "LANDLOCK_ACCESS_FS_IOCTL_DEV", uint64(FSIoctlDev), 5},
	{KindFSRight, "LANDLOCK_ACCESS_FS_RESOLVE_UNIX", uint64(FSResolveUnix), 9},

	{KindNetRight, "LANDLOCK_ACCESS_NET_BIND_TCP", uint64(NetBindTCP), 4},
	{KindNetRight, "LANDLOCK_ACCESS_NET_CONNECT_TCP", uint64(NetConnectTCP), 4},
	{KindNetRight, "LANDLOCK_ACCESS_NET_BIND_UDP", uint64(NetBindUDP), 10},
	{KindNetRight, "LANDLOCK_ACCESS_NET_CONNECT_SEND_UDP", uint64(NetConnectSendUDP), 10},

	{KindScope, "LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET", uint64(ScopeAbstractUnixSocket), 6},
	{KindScope, "LANDLOCK_SCOPE_SIGNAL", uint64(ScopeSignal), 6},

	{KindRestrictFlag, "LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF", uint64(RestrictLogSameExecOff), 7},
	{KindRestrictFlag, "LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON", uint64(RestrictLogNewExecOn), 7},
	{KindRestrictFlag, "LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF", uint64(RestrictLogSubdomainsOff), 7},
	{KindRestrictFlag, "LANDLOCK_RESTRICT_SELF_TSYNC", uint64(RestrictTSync), 8},
	{KindRestrictFlag, "LANDLOCK_RESTRICT_SELF_NO_NEW_PRIVS", uint64(RestrictNoNewPrivs), 11},

	{KindAddRuleFlag, "LANDLOCK_ADD_RULE_QUIET", addRuleQuiet, 10},

	{KindCreateFlag, "LANDLOCK_CREATE_RULESET_VERSION", createRulesetVersion, 1},
	// The documentation ties ERRATA to no ABI; it arrived with 6.15 (ABI 7)
	// and may be backported. The library treats EINVAL as "no errata info".
	{KindCreateFlag, "LANDLOCK_CREATE_RULESET_ERRATA", createRulesetErrata, 7},

	{KindRuleType, "LANDLOCK_RULE_PATH_BENEATH", rulePathBeneath, 1},
	{KindRuleType, "LANDLOCK_RULE_NET_PORT", ruleNetPort, 4},

	{KindAttrField, "handled_access_fs", 8, 1},
	{KindAttrField, "handled_access_net", 16, 4},
	{KindAttrField, "scoped", 24, 6},
	{KindAttrField, "quiet_access_fs", 32, 10},
	{KindAttrField, "quiet_access_net", 40, 10},
	{KindAttrField, "quiet_scoped", 48, 10},
}

// supported returns the union of the values of kind introduced at or
// before abi.
func supported(kind Kind, abi int) uint64 {
	var m uint64
	for _, f := range Features {
		if f.Kind == kind && f.ABI <= abi {
			m |= f.Value
		}
	}
	return m
}

// FSRights returns the filesystem rights of ABI abi.
func FSRights(abi int) AccessFS { return AccessFS(supported(KindFSRight, abi)) }

// NetRights returns the network rights of ABI abi.
func NetRights(abi int) AccessNet { return AccessNet(supported(KindNetRight, abi)) }

// Scopes returns the scopes of ABI abi.
func Scopes(abi int) Scope { return Scope(supported(KindScope, abi)) }

// RestrictFlagsOf returns the restrict_self flags of ABI abi.
func RestrictFlagsOf(abi int) RestrictFlags { return RestrictFlags(supported(KindRestrictFlag, abi)) }

// AddRuleFlags returns the add_rule flags of ABI abi.
func AddRuleFlags(abi int) uint32 { return uint32(supported(KindAddRuleFlag, abi)) }

// FeatureABI returns the ABI that introduced the named feature, or 0.
func FeatureABI(name string) int {
	for _, f := range Features {
		if f.Name == name {
			return f.ABI
		}
	}
	return 0
}

// attrFieldABI returns the ABI of the ruleset_attr field ending at end.
func attrFieldABI(end uint64) int {
	for _, f := range Features {
		if f.Kind == KindAttrField && f.Value == end {
			return f.ABI
		}
	}
	return NewestABI + 1
}

// names lists the table names of the bits of m of the given kind.
func names(kind Kind, m uint64) []string {
	var out []string
	for _, f := range Features {
		if f.Kind == kind && m&f.Value != 0 {
			out = append(out, f.Name)
			m &^= f.Value
		}
	}
	if m != 0 {
		out = append(out, "unknown bits "+hex(m))
	}
	return out
}
