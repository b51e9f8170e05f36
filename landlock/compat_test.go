package landlock

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// The expectations below restate the documented ABI boundaries
// (userspace-api landlock.rst, compatibility switch) instead of reading
// them from Features, so that a wrong table row fails here.
func wantFS(abi int) AccessFS {
	switch {
	case abi >= 9:
		return 0x1ffff
	case abi >= 5:
		return 0xffff
	case abi >= 3:
		return 0x7fff
	case abi == 2:
		return 0x3fff
	case abi == 1:
		return 0x1fff
	}
	return 0
}

func wantNet(abi int) AccessNet {
	switch {
	case abi >= 10:
		return 0xf
	case abi >= 4:
		return 0x3
	}
	return 0
}

func wantScopes(abi int) Scope {
	if abi >= 6 {
		return 0x3
	}
	return 0
}

func wantLogFlags(abi int) RestrictFlags {
	if abi >= 7 {
		return 0x7
	}
	return 0
}

func maximal() Policy {
	p := MaximalPolicy()
	p.QuietFS, p.QuietNet, p.QuietScoped = FSReadFile, NetBindTCP, ScopeSignal
	p.LogFlags = RestrictLogNewExecOn | RestrictLogSameExecOff | RestrictLogSubdomainsOff
	p.AllowPath("/tmp", FSReadFile|FSTruncate|FSIoctlDev)
	p.AllowPath("/usr", FSResolveUnix) // only an ABI-9 right
	p.AllowPort(80, NetConnectTCP|NetBindUDP)
	p.AllowPort(53, NetConnectSendUDP) // only an ABI-10 right
	p.Rules = append(p.Rules, PathRule{Path: "/var", Access: FSReadFile, Quiet: true})
	return p
}

func TestPlanDowngradesMaximalPolicyToEveryABI(t *testing.T) {
	for abi := 0; abi <= NewestABI; abi++ {
		for _, mode := range []Mode{BestEffort, SoftRequirement, Strict} {
			pl, err := maximal().Plan(abi, mode)
			complete := abi >= 10
			switch {
			case mode == Strict && !complete:
				var ue *UnsupportedError
				assert.Assert(t, errors.As(err, &ue), "abi %d: %v", abi, err)
				assert.Assert(t, len(ue.Missing) > 0)
				continue
			default:
				assert.NilError(t, err, "abi %d mode %v", abi, mode)
			}
			if mode == SoftRequirement && !complete {
				assert.Equal(t, pl.Enforce, false, "abi %d", abi)
				assert.Equal(t, pl.Report.State, NotEnforced)
				continue
			}
			a := pl.Attr
			assert.Equal(t, AccessFS(a.Handled_access_fs), wantFS(abi), "abi %d", abi)
			assert.Equal(t, AccessNet(a.Handled_access_net), wantNet(abi), "abi %d", abi)
			assert.Equal(t, Scope(a.Scoped), wantScopes(abi), "abi %d", abi)
			assert.Equal(t, pl.Flags, wantLogFlags(abi), "abi %d", abi)
			if abi >= 10 {
				assert.Equal(t, a.Quiet_access_fs, uint64(FSReadFile))
				assert.Equal(t, pl.Report.State, FullyEnforced)
			} else {
				assert.Equal(t, a.Quiet_access_fs|a.Quiet_access_net|a.Quiet_scoped, uint64(0), "abi %d", abi)
			}
			if abi == 0 {
				assert.Equal(t, pl.Enforce, false)
				assert.Equal(t, pl.Report.State, NotEnforced)
				continue
			}
			if abi < 10 {
				assert.Equal(t, pl.Report.State, PartiallyEnforced, "abi %d", abi)
			}
			// Rules whose rights all drop are skipped, others are masked.
			for _, r := range pl.rules {
				assert.Assert(t, r.fs&^wantFS(abi) == 0 && r.net&^wantNet(abi) == 0, "abi %d rule %v", abi, r.rule)
				if abi < 10 {
					assert.Equal(t, r.flags, uint32(0), "abi %d: QUIET flag must drop", abi)
				}
			}
			wantRules := 3 // /tmp, port 80, /var
			if abi < 4 {
				wantRules = 2 // no port rules
			}
			if abi >= 9 {
				wantRules++ // /usr resolve_unix
			}
			if abi >= 10 {
				wantRules++ // port 53 udp
			}
			assert.Equal(t, len(pl.rules), wantRules, "abi %d: %v", abi, pl.Report.Skipped)
		}
	}
}

