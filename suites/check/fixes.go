package check

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Known deviations, the two kinds the verdicts distinguish.
//
// Errata. A kernel reports the errata it has fixed in a mask (query
// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_ERRATA); bit n-1
// for erratum n; Documentation/userspace-api/landlock.rst "Landlock
// errata"; the texts are in security/landlock/errata/abi-*.h). A kernel
// whose mask sets the bit must behave fixed: anything else fails. A kernel
// whose mask lacks the bit (or that has no errata interface) and behaves
// as the documented unfixed state is judged "known": it says so itself.
// A kernel whose mask lacks the bit and behaves fixed fails: user space
// that trusts the mask takes the unfixed path, so the mask must name every
// fix the kernel has (maskBound). Without an errata interface the kernel
// says nothing, and both states are accepted.
//
// Fixes without an erratum bit. Security fixes get no erratum
// (security/landlock/errata.h), so a kernel cannot say whether it has
// them; only behaviour tells. Each is listed here with its reference, the
// first mainline release that carries it, and how its absence is judged:
// "fail" for a fix of a CVE (as LTP's cve-* tests fail on a vulnerable
// kernel); otherwise "warn" on a release older than that mainline
// release (stable kernels may still be catching up) or whose release
// cannot be read, and "fail" on a release at or after it: that kernel
// lost the fix.

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
		return []Deviation{{Outcome: outcome, Kind: Known, erratum: n,
			Why: fmt.Sprintf("erratum %d not fixed (%s): %s (%s)", n, mask, er.what, er.ref)}}
	}
}

// maskBound makes the expectation of a case with the documented unfixed
// state of an erratum follow the kernel's errata mask: where the mask
// (read through the errata interface) lacks the erratum's bit, the
// expected outcome is the unfixed one, written so that no observation
// matches it. The unfixed observation then stays known (UnfixedErratum)
// and the fixed one fails: a kernel must not fix what its mask denies.
// A row whose fixed outcome is also one of the unfixed ones cannot tell
// the two states apart and keeps its expectation.
func maskBound(c Case) Case {
	if c.Deviate == nil || c.Want == nil {
		return c
	}
	want, deviate := c.Want, c.Deviate
	c.Want = func(e Env) string {
		if e.ErrataKnown {
			for _, d := range deviate(e) {
				if d.erratum > 0 && d.Kind == Known && !e.HasFix(d.erratum) {
					w := want(e)
					if anyMatches(d.Outcome, w) {
						return w // the row cannot tell the two states apart
					}
					return UnfixedExpectation(d.erratum, d.Outcome)
				}
			}
		}
		return want(e)
	}
	return c
}

// anyMatches reports whether an alternative of a matches one of b.
func anyMatches(a, b string) bool {
	for _, o := range strings.Split(b, "|") {
		if Matches(a, o) {
			return true
		}
	}
	return false
}

// UnfixedExpectation is the expectation of a case on a kernel whose
// errata mask says erratum n is not fixed: the unfixed outcome, named as
// such (the alternatives joined by "or"), so that no observation matches
// it and the unfixed one is judged by the deviation, as known.
func UnfixedExpectation(n int, unfixed string) string {
	return fmt.Sprintf("%s (the errata mask lacks erratum %d)", strings.ReplaceAll(unfixed, "|", " or "), n)
}

// fix is a fix without an erratum bit.
type fix struct {
	What, Ref string
	// Since is the first mainline release that carries the fix
	// ("major.minor"), with the reason in Ref.
	Since string
	// absent is how a kernel without the fix is judged: Warn, or "" for a
	// failure.
	absent DeviationKind
}

