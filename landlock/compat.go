package landlock

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode says what to do when the kernel lacks part of a policy.
type Mode int

const (
	// BestEffort enforces the subset the kernel supports, exactly as the
	// documentation's compatibility switch does, and reports the rest.
	BestEffort Mode = iota
	// SoftRequirement enforces the policy only if the kernel supports all
	// of it; otherwise it enforces nothing and reports why (no error).
	SoftRequirement
	// Strict returns an *UnsupportedError if anything would be dropped.
	Strict
)

func (m Mode) String() string {
	return [...]string{"best-effort", "soft-requirement", "strict"}[m]
}

// Enforcement is how much of a policy is in force.
type Enforcement string

const (
	FullyEnforced     Enforcement = "fully enforced"
	PartiallyEnforced Enforcement = "partially enforced"
	NotEnforced       Enforcement = "not enforced"
)

// Drop is one requested feature the kernel (or the ceiling) lacks.
type Drop struct {
	Feature string // UAPI name, or a rule
	ABI     int    // the ABI that introduced it, 0 when not ABI-bound
	Reason  string
}

func (d Drop) String() string {
	if d.ABI > 0 {
		return fmt.Sprintf("%s (needs ABI %d): %s", d.Feature, d.ABI, d.Reason)
	}
	return d.Feature + ": " + d.Reason
}

// Report says what was requested, what was enforced, what was dropped and
// why. Silent degradation to "no sandbox" is the classic failure of
// best-effort code; the report makes it visible.
type Report struct {
	Kernel     Status
	Ceiling    int // ABI ceiling in force, 0 for none
	ABI        int // effective ABI: min(kernel, ceiling); 0 without Landlock
	Mode       Mode
	Requested  Policy
	Enforced   Policy // handled sets, quiet masks and flags passed to the kernel
	Dropped    []Drop
	Skipped    []string // rules not added, with the reason
	Threads    string   // how all threads were restricted
	NoNewPrivs string   // "flag", "prctl" or "not set"
	State      Enforcement
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "landlock: %s (%s, kernel %s ABI %d", r.State, r.Mode, r.Kernel.State, r.Kernel.ABI)
	if r.Ceiling > 0 {
		fmt.Fprintf(&b, ", ceiling %d", r.Ceiling)
	}
	fmt.Fprintf(&b, ", effective ABI %d)\n", r.ABI)
	fmt.Fprintf(&b, "  requested: fs=%v net=%v scoped=%v\n", r.Requested.FS, r.Requested.Net, r.Requested.Scoped)
	fmt.Fprintf(&b, "  enforced:  fs=%v net=%v scoped=%v\n", r.Enforced.FS, r.Enforced.Net, r.Enforced.Scoped)
	for _, d := range r.Dropped {
		fmt.Fprintf(&b, "  dropped: %v\n", d)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "  skipped rule: %s\n", s)
	}
	if r.Threads != "" {
		fmt.Fprintf(&b, "  threads: %s, no_new_privs: %s\n", r.Threads, r.NoNewPrivs)
	}
	return b.String()
}

// UnsupportedError is returned in Strict mode: it names every requested
// feature the kernel (or the ABI ceiling) lacks.
type UnsupportedError struct {
	ABI     int
	Missing []Drop
}

func (e *UnsupportedError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, d := range e.Missing {
		parts[i] = d.String()
	}
	return fmt.Sprintf("landlock: strict mode: the kernel (effective ABI %d) lacks %s", e.ABI, strings.Join(parts, "; "))
}

// plannedRule is a rule with the access and flags that will be passed.
type plannedRule struct {
	rule   Rule
	fs     AccessFS
	net    AccessNet
	flags  uint32
	origin int // index in Policy.Rules
}

// Plan is the downgraded policy for one ABI, ready to be passed to the
// kernel. It is computed without any syscall.
type Plan struct {
	Attr    unix.LandlockRulesetAttr
	rules   []plannedRule
	Flags   RestrictFlags // logging flags kept
	Enforce bool          // false: nothing is to be enforced
	Report  Report
}

