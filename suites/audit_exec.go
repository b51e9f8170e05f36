package suites

import (
	"fmt"
	"os"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
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
			check.Register(auditCase(r.name, nil, want, func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				p, err := fixture.StartTarget(t.Root(), sigTarget)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer fixture.KillFromOutside(p.Kill)
				if e := enforceLayer(t, rawLayer{fs: fsReadDir, scoped: sigScope, flags: r.flags}); e != "" {
					return e
				}
				res, err := runReporting(t.Root(), signalAndOpenProgram(p.Pid, d), 2)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				return fmt.Sprintf("kill=%s open=%s signal records=%d open records=%d", fixture.OkOrErr(res[0]), fixture.OkOrErr(res[1]),
					len(fixture.ViewOf(recs, fixture.OpidIs(p.Pid)).Access), len(fixture.ViewOf(recs, fixture.PathIs(d)).Access))
			}).Mirroring("audit_test.c:audit_exec.signal_and_open").Covering("obs.2"))
		}
	})
}

// forkedDomainProgram forks; the child enforces its own READ_DIR layer
// and opens dir, reporting the result; the parent waits for it.
func forkedDomainProgram(dir string) []byte {
	p := tinyasm.New()
	p.SysTo(4, tinyasm.SysFork)
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcNe, "parent")
	a := fixture.Attr(8, fsReadDir)
	p.SysTo(21, tinyasm.SysLandlockCreate, p.Blob(a), tinyasm.Imm(len(a)), tinyasm.Imm(0))
	p.Sys(tinyasm.SysPrctl, tinyasm.Imm(unix.PR_SET_NO_NEW_PRIVS), tinyasm.Imm(1), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
	p.Sys(tinyasm.SysLandlockRestr, tinyasm.SlotVal(21), tinyasm.Imm(0))
	p.SysTo(2, tinyasm.SysOpen, p.Cstr(dir), tinyasm.Imm(openDirFlags))
	p.Report(3, 2, 1)
	p.ExitGroup(tinyasm.Imm(0))
	p.Label("parent")
	p.Sys(tinyasm.SysWait4, tinyasm.SlotVal(4), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

func init() {
	check.Build(func() {
		// LOG_SUBDOMAINS_OFF set with ruleset_fd -1 survives execve and
		// then fork: the domain a forked grandchild makes is silenced.
		check.Register(auditCase("log_subdomains_off_inherited_across_fork", nil,
			recordsWant(check.ABILogFlags, "EINVAL", "open=EACCES", false, ""),
			func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				if err := fixture.Restrict(t, -1, logSubdomainOff); err != nil {
					return check.Outcome(err)
				}
				res, err := runReporting(t.Root(), forkedDomainProgram(d), 1)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				return fmt.Sprintf("open=%s records=%d", fixture.OkOrErr(res[0]), len(fixture.ViewOf(recs, fixture.PathIs(d)).Access))
			}).Deviating(check.FixLogSubdomainsOff.Without("open=EACCES records=1")).Mirroring("audit_test.c:audit.log_subdomains_off_fork").Covering("obs.2"))
	})
}

func init() {
	check.Build(func() {
		// Quiet marks against the log flags: a quiet denial stays silent
		// where LOG_NEW_EXEC_ON would log it after execve, a mark for
		// another right does not silence it.
		for _, r := range []struct {
			name      string
			quietMask uint64
			onParent  bool
			logged    bool
		}{
			{"quiet_mark_silences_denial_after_exec_with_new_exec_on", fsReadDir, false, false},
			{"quiet_mark_on_parent_silences_denial_after_exec_with_new_exec_on", fsReadDir, true, false},
			{"quiet_mark_for_other_right_logs_denial_after_exec_with_new_exec_on", fsMakeDir, false, true},
		} {
			r := r
			check.Register(auditCase(r.name, nil, recordsWant(check.ABIQuiet, "E2BIG", "open=EACCES", r.logged, "fs.read_dir"),
				func(t *check.T, a *fixture.AuditSession) string {
					ds := auditDirs(t, "p/d", "p")
					mark := ds[0]
					if r.onParent {
						mark = ds[1]
					}
					l := rawLayer{fs: fsReadDir | fsMakeDir, quietFS: r.quietMask, quietOn: []string{mark}, flags: logNewExecOn}
					if e := enforceLayer(t, l); e != "" {
						return e
					}
					res, err := runReporting(t.Root(), openPathProgram(ds[0]), 1)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					recs, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					return "open=" + fixture.OkOrErr(res[0]) + " " + fixture.ViewOf(recs, fixture.PathIs(ds[0])).Describe(os.Getpid())
				}).Mirroring("fs_test.c:audit_quiet_layout1.base").Covering("§3.14"))
		}
	})
}
