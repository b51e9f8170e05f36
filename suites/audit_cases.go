package suites

import (
	"fmt"
	"os"
	"strings"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The audit cases. Each enforces with the raw syscalls (explicit flags
// and quiet fields), denies something unique to the case, and counts the
// Landlock records about it. Before ABI 7 no Landlock record exists.

const (
	fsReadDir = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
	fsMakeDir = uint64(unix.LANDLOCK_ACCESS_FS_MAKE_DIR)
	sigScope  = uint64(unix.LANDLOCK_SCOPE_SIGNAL)
)

// rawLayer is one layer enforced with the raw syscalls.
type rawLayer struct {
	fs, scoped, quietFS, quietScoped uint64
	quietOn                          []string // paths marked by a quiet rule (no access)
	flags                            uint32
}

func (l rawLayer) attrBytes() []byte {
	switch {
	case l.quietFS != 0 || l.quietScoped != 0:
		return fixture.Attr(48, l.fs, 0, l.scoped, l.quietFS, 0, l.quietScoped)
	case l.scoped != 0:
		return fixture.Attr(24, l.fs, 0, l.scoped)
	}
	return fixture.Attr(8, l.fs)
}

// enforceLayer enforces l on the calling thread: "" or the failure's
// outcome (an errno name).
func enforceLayer(t *check.T, l rawLayer) string {
	fd, err := fixture.Create(l.attrBytes(), 0)
	if err != nil {
		return check.Outcome(err)
	}
	defer unix.Close(fd)
	for _, p := range l.quietOn {
		openErr, err := fixture.AddPathOf(fd, 0, p, unix.LANDLOCK_ADD_RULE_QUIET)
		if openErr != nil {
			return check.SetupFailed(openErr)
		}
		if err != nil {
			return "quiet rule: " + check.Outcome(err)
		}
	}
	if err := fixture.Restrict(t, fd, l.flags); err != nil {
		return check.Outcome(err)
	}
	return ""
}

// auditCase is a root-only case run with an audit session.
func auditCase(name string, skip func(check.Env) string, want func(check.Env) string, run func(t *check.T, a *fixture.AuditSession) string) check.Case {
	covers := fixture.AuditCovers
	if strings.Contains(name, "quiet") {
		covers = []string{"§3.13", "§3.14", "§6.12", "sec.6"}
	}
	return check.Case{Area: "audit", Name: name, Skip: skips(fixture.AuditSkip, skip), Want: want, Covers: covers,
		Run: func(t *check.T) string {
			a, err := fixture.OpenAudit()
			if err != nil {
				return check.SetupFailedf("%v", err)
			}
			defer a.Close()
			return run(t, a)
		}}
}

// recordsWant is the expectation of an action decided by Landlock that
// is logged (from ABI 7) or not: decision plus the records. need is the
// ABI the layer needs (its syscall fails before, with failErr).
func recordsWant(need int, failErr, decision string, logged bool, blockers string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI < need {
			return failErr
		}
		if e.ABI < check.ABILogFlags || !logged {
			return decision + " records=0"
		}
		return decision + " records=1 blockers=" + blockers + " domain=allocated by the enforcer"
	})
}

// loggedByEnforcer is the observation of one logged read_dir denial.
const loggedByEnforcer = "open=EACCES records=1 blockers=fs.read_dir domain=allocated by the enforcer"

// auditDirs makes n directories of the case, before any domain.
func auditDirs(t *check.T, names ...string) []string {
	var out []string
	for _, n := range names {
		t.Mkdirs(n)
		out = append(out, t.Path(n))
	}
	return out
}

// openDirRecords opens dir, marks, and describes the records about it.
func openDirRecords(a *fixture.AuditSession, dir string) string {
	o := check.Outcome(fixture.OpenClose(dir, openDirFlags))
	recs, err := a.Mark()
	if err != nil {
		return check.SetupFailedf("audit records: %v", err)
	}
	return "open=" + o + " " + fixture.ViewOf(recs, fixture.PathIs(dir)).Describe(os.Getpid())
}