var (
	FixTCPFastOpen = fix{
		What: "sendto(MSG_FASTOPEN) connects implicitly and must be checked as CONNECT_TCP",
		Ref: "landlock-lsm/linux issue 41; checked in the socket_sendmsg hook of security/landlock/net.c of 7.3; " +
			"7.2 is the first mainline release that has it (measured: Debian's 7.2 checks it, 7.1 and 7.0 do not; 6.12 has the stable backport)",
		Since:  "7.2",
		absent: Warn,
	}
	FixLayerLimit16 = fix{
		What:   "the layer limit is 16 (it was 64 before)",
		Ref:    "commit 75c542d6c6cc \"landlock: Reduce the maximum number of layers to 16\" (5.19, Cc: stable); landlock_restrict_self(2): E2BIG past 16 layers",
		Since:  "5.19",
		absent: Warn,
	}
	FixCredTransfer = fix{
		What:  "keyctl(KEYCTL_SESSION_TO_PARENT) must not let a sandboxed child replace its parent's credentials and domain",
		Ref:   "CVE-2024-42318, commit 39705a6c29f8 (6.11, stable)",
		Since: "6.11",
	}
	FixSigioPgrp = fix{
		What: "F_SETOWN to the caller's own process group must record the caller's domain, so that SIGIO reaches no member outside it",
		Ref: "\"landlock: fix LANDLOCK_SCOPE_SIGNAL bypass via F_SETOWN to invoker's pgid\" (Bryam Vargas, v5 of 5 June 2026, Cc: stable; " +
			"Fixes: 18eb75f3af40 \"landlock: Always allow signals between threads of the same process\", 6.15 and 6.12.y); " +
			"7.2 is the first mainline release made after it (its selftests sigio_to_pgid_members/self are in 7.3); " +
			"Debian's 7.1 and 6.12 carry it, 6.18 and 7.0 do not (measured)",
		Since:  "7.2",
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
	Ref:    "\"landlock: Fix LOG_SUBDOMAINS_OFF inheritance across fork()\" (Mickaël Salaün, April 2026, Cc: stable; backported to 7.0.y in May 2026, so in mainline during the 7.1 cycle); landlock.h: the flag \"can also be used with a ruleset_fd value of -1 to mute subdomain logs without creating a domain\"",
	Since:  "7.1",
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

// Without judges outcome as the kernel lacking the fix: a warning on a
// release older than the fix's mainline release or whose release cannot
// be read (the reason says which), nothing (so it fails) on a release at
// or after it and for a fix whose absence is always a failure.
func (f fix) Without(outcome string) func(Env) []Deviation {
	return func(e Env) []Deviation {
		if f.absent == "" {
			return nil
		}
		why := "the kernel lacks a fix without an erratum bit: " + f.What + " (" + f.Ref + "; mainline " + f.Since + ")"
		rel, ok := ParseRelease(e.Release)
		switch {
		case !ok:
			why += fmt.Sprintf("; the kernel release %q cannot be read, so it is not known to predate the fix", e.Release)
		case !rel.Before(f.since()):
			return nil // a release that has the fix in mainline has lost it: fail
		default:
			why += "; release " + e.Release + " predates it"
		}
		return []Deviation{{Outcome: outcome, Kind: f.absent, Why: why}}
	}
}

// since parses Since; a catalogue entry without one is a programming
// error (TestFixesHaveMainlineReleases).
func (f fix) since() Release {
	r, ok := ParseRelease(f.Since)
	if !ok {
		panic(fmt.Sprintf("suites: fix %q has no mainline release", f.What))
	}
	return r
}

// Release is a kernel release: major.minor, and whether it is a release
// candidate of it (which does not yet carry what the release does).
type Release struct {
	Major, Minor int
	RC           bool
}

var releaseRE = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.\d+)?(-rc\d+)?`)

// ParseRelease reads the major.minor of a uname release ("7.3.4-amd64",
// "6.1.0-41-cloud-amd64", "7.2.0-rc3"); false when it has none.
func ParseRelease(s string) (Release, bool) {
	m := releaseRE.FindStringSubmatch(s)
	if m == nil {
		return Release{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return Release{}, false
	}
	return Release{Major: major, Minor: minor, RC: m[3] != ""}, true
}

// Before reports whether r is older than the mainline release o (o's
// own release candidates are).
func (r Release) Before(o Release) bool {
	if r.Major != o.Major {
		return r.Major < o.Major
	}
	if r.Minor != o.Minor {
		return r.Minor < o.Minor
	}
	return r.RC && !o.RC
}
