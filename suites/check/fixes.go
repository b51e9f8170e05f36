package check

import "fmt"

// Known deviations, the two kinds the verdicts distinguish.
//
// Errata. A kernel reports the errata it has fixed in a mask (query
// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_ERRATA); bit n-1
// for erratum n; Documentation/userspace-api/landlock.rst "Landlock
// errata"; the texts are in security/landlock/errata/abi-*.h). A kernel
// whose mask sets the bit must behave fixed: anything else fails. A kernel
// whose mask lacks the bit (or that has no errata interface) and behaves
// as the documented unfixed state is judged "known": it says so itself.
//
// Fixes without an erratum bit. Security fixes get no erratum
// (security/landlock/errata.h), so a kernel cannot say whether it has
// them; only behaviour tells. Each is listed here with its reference and
// with how its absence is judged: "warn" where stable kernels are still
// catching up on an edge of a right, "fail" for a fix of a CVE (as LTP's
// cve-* tests fail on a vulnerable kernel).

// erratum is one entry of the errata documentation.
type erratum struct {
	N          int
	FeatureABI int // the ABI of the feature the erratum is about
	what, ref  string
	// console is a kernel console line (regular expression) the unfixed
	// state prints when a case meets it.
	console string
}

var Errata = []erratum{
	{1, ABINet, "TCP rights also restricted other stream protocols (MPTCP, SCTP, SMC)", "security/landlock/errata/abi-4.h", ""},
	{2, ABIScoped, "SCOPE_SIGNAL blocked signals between threads of one process", "security/landlock/errata/abi-6.h", ""},
	{3, ABILandlock, "disconnected directories were evaluated without the mount point's hierarchy", "security/landlock/errata/abi-1.h",
		// The WARN_ON_ONCE the fix removed (seen on Debian 6.1.176 when
		// reparenting through a disconnected directory).
		`WARNING: .*security/landlock/fs\.c:\d+ collect_domain_accesses`},
	{4, ABILandlock, "whiteouts needed MAKE_CHAR instead of MAKE_REG", "security/landlock/errata/abi-1.h", ""},
}

func ErratumN(n int) erratum {
	for _, e := range Errata {
		if e.N == n {
			return e
		}
	}
	panic(fmt.Sprintf("suites: no erratum %d", n))
}

// KnownConsole lists the console lines (regular expressions) the kernel
// of e is documented to print: the warnings of errata it lacks.
func KnownConsole(e Env) []string {
	var out []string
	for _, er := range Errata {
		if er.console != "" && e.ABI >= er.FeatureABI && !e.HasFix(er.N) {
			out = append(out, er.console)
		}
	}
	return out
}

// HasFix reports whether the kernel's errata mask says erratum n is fixed.
func (e Env) HasFix(n int) bool { return e.ErrataKnown && e.Errata&(1<<(n-1)) != 0 }

// UnfixedErratum makes an outcome "known" where the kernel's mask lacks
// erratum n: the documented unfixed behaviour of a kernel that admits it.
func UnfixedErratum(n int, outcome string) func(Env) []Deviation {
	er := ErratumN(n)
	return func(e Env) []Deviation {
		if e.HasFix(n) || e.LibABI() < er.FeatureABI {
			return nil
		}
		mask := "no errata interface"
		if e.ErrataKnown {
			mask = fmt.Sprintf("errata mask %#x lacks bit %d", e.Errata, n-1)
		}
		return []Deviation{{Outcome: outcome, Kind: Known,
			Why: fmt.Sprintf("erratum %d not fixed (%s): %s (%s)", n, mask, er.what, er.ref)}}
	}
}

// fix is a fix without an erratum bit.
type fix struct {
	What, Ref string
	// absent is how a kernel without the fix is judged: Warn, or "" for a
	// failure.
	absent DeviationKind
}

