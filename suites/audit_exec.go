package suites

import (
	"fmt"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
)

// After execve: a program the case thread executes inside its domain
// sends a signal out of the signal scope and opens a directory the domain
// denies. Its denials are logged only with LOG_NEW_EXEC_ON, whatever the
// other flags (landlock.h "restrict_self_flags").

func signalAndOpenProgram(pid int, dir string) []byte {
	p := tinyasm.New()
	p.SysTo(2, tinyasm.SysKill, tinyasm.Imm(pid), tinyasm.Imm(int(blocked)))
	p.SysTo(3, tinyasm.SysOpen, p.Cstr(dir), tinyasm.Imm(openDirFlags))
	p.Report(3, 2, 2)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

func init() {
	check.Build(func() {
		for _, r := range []struct {
			name   string
			flags  uint32
			logged bool
		}{
			{"exec_signal_and_open_not_logged_by_default", 0, false},
			{"exec_signal_and_open_logged_with_new_exec_on", logNewExecOn, true},
			{"exec_signal_and_open_new_exec_on_with_same_exec_off", logNewExecOn | logSameExecOff, true},
			{"exec_signal_and_open_new_exec_on_with_subdomains_off", logNewExecOn | logSubdomainOff, true},
		} {
			r := r
			want := check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIScoped {
					return "E2BIG"
				}
				if r.flags != 0 && e.ABI < check.ABILogFlags {
					return "EINVAL"
				}
				n := 0
				if r.logged && e.ABI >= check.ABILogFlags {
					n = 1
				}
				return fmt.Sprintf("kill=EPERM open=EACCES signal records=%d open records=%d", n, n)
			})
			check.Register(auditCase(r.name, nil, want, func(t *check.T, a *auditSession) string {
				d := auditDirs(t, "d")[0]
				p, err := startTarget(t.Root(), sigTarget)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer killFromOutside(p.kill)
				if e := enforceLayer(t, rawLayer{fs: fsReadDir, scoped: sigScope, flags: r.flags}); e != "" {
					return e
				}
				res, err := runReporting(t.Root(), signalAndOpenProgram(p.pid, d), 2)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				recs, err := a.mark()
				if err != nil {
					return "audit: " + err.Error()
				}
				return fmt.Sprintf("kill=%s open=%s signal records=%d open records=%d", okOrErr(res[0]), okOrErr(res[1]),
					len(viewOf(recs, opidIs(p.pid)).access), len(viewOf(recs, pathIs(d)).access))
			}).Mirroring("audit_test.c:audit_exec.signal_and_open").Covering("obs.2"))
		}
	})
}