func TestPlanReferOnABI1(t *testing.T) {
	p := Policy{FS: FSRights(NewestABI)}
	p.AllowPath("/tmp", FSRefer|FSReadFile)
	pl, err := p.Plan(1, BestEffort)
	assert.NilError(t, err)
	assert.Equal(t, pl.Attr.Handled_access_fs, uint64(0), "a policy granting REFER cannot be kept on ABI 1")
	assert.Equal(t, pl.Report.State, NotEnforced)

	// Handling REFER without granting it keeps the same meaning on ABI 1.
	p = Policy{FS: FSRights(NewestABI)}
	p.AllowPath("/tmp", FSReadFile)
	pl, err = p.Plan(1, BestEffort)
	assert.NilError(t, err)
	assert.Equal(t, AccessFS(pl.Attr.Handled_access_fs), wantFS(1))

	pl, err = p.Plan(2, BestEffort)
	assert.NilError(t, err)
	assert.Equal(t, AccessFS(pl.Attr.Handled_access_fs), wantFS(2))
}

func TestPlanRejectsBadPolicies(t *testing.T) {
	for name, p := range map[string]Policy{
		"empty":          {},
		"unhandled rule": {FS: FSReadFile, Rules: []Rule{PathRule{Path: "/", Access: FSWriteFile}}},
		"quiet subset":   {FS: FSReadFile, QuietFS: FSWriteFile},
		"tsync in flags": {FS: FSReadFile, LogFlags: RestrictTSync},
		"port range":     {Net: NetBindTCP, Rules: []Rule{PortRule{Port: 65536, Access: NetBindTCP}}},
		"unknown right":  {FS: 1 << 40},
	} {
		_, err := p.Plan(NewestABI, BestEffort)
		assert.Assert(t, err != nil, name)
	}
}

func TestEncodeRulesetAttrSizes(t *testing.T) {
	for _, tc := range []struct {
		attr unix.LandlockRulesetAttr
		size int
	}{
		{unix.LandlockRulesetAttr{}, 8},
		{unix.LandlockRulesetAttr{Handled_access_fs: 1}, 8},
		{unix.LandlockRulesetAttr{Handled_access_net: 1}, 16},
		{unix.LandlockRulesetAttr{Handled_access_fs: 1, Scoped: 1}, 24},
		{unix.LandlockRulesetAttr{Handled_access_fs: 1, Quiet_access_fs: 1}, 32},
		{unix.LandlockRulesetAttr{Scoped: 1, Quiet_scoped: 1}, 48},
	} {
		assert.Equal(t, len(EncodeRulesetAttr(tc.attr)), tc.size, "%+v", tc.attr)
	}
}

func TestFeatureTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	counts := map[Kind]int{}
	for _, f := range Features {
		assert.Assert(t, !seen[f.Name], "duplicate %s", f.Name)
		seen[f.Name] = true
		assert.Assert(t, f.ABI >= 1 && f.ABI <= NewestABI, f.Name)
		counts[f.Kind]++
	}
	// Bits of one kind are distinct single bits, and NewestABI is the
	// newest row: a new ABI's rows and the constant move together.
	bits := map[Kind]uint64{}
	newest := 0
	for _, f := range Features {
		newest = max(newest, f.ABI)
		if f.Kind == KindAttrField || f.Kind == KindRuleType {
			continue
		}
		assert.Assert(t, f.Value != 0 && f.Value&(f.Value-1) == 0, "%s is not a single bit", f.Name)
		assert.Assert(t, bits[f.Kind]&f.Value == 0, "%s reuses a bit", f.Name)
		bits[f.Kind] |= f.Value
	}
	assert.Equal(t, newest, NewestABI)
	assert.Assert(t, counts[KindAttrField] > 0 && counts[KindFSRight] > 0)
}