var (
	FixTCPFastOpen = fix{
		What:   "sendto(MSG_FASTOPEN) connects implicitly and must be checked as CONNECT_TCP",
		Ref:    "landlock-lsm/linux issue 41; checked in the socket_sendmsg hook of security/landlock/net.c of 7.3",
		absent: Warn,
	}
	FixLayerLimit16 = fix{
		What:   "the layer limit is 16 (it was 64 before)",
		Ref:    "commit 75c542d6c6cc \"landlock: Reduce the maximum number of layers to 16\" (5.19, Cc: stable); landlock_restrict_self(2): E2BIG past 16 layers",
		absent: Warn,
	}
	FixCredTransfer = fix{
		What: "keyctl(KEYCTL_SESSION_TO_PARENT) must not let a sandboxed child replace its parent's credentials and domain",
		Ref:  "CVE-2024-42318, commit 39705a6c29f8 (6.11, stable)",
	}
	FixSigioPgrp = fix{
		What:   "F_SETOWN to the caller's own process group must record the caller's domain, so that SIGIO reaches no member outside it",
		Ref:    "\"landlock: fix LANDLOCK_SCOPE_SIGNAL bypass via F_SETOWN to invoker's pgid\" (Bryam Vargas, June 2026, Cc: stable; Fixes: 18eb75f3af40 \"landlock: Always allow signals between threads of the same process\", 6.15 and 6.12.y)",
		absent: Warn,
	}
	// fixes lists them all, for the documentation of the suites.
	fixes = []fix{FixTCPFastOpen, FixLayerLimit16, FixCredTransfer, FixLogSubdomainsOff, FixSigioPgrp}
)

// fixLogSubdomainsOff: LOG_SUBDOMAINS_OFF set with ruleset_fd -1 (no
// domain) was dropped by the next copy of the credentials (the next
// landlock_restrict_self, fork, execve), so the domains created under it
// were logged. Only audit records change: warn.
var FixLogSubdomainsOff = fix{
	What:   "LOG_SUBDOMAINS_OFF set with ruleset_fd -1 must survive the next copy of the credentials (restrict_self, fork, execve) and silence the domains created under it",
	Ref:    "\"landlock: Fix LOG_SUBDOMAINS_OFF inheritance across fork()\" (Mickaël Salaün, April 2026, Cc: stable; backported to 7.0.y in May 2026); landlock.h: the flag \"can also be used with a ruleset_fd value of -1 to mute subdomain logs without creating a domain\"",
	absent: Warn,
}

// undocumentedChange is a kernel change that breaks a promise of the
// Landlock documentation without the kernel saying so (no ABI change, no
// erratum): nothing the kernel reports explains it, so it is a warning,
// listed here with what is known of it.
type undocumentedChange struct{ what, ref string }

var ChangePerfmonProcAccess = undocumentedChange{
	what: "a caller with CAP_PERFMON (or CAP_SYS_ADMIN) passes PTRACE_MODE_READ checks of /proc/<pid>/environ, maps and auxv that the ptrace restrictions refuse, so a sandboxed root reads them outside its domain",
	ref:  "mm_access() change \"mm,procfs: allow read-only remote mm access under CAP_PERFMON\" (seen in 6.18 and later, not in Debian 6.12); landlock.rst \"Special filesystems\" and \"Ptrace restrictions\"",
}

var ChangeUDPv6ForeignFamily = undocumentedChange{
	what: "with CONNECT_SEND_UDP handled, a dual-stack IPv6 UDP socket cannot send to or connect to an AF_INET destination even on a granted port (EINVAL), which the network stack accepts and the documentation excludes only for AF_UNSPEC",
	ref:  "landlock.h, CONNECT_SEND_UDP notes; seen on 7.2 and 7.3 (ABI 10 and 11), the first UDP kernels",
}

// Observed judges outcome as this change.
func (c undocumentedChange) Observed(outcome string) func(Env) []Deviation {
	return func(Env) []Deviation {
		return []Deviation{{Outcome: outcome, Kind: Warn, Why: "a kernel change the Landlock documentation does not account for: " + c.what + " (" + c.ref + ")"}}
	}
}

// Without judges outcome as the kernel lacking the fix: a warning, or
// nothing (so it fails) for a fix whose absence is a failure.
func (f fix) Without(outcome string) func(Env) []Deviation {
	return func(Env) []Deviation {
		if f.absent == "" {
			return nil
		}
		return []Deviation{{Outcome: outcome, Kind: f.absent, Why: "the kernel lacks a fix without an erratum bit: " + f.What + " (" + f.Ref + ")"}}
	}
}