// openPathProgram opens path as a directory and reports the result.
func openPathProgram(path string) []byte {
	p := tinyasm.New()
	p.SysTo(2, tinyasm.SysOpen, p.Cstr(path), tinyasm.Imm(openDirFlags))
	p.Report(3, 2, 1)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

func init() {
	check.Build(func() {
		check.Register(mirrored(
			// A denial produces a record naming the blocked right and the
			// domain, which an "allocated" record attributes to its creator.
			auditCase("fs_denial_record_names_blocker_and_domain", nil,
				recordsWant(check.ABILandlock, "", "open=EACCES", true, "fs.read_dir"),
				func(t *check.T, a *fixture.AuditSession) string {
					d := auditDirs(t, "d")[0]
					if e := enforceLayer(t, rawLayer{fs: fsReadDir}); e != "" {
						return e
					}
					return openDirRecords(a, d)
				}),
			auditCase("log_same_exec_off_suppresses_own_denials", nil,
				recordsWant(check.ABILogFlags, "EINVAL", "open=EACCES", false, ""),
				func(t *check.T, a *fixture.AuditSession) string {
					d := auditDirs(t, "d")[0]
					if e := enforceLayer(t, rawLayer{fs: fsReadDir, flags: logSameExecOff}); e != "" {
						return e
					}
					return openDirRecords(a, d)
				}),
		)...)

		// Across execve: the case thread's own denial (same executable) and
		// a program's it executes (new executable) under each flag pair.
		execRows := []struct {
			name           string
			flags          uint32
			same, afterRec bool
		}{
			{"denials_after_exec_not_logged_by_default", 0, true, false},
			{"log_new_exec_on_logs_denials_after_exec", logNewExecOn, true, true},
			{"log_same_exec_off_with_new_exec_on_logs_only_after_exec", logSameExecOff | logNewExecOn, false, true},
			{"log_same_exec_off_silences_before_and_after_exec", logSameExecOff, false, false},
		}
		for _, r := range execRows {
			r := r
			need := check.ABILandlock
			if r.flags != 0 {
				need = check.ABILogFlags
			}
			want := check.Sys(func(e check.Env) string {
				if e.ABI < need {
					return "EINVAL"
				}
				n := func(b bool) int {
					if b && e.ABI >= check.ABILogFlags {
						return 1
					}
					return 0
				}
				return fmt.Sprintf("same: open=EACCES records=%d; exec: open=EACCES records=%d", n(r.same), n(r.afterRec))
			})
			check.Register(mirrored(auditCase(r.name, nil, want, func(t *check.T, a *fixture.AuditSession) string {
				ds := auditDirs(t, "same", "exec")
				if e := enforceLayer(t, rawLayer{fs: fsReadDir, flags: r.flags}); e != "" {
					return e
				}
				o := check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				same := len(fixture.ViewOf(recs, fixture.PathIs(ds[0])).Access)
				res, err := runReporting(t.Root(), openPathProgram(ds[1]), 1)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				recs, err = a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				return fmt.Sprintf("same: open=%s records=%d; exec: open=%s records=%d", o, same, fixture.OkOrErr(res[0]), len(fixture.ViewOf(recs, fixture.PathIs(ds[1])).Access))
			}))...)
		}

		// LOG_SUBDOMAINS_OFF concerns the domains created after it, below
		// the one it is set with (or with ruleset_fd -1, below none).
		subRows := []struct {
			name   string
			first  *rawLayer // nil: restrict_self(-1, LOG_SUBDOMAINS_OFF)
			second rawLayer
			logged bool
		}{
			{"log_subdomains_off_silences_nested_domain", &rawLayer{fs: fsMakeDir, flags: logSubdomainOff}, rawLayer{fs: fsReadDir}, false},
			{"nested_domain_denial_logged_without_log_subdomains_off", &rawLayer{fs: fsMakeDir}, rawLayer{fs: fsReadDir}, true},
			{"log_subdomains_off_keeps_own_denials", &rawLayer{fs: fsReadDir, flags: logSubdomainOff}, rawLayer{fs: fsMakeDir}, true},
			{"no_ruleset_log_subdomains_off_silences_later_domain", nil, rawLayer{fs: fsReadDir}, false},
		}
		for _, r := range subRows {
			r := r
			need := check.ABILandlock
			if r.first == nil || r.first.flags != 0 {
				need = check.ABILogFlags
			}
			c := auditCase(r.name, nil, recordsWant(need, "EINVAL", "open=EACCES", r.logged, "fs.read_dir"), func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				if r.first == nil {
					if err := fixture.Restrict(t, -1, logSubdomainOff); err != nil {
						return check.Outcome(err)
					}
				} else if e := enforceLayer(t, *r.first); e != "" {
					return e
				}
				if e := enforceLayer(t, r.second); e != "" {
					return e
				}
				return openDirRecords(a, d)
			})
			if r.first == nil {
				c = c.Deviating(check.FixLogSubdomainsOff.Without(loggedByEnforcer))
			}
			check.Register(mirrored(c)...)
		}

		// LOG_SUBDOMAINS_OFF set with ruleset_fd -1 is inherited by a
		// program executed afterwards: the domain it creates for itself is
		// silenced; without the flag its own denial is logged.
		for _, off := range []bool{true, false} {
			off := off
			name := "log_subdomains_off_inherited_across_exec"
			need := check.ABILogFlags
			if !off {
				name, need = "own_domain_of_executed_program_logged", check.ABILandlock
			}
			c := auditCase(name, nil, recordsWant(need, "EINVAL", "open=EACCES", !off, "fs.read_dir"), func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				if off {
					if err := fixture.Restrict(t, -1, logSubdomainOff); err != nil {
						return check.Outcome(err)
					}
				}
				s := fixture.TargetSpec{Layer: &fixture.LayerSpec{FS: fsReadDir}, Results: 1, Action: func(p *tinyasm.Program) {
					p.SysTo(2, tinyasm.SysOpen, p.Cstr(d), tinyasm.Imm(openDirFlags))
				}}
				p, err := fixture.StartTarget(t.Root(), s)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer p.Kill()
				if p.Layer != 0 {
					return fixture.Result(p.Layer) // no Landlock: ENOSYS or EOPNOTSUPP
				}
				res, err := p.Read(1)
				if err != nil {
					return "target: " + err.Error()
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				return "open=" + fixture.OkOrErr(res[0]) + " " + fixture.ViewOf(recs, fixture.PathIs(d)).Describe(p.Pid)
			})
			if off {
				c = c.Deviating(check.FixLogSubdomainsOff.Without(loggedByEnforcer))
			}
			check.Register(mirrored(c)...)
		}

		// Quiet rules and masks (ABI 10) suppress records, never decisions.
		quietRows := []struct {
			name   string
			layer  func(dirs []string) rawLayer
			logged bool
		}{
			{"quiet_rule_and_mask_suppress_record", func(d []string) rawLayer {
				return rawLayer{fs: fsReadDir, quietFS: fsReadDir, quietOn: []string{d[0]}}
			}, false},
			{"quiet_rule_on_parent_suppresses_record", func(d []string) rawLayer {
				return rawLayer{fs: fsReadDir, quietFS: fsReadDir, quietOn: []string{d[1]}}
			}, false},
			{"quiet_mask_without_quiet_rule_logs", func(d []string) rawLayer {
				return rawLayer{fs: fsReadDir, quietFS: fsReadDir}
			}, true},
			{"quiet_rule_for_other_right_logs", func(d []string) rawLayer {
				return rawLayer{fs: fsReadDir | fsMakeDir, quietFS: fsMakeDir, quietOn: []string{d[0]}}
			}, true},
		}
		for _, r := range quietRows {
			r := r
			check.Register(mirrored(auditCase(r.name, nil, recordsWant(check.ABIQuiet, "E2BIG", "open=EACCES", r.logged, "fs.read_dir"), func(t *check.T, a *fixture.AuditSession) string {
				ds := auditDirs(t, "p/d", "p")
				if e := enforceLayer(t, r.layer(ds)); e != "" {
					return e
				}
				return openDirRecords(a, ds[0])
			}))...)
		}

		// Scope and ptrace denials are logged too; quiet_scoped silences
		// the scope's records.
		signalRecords := func(l rawLayer) func(t *check.T, a *fixture.AuditSession) string {
			return func(t *check.T, a *fixture.AuditSession) string {
				p, err := fixture.StartTarget(t.Root(), sigTarget)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer fixture.KillFromOutside(p.Kill)
				if e := enforceLayer(t, l); e != "" {
					return e
				}
				o := check.Outcome(unix.Kill(p.Pid, blocked))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				return "kill=" + o + " " + fixture.ViewOf(recs, fixture.OpidIs(p.Pid)).Describe(os.Getpid())
			}
		}
		check.Register(mirrored(
			auditCase("signal_denial_record", nil, recordsWant(check.ABIScoped, "E2BIG", "kill=EPERM", true, "scope.signal"),
				signalRecords(rawLayer{scoped: sigScope})),
			auditCase("quiet_scoped_suppresses_signal_record", nil, recordsWant(check.ABIQuiet, "E2BIG", "kill=EPERM", false, ""),
				signalRecords(rawLayer{scoped: sigScope, quietScoped: sigScope})),
			auditCase("ptrace_denial_record", ptraceSkip, recordsWant(check.ABILandlock, "", "attach=EPERM", true, "ptrace"),
				func(t *check.T, a *fixture.AuditSession) string {
					p, err := fixture.StartTarget(t.Root(), fixture.TargetSpec{})
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					defer fixture.KillFromOutside(p.Kill)
					if e := enforceLayer(t, rawLayer{fs: fsMakeDir}); e != "" {
						return e
					}
					o := check.Outcome(attach(p.Pid))
					recs, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					return "attach=" + o + " " + fixture.ViewOf(recs, fixture.OpidIs(p.Pid)).Describe(os.Getpid())
				}),
		)...)
	})
}