// Plan downgrades the policy to ABI abi (0: no Landlock) in the given mode.
// It is pure: tests drive it for every ABI.
func (p Policy) Plan(abi int, mode Mode) (Plan, error) {
	if err := p.validate(); err != nil {
		return Plan{}, err
	}
	r := Report{ABI: abi, Mode: mode, Requested: p}
	drop := func(kind Kind, m uint64, reason string) {
		for _, n := range names(kind, m) {
			r.Dropped = append(r.Dropped, Drop{Feature: n, ABI: FeatureABI(n), Reason: reason})
		}
	}
	unsupported := "not supported by the kernel"
	if abi == 0 {
		unsupported = "no Landlock in this kernel"
	}

	fs := p.FS & FSRights(abi)
	drop(KindFSRight, uint64(p.FS&^fs), unsupported)
	net := p.Net & NetRights(abi)
	drop(KindNetRight, uint64(p.Net&^net), unsupported)
	scoped := p.Scoped & Scopes(abi)
	drop(KindScope, uint64(p.Scoped&^scoped), unsupported)

	// On ABI 1 every reparenting link/rename is denied (EXDEV) once any FS
	// right is handled. A policy that grants REFER somewhere cannot be
	// preserved: best effort then leaves the filesystem unrestricted rather
	// than break renames the policy allows.
	if abi == 1 && p.grantsRefer() {
		if fs != 0 {
			drop(KindFSRight, uint64(fs), "REFER is granted by a rule, and ABI 1 denies every cross-directory link/rename: filesystem restriction dropped")
		}
		fs = 0
	}

	quietOK := abi >= FeatureABI("quiet_access_fs")
	qfs, qnet, qscoped := p.QuietFS&fs, p.QuietNet&net, p.QuietScoped&scoped
	if !quietOK {
		qfs, qnet, qscoped = 0, 0, 0
	}
	if p.QuietFS != qfs || p.QuietNet != qnet || p.QuietScoped != qscoped {
		r.Dropped = append(r.Dropped, Drop{Feature: "quiet_access_fs/quiet_access_net/quiet_scoped", ABI: FeatureABI("quiet_access_fs"), Reason: unsupported + " (audit only, no decision changes)"})
	}

	flags := p.LogFlags & RestrictFlagsOf(abi)
	drop(KindRestrictFlag, uint64(p.LogFlags&^flags), unsupported)

	pl := Plan{Flags: flags}
	pl.Attr = unix.LandlockRulesetAttr{
		Handled_access_fs: uint64(fs), Handled_access_net: uint64(net), Scoped: uint64(scoped),
		Quiet_access_fs: uint64(qfs), Quiet_access_net: uint64(qnet), Quiet_scoped: uint64(qscoped),
	}
	quietRule := AddRuleFlags(abi)&addRuleQuiet != 0
	for i, rule := range p.Rules {
		pr := plannedRule{rule: rule, origin: i}
		var quiet, quietMask bool
		switch x := rule.(type) {
		case PathRule:
			pr.fs, quiet, quietMask = x.Access&fs, x.Quiet, qfs != 0
		case PortRule:
			pr.net, quiet, quietMask = x.Access&net, x.Quiet, qnet != 0
		}
		if quiet && quietRule && quietMask {
			pr.flags = addRuleQuiet
		} else if quiet {
			r.Dropped = append(r.Dropped, Drop{Feature: "LANDLOCK_ADD_RULE_QUIET on " + rule.String(), ABI: FeatureABI("LANDLOCK_ADD_RULE_QUIET"), Reason: unsupported})
		}
		if pr.fs == 0 && pr.net == 0 && pr.flags == 0 {
			r.Skipped = append(r.Skipped, rule.String()+": none of its rights is handled")
			continue
		}
		pl.rules = append(pl.rules, pr)
	}

	r.Enforced = Policy{FS: fs, Net: net, Scoped: scoped, QuietFS: qfs, QuietNet: qnet, QuietScoped: qscoped, LogFlags: flags, KeepPrivileges: p.KeepPrivileges}
	for _, pr := range pl.rules {
		r.Enforced.Rules = append(r.Enforced.Rules, pr.rule)
	}
	pl.Enforce = fs != 0 || net != 0 || scoped != 0
	switch {
	case !pl.Enforce:
		r.State = NotEnforced
	case len(r.Dropped) > 0:
		r.State = PartiallyEnforced
	default:
		r.State = FullyEnforced
	}

	if len(r.Dropped) > 0 {
		switch mode {
		case Strict:
			pl.Report = r
			return pl, &UnsupportedError{ABI: abi, Missing: r.Dropped}
		case SoftRequirement:
			pl.Enforce = false
			r.State = NotEnforced
			r.Enforced = Policy{}
		}
	}
	pl.Report = r
	return pl, nil
}

func (p Policy) grantsRefer() bool {
	if p.FS&FSRefer == 0 {
		return false
	}
	for _, rule := range p.Rules {
		if pr, ok := rule.(PathRule); ok && pr.Access&FSRefer != 0 {
			return true
		}
	}
	return false
}

// validate rejects policies that are wrong on every kernel.
func (p Policy) validate() error {
	switch {
	case p.FS == 0 && p.Net == 0 && p.Scoped == 0:
		return fmt.Errorf("landlock: the policy handles nothing: set FS, Net or Scoped")
	case p.FS&^FSRights(NewestABI) != 0, p.Net&^NetRights(NewestABI) != 0, p.Scoped&^Scopes(NewestABI) != 0:
		return fmt.Errorf("landlock: the policy uses rights unknown to this library (newest ABI %d)", NewestABI)
	case p.QuietFS&^p.FS != 0 || p.QuietNet&^p.Net != 0 || p.QuietScoped&^p.Scoped != 0:
		return fmt.Errorf("landlock: quiet masks must be subsets of the handled rights")
	case p.LogFlags&^(RestrictLogSameExecOff|RestrictLogNewExecOn|RestrictLogSubdomainsOff) != 0:
		return fmt.Errorf("landlock: Policy.LogFlags takes logging flags only; TSYNC and NO_NEW_PRIVS are chosen by Enforce")
	}
	for _, rule := range p.Rules {
		switch x := rule.(type) {
		case PathRule:
			if x.Access&^p.FS != 0 {
				return fmt.Errorf("landlock: rule %v grants %v, which the policy does not handle", x, x.Access&^p.FS)
			}
		case PortRule:
			if x.Access&^p.Net != 0 {
				return fmt.Errorf("landlock: rule %v grants %v, which the policy does not handle", x, x.Access&^p.Net)
			}
			if x.Port > 0xffff {
				return fmt.Errorf("landlock: rule %v: port out of range", x)
			}
		}
	}
	return nil
}
