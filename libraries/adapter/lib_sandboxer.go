package adapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/llconform/llconform/suites/check"
)

// sandboxerLibrary is a process adapter around the kernel's reference
// sandboxer (samples/landlock/sandboxer.c): the request becomes its
// environment (LL_FS_RO, LL_FS_RW, LL_TCP_BIND, LL_TCP_CONNECT,
// LL_UDP_BIND, LL_UDP_CONNECT_SEND, LL_SCOPED), it enforces on itself and
// execs this binary with the probes in LLCONFORM_PROBES, which prints one
// outcome line. No outcome line means the sandboxer refused (it exits 1
// on every failure of its own).
//
// Its documented behaviour (the source's comments and its switch on the
// ABI, 7.3.4): it handles every filesystem right of the kernel's ABI
// (REFER dropped on ABI 1: "this sandboxer knowingly forbids refer
// operations"; LL_FS_RW grants every right, REFER included), network rights from ABI 4 (UDP from 10) and scopes from
// 6, always sets no_new_privs, knows ABIs up to 11, and refuses to run the
// command without Landlock (ENOSYS, EOPNOTSUPP): Promise.Refuses. It has
// no ABI ceiling. Where it departs from the kernel documentation's
// compatibility switch without saying so — port rules for a right the
// kernel lacks make it exit 1 instead of being dropped — the cases expect
// the switch: that is a finding, not an expectation.
type sandboxerLibrary struct{}

// SandboxerPath is where the agent finds the sandboxer: the initramfs
// puts it there; LLCONFORM_SANDBOXER overrides it (native runs).
const SandboxerPath = "/lib/llconform/sandboxer"

func sandboxerPath() string {
	if p := os.Getenv("LLCONFORM_SANDBOXER"); p != "" {
		return p
	}
	return SandboxerPath
}

func (sandboxerLibrary) Name() string               { return "sandboxer" }
func (sandboxerLibrary) Isolation() check.Isolation { return check.Thread } // the enforcer is a child process
func (sandboxerLibrary) Ceilings() []int            { return []int{0} }
func (sandboxerLibrary) AllThreads() bool           { return false } // single-threaded C: the exec'd program inherits its domain

func (sandboxerLibrary) Version() string {
	if v, err := os.ReadFile(sandboxerPath() + ".version"); err == nil {
		return strings.TrimSpace(string(v))
	}
	return "(unknown)"
}

// sandboxerNewest is the newest ABI the 7.3 sandboxer knows.
const sandboxerNewest = 11

func (sandboxerLibrary) Promise(e check.Env, c int) Promise {
	if e.ABI < check.ABILandlock {
		return Promise{Refuses: "the sandboxer exits 1 without Landlock (ENOSYS or EOPNOTSUPP)"}
	}
	return Promise{ABI: min(e.ABI, sandboxerNewest), RWRefer: true}
}

func (sandboxerLibrary) Run(t *check.T, req LibRequest, probes []Probe) string {
	sb := sandboxerPath()
	if _, err := os.Stat(sb); err != nil {
		return check.SetupFailedf("no sandboxer binary (%v): run with --library sandboxer so that it is built into the initramfs", err)
	}
	self, err := os.Executable()
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	pj, _ := json.Marshal(probes)
	ports := func(list []int) string {
		s := make([]string, len(list))
		for i, p := range list {
			s[i] = fmt.Sprint(p)
		}
		return strings.Join(s, ":")
	}
	// The probe process is this binary: it must stay executable.
	env := []string{ProbesEnv + "=" + string(pj), "GOGC=off", "LL_FS_RO=" + strings.Join(append([]string{self}, req.RO...), ":"),
		"LL_FS_RW=" + strings.Join(req.RW, ":")}
	for _, v := range []struct {
		name string
		list []int
	}{{"LL_TCP_BIND", req.TCPBind}, {"LL_TCP_CONNECT", req.TCPConnect}, {"LL_UDP_BIND", req.UDPBind}, {"LL_UDP_CONNECT_SEND", req.UDPSendPort}} {
		if v.list != nil {
			env = append(env, v.name+"="+ports(v.list))
		}
	}
	if req.Scoped {
		env = append(env, "LL_SCOPED=a:s")
	}
	cmd := exec.Command(sb, self)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	for _, line := range strings.Split(stdout.String(), "\n") {
		if o, ok := strings.CutPrefix(line, outcomeLine); ok {
			return o
		}
	}
	t.Logf("sandboxer gave no outcome (%s): %s", exitStatus(runErr), strings.TrimSpace(tail(stderr.String(), 300)))
	return "refused"
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func init() { addLibrary(sandboxerLibrary{}) }
