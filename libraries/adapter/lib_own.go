package adapter

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
)

// ownLibrary adapts llconform's own landlock package: best effort (the
// documentation's compatibility switch), calling thread only, the
// request's ceiling as Config.MaxABI. It enforces the rights of
// min(kernel ABI, ceiling) and needs no process of its own.
type ownLibrary struct{}

func (ownLibrary) Name() string               { return "own" }
func (ownLibrary) Version() string            { return "(this tree)" }
func (ownLibrary) Isolation() check.Isolation { return check.Thread }
func (ownLibrary) AllThreads() bool           { return false } // calling thread only (downgrade/all_threads checks the default)

func (ownLibrary) Ceilings() []int { return append([]int{0}, check.Ceilings...) }

func (ownLibrary) Promise(e check.Env, c int) Promise {
	e.Ceiling = c
	return Promise{ABI: e.LibABI()}
}

// ownRO and ownRW are the read-only and read-write sets: read-write has
// no REFER (a rule granting it on ABI 1 would lift the filesystem
// restriction, as the compatibility switch documents).
const (
	ownRO = landlock.FSExecute | landlock.FSReadFile | landlock.FSReadDir
	ownRW = ownRO | landlock.FSWriteFile | landlock.FSRemoveDir | landlock.FSRemoveFile | landlock.FSMakeChar |
		landlock.FSMakeDir | landlock.FSMakeReg | landlock.FSMakeSock | landlock.FSMakeFifo | landlock.FSMakeBlock |
		landlock.FSMakeSym | landlock.FSTruncate
)

func (ownLibrary) Run(t *check.T, req LibRequest, probes []Probe) string {
	p := landlock.Policy{}
	if req.RO != nil || req.RW != nil {
		p.FS = check.AllFS
	}
	for _, d := range req.RO {
		p.AllowPath(d, ownRO)
	}
	for _, d := range req.RW {
		p.AllowPath(d, ownRW)
	}
	ports := func(right landlock.AccessNet, list []int) {
		if list != nil {
			p.Net |= right
		}
		for _, port := range list {
			p.AllowPort(uint16(port), right)
		}
	}
	ports(landlock.NetBindTCP, req.TCPBind)
	ports(landlock.NetConnectTCP, req.TCPConnect)
	ports(landlock.NetBindUDP, req.UDPBind)
	ports(landlock.NetConnectSendUDP, req.UDPSendPort)
	if req.Scoped {
		p.Scoped = landlock.ScopeAbstractUnixSocket | landlock.ScopeSignal
	}
	r, err := p.Enforce(landlock.Config{Mode: landlock.BestEffort, Threads: landlock.CurrentThread, MaxABI: req.Ceiling})
	if err != nil {
		return fixture.EnforceFailed(err)
	}
	t.Logf("own: %s at effective ABI %d", r.State, r.ABI)
	return observe(probes)
}

func init() { addLibrary(ownLibrary{}) }
