package landlock

import "fmt"

// Policy is what a program asks Landlock to enforce: the handled rights
// (denied unless a rule allows them), the scopes, the rules, and the
// logging flags. It is plain data; Enforce applies it to the running
// kernel according to a Config.
type Policy struct {
	FS     AccessFS  // handled filesystem rights
	Net    AccessNet // handled network rights
	Scoped Scope     // IPC scopes

	// Quiet masks (ABI 10) suppress audit records of denials on objects
	// marked by quiet rules; they never change a decision.
	QuietFS     AccessFS
	QuietNet    AccessNet
	QuietScoped Scope

	Rules []Rule

	// Logging flags for landlock_restrict_self (ABI 7). TSYNC and
	// NO_NEW_PRIVS are chosen by Enforce and must not be set here.
	LogFlags RestrictFlags

	// KeepPrivileges leaves no_new_privs unset. Landlock then requires
	// CAP_SYS_ADMIN; only use it when set-user-ID transitions are expected.
	KeepPrivileges bool
}

// Rule is a PathRule or a PortRule.
type Rule interface {
	fmt.Stringer
	rule()
}

// PathRule allows Access beneath Path (or on Path, for a file).
type PathRule struct {
	Path          string
	Access        AccessFS
	Quiet         bool // LANDLOCK_ADD_RULE_QUIET (ABI 10)
	IgnoreMissing bool // skip the rule if Path does not exist
}

// PortRule allows Access on a TCP or UDP port (host byte order). Port is
// 64 bits wide, as in the UAPI, so that out-of-range values can be passed.
type PortRule struct {
	Port   uint64
	Access AccessNet
	Quiet  bool
}

func (PathRule) rule() {}
func (PortRule) rule() {}

func (r PathRule) String() string { return fmt.Sprintf("path %s: %v", r.Path, r.Access) }
func (r PortRule) String() string { return fmt.Sprintf("port %d: %v", r.Port, r.Access) }

// AllowPath adds a path-beneath rule and returns the policy for chaining.
func (p *Policy) AllowPath(path string, access AccessFS) *Policy {
	p.Rules = append(p.Rules, PathRule{Path: path, Access: access})
	return p
}

// AllowPort adds a network port rule and returns the policy for chaining.
func (p *Policy) AllowPort(port uint16, access AccessNet) *Policy {
	p.Rules = append(p.Rules, PortRule{Port: uint64(port), Access: access})
	return p
}

// MaximalPolicy handles every right and scope of the newest known ABI, with
// no rules: everything Landlock can deny is denied.
func MaximalPolicy() Policy {
	return Policy{FS: FSRights(NewestABI), Net: NetRights(NewestABI), Scoped: Scopes(NewestABI)}
}

func (a AccessFS) String() string      { return bitString(KindFSRight, uint64(a)) }
func (a AccessNet) String() string     { return bitString(KindNetRight, uint64(a)) }
func (s Scope) String() string         { return bitString(KindScope, uint64(s)) }
func (f RestrictFlags) String() string { return bitString(KindRestrictFlag, uint64(f)) }

func bitString(kind Kind, m uint64) string {
	if m == 0 {
		return "none"
	}
	s := ""
	for i, n := range names(kind, m) {
		if i > 0 {
			s += "|"
		}
		s += shortName(n)
	}
	return s
}

// shortName turns LANDLOCK_ACCESS_FS_READ_FILE into read_file.
func shortName(n string) string {
	for _, p := range []string{"LANDLOCK_ACCESS_FS_", "LANDLOCK_ACCESS_NET_", "LANDLOCK_SCOPE_", "LANDLOCK_RESTRICT_SELF_", "LANDLOCK_ADD_RULE_"} {
		if len(n) > len(p) && n[:len(p)] == p {
			b := []byte(n[len(p):])
			for i, c := range b {
				if c >= 'A' && c <= 'Z' {
					b[i] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return n
}
