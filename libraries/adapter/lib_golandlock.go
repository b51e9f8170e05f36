package adapter

import (
	"runtime/debug"

	gll "github.com/landlock-lsm/go-landlock/landlock"
	"github.com/llconform/llconform/suites/check"
)

// goLandlock adapts github.com/landlock-lsm/go-landlock: a preset V<n>
// (the request's ceiling; V11 for "newest") in best-effort mode, with
// RODirs, RWDirs, port rules and scopes through one Restrict call. It
// restricts every thread of the process (psx below ABI 8, TSYNC from it),
// so each case runs in a process of its own.
//
// Its documented promises (godoc of v0.11.2), and where they differ from
// the kernel documentation's compatibility switch and from llconform's
// own package:
//   - V1..V11 are the ABIs it knows; a newer kernel is used as V11.
//   - It checks errata (landlock/internal/abi.go): a kernel of ABI ≥ 6
//     whose mask lacks erratum 2 is used as ABI 5, dropping the scopes.
//     The kernel documentation advises applications not to check errata.
//   - Without Landlock best effort succeeds and enforces nothing.
//   - A rule must be handled by the requested preset even in best effort
//     (a port rule under V3 is EINVAL): the adapter passes only the rules
//     the preset handles, as a careful caller must.
//   - no_new_privs is always set when it enforces anything.
//   - REFER on ABI 1 in best effort means no sandbox at all (WithRefer);
//     these rows never ask for REFER.
//   - It cannot report what it enforced: only an error.
type goLandlock struct{}

func (goLandlock) Name() string               { return "go-landlock" }
func (goLandlock) Isolation() check.Isolation { return check.Process }
func (goLandlock) AllThreads() bool           { return true }

func (goLandlock) Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/landlock-lsm/go-landlock" {
				return d.Version
			}
		}
	}
	return "(unknown)"
}

// goLandlockNewest is the newest preset it has.
const goLandlockNewest = 11

func (goLandlock) Ceilings() []int {
	out := []int{0}
	for c := 1; c <= goLandlockNewest; c++ {
		out = append(out, c)
	}
	return out
}

func (goLandlock) Promise(e check.Env, c int) Promise {
	var p Promise
	if e.ABI < check.ABILandlock {
		return p
	}
	p.ABI = min(e.ABI, goLandlockNewest)
	if p.ABI >= check.ABIScoped && !e.HasFix(2) {
		p.ABI = check.ABIScoped - 1
		p.Note = "erratum 2 not fixed in the kernel's mask: go-landlock uses the ABI below the scopes"
	}
	if c > 0 {
		p.ABI = min(p.ABI, c)
	}
	return p
}

var goLandlockPresets = []gll.Config{gll.V1, gll.V1, gll.V2, gll.V3, gll.V4, gll.V5, gll.V6, gll.V7, gll.V8, gll.V9, gll.V10, gll.V11}

func (goLandlock) Run(t *check.T, req LibRequest, probes []Probe) string {
	preset := req.Ceiling
	if preset == 0 {
		preset = goLandlockNewest
	}
	cfg := goLandlockPresets[preset]
	var rules []gll.Rule
	if len(req.RO) > 0 {
		rules = append(rules, gll.RODirs(req.RO...))
	}
	if len(req.RW) > 0 {
		rules = append(rules, gll.RWDirs(req.RW...))
	}
	if req.RO == nil && req.RW == nil {
		cfg.HandledAccessFS = 0
	}
	// Only what the preset handles, and only what the request asks.
	netRules := func(handled bool, list []int, rule func(uint16) gll.NetRule) {
		for _, p := range list {
			if handled {
				rules = append(rules, rule(uint16(p)))
			}
		}
	}
	handles := func(r gll.AccessNetSet) bool { return cfg.HandledAccessNet&r != 0 }
	netRules(handles(1<<0), req.TCPBind, gll.BindTCP)
	netRules(handles(1<<1), req.TCPConnect, gll.ConnectTCP)
	netRules(handles(1<<2), req.UDPBind, gll.BindUDP)
	netRules(handles(1<<3), req.UDPSendPort, gll.ConnectSendUDP)
	keep := gll.AccessNetSet(0)
	for bit, list := range [][]int{req.TCPBind, req.TCPConnect, req.UDPBind, req.UDPSendPort} {
		if list != nil {
			keep |= 1 << bit
		}
	}
	cfg.HandledAccessNet &= keep
	if !req.Scoped {
		cfg.Scoped = 0
	}
	if err := cfg.BestEffort().Restrict(rules...); err != nil {
		return "enforce failed: " + err.Error()
	}
	return observe(probes)
}

func init() { addLibrary(goLandlock{}) }
