package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Trace cases on documented properties that need audit, a mount
// namespace or a domain's whole life: logged does not follow the global
// audit switch, a NOAUDIT probe is neither traced, logged nor counted,
// and a mount denial is a change_topology blocker.

func init() {
	check.Build(func() {
		// "The logged field reflects the domain's log policy but not
		// the global audit_enabled toggle" (events-landlock.rst, "Audit
		// filtering equivalence"): with audit off the event still says
		// logged=1 while no record is written.
		check.Register(traceCase("logged_independent_of_audit_enabled", check.Thread, fixture.AuditSkip,
			traceAlways(check.ABILogFlags, "", "audit_enabled=0 open=EACCES landlock_deny_access_fs domain=$dom same_exec=1 logged=1 records=0"),
			[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				a, err := fixture.OpenAudit()
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer a.Close()
				ds, err := realDirs(t, "d")
				if err != nil {
					return check.SetupFailed(err)
				}
				if e := enforceTraced(t, rawLayer{fs: fsReadDir}, nil); e != "" {
					return e
				}
				before, err := a.Enabled()
				if err != nil {
					return check.SetupFailedf("AUDIT_GET: %v", err)
				}
				if before == 2 {
					return check.SetupFailedf("audit is locked on (enabled=2): it cannot be switched off for the case")
				}
				if err := a.SetEnabled(0); err != nil {
					return check.SetupFailedf("AUDIT_SET enabled=0: %v", err)
				}
				o := check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
				// Back on before the marker: no AUDIT_USER passes while
				// audit is off.
				if err := a.SetEnabled(before); err != nil {
					return check.SetupFailedf("AUDIT_SET enabled=%d: %v", before, err)
				}
				return loggedObservation("audit_enabled=0 open="+o, a, s, ds[0])
			}).Covering("sec.6"))

		// "Some LSM hooks suppress logging for speculative permission
		// probes (e.g., reading /proc/<pid>/status uses
		// PTRACE_MODE_NOAUDIT). When NOAUDIT is set, neither audit
		// records nor trace events are emitted, and the denial is not
		// counted in denials" (admin-guide, "Observability guarantees").
		// A thread in a domain reads the status of a process outside it,
		// then ends; its domain's free_domain must count no denial.
		check.Register(traceCase("noaudit_probe_not_traced_logged_or_counted", check.Thread, fixture.AuditSkip,
			traceAlways(check.ABILandlock, "", "read=ok no landlock_deny_ptrace records=0 landlock_free_domain domain=$dom denials=0"),
			[]string{"create_domain", "deny_ptrace", "free_domain"}, func(t *check.T, s *traceSession) string {
				a, err := fixture.OpenAudit()
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer a.Close()
				pid, kill, err := fixture.Sleeper(t)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer fixture.KillFromOutside(kill)
				status := filepath.Join("/proc", strconv.Itoa(pid), "status")
				o, tid := inThrowawayThread(func() string {
					if e := enforceTraced(t, rawLayer{fs: fsMakeDir}, nil); e != "" {
						return e
					}
					_, err := os.ReadFile(status)
					return "read=" + check.Outcome(err)
				})
				if o != "read=ok" {
					return o
				}
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				dom := lastOf(evs, "landlock_create_domain", tid, "domain")
				if dom == "" {
					return o + " no landlock_create_domain"
				}
				mine := fieldIs("domain", dom)
				evs, err = s.waitFor(freeWait, func(ev traceEvent) bool { return ev.name == "landlock_free_domain" && mine(ev) })
				if err != nil {
					return check.SetupFailed(err)
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				vars := traceVars{}
				vars.set("domain", dom, "dom")
				return fmt.Sprintf("%s %s records=%d %s", o, chkDenyPtrace.observe(evs, mine, vars),
					len(fixture.ViewOf(recs, fixture.OpidIs(pid)).Access), chkFreeDomain.observe(evs, mine, vars))
			}).Covering("sec.6"))

		// PTRACE_TRACEME from a child outside the domain of its parent
		// (the tracer): the event fires in the child's context, names
		// the tracer's domain, and same_exec describes the tracer.
		check.Register(traceCase("deny_ptrace_traceme_fields", check.Thread, tracemeSkip,
			traceAlways(check.ABILandlock, "", "traceme=EPERM landlock_deny_ptrace domain=$dom same_exec=1 logged=1 tracee_domain=0 tracee_pid=$pid tracee_comm=$comm"),
			[]string{"create_domain", "deny_ptrace"}, func(t *check.T, s *traceSession) string {
				traceme := fixture.TargetSpec{WaitGo: true, Results: 1, Action: func(p *tinyasm.Program) {
					p.SysTo(2, tinyasm.SysPtrace, tinyasm.Imm(unix.PTRACE_TRACEME), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
				}}
				vars := traceVars{}
				var pid int
				o := withTopology(t, outside, traceme, func(p *fixture.TinyProc) string {
					pid = p.Pid
					var comm []byte
					var err error
					offDomain(func() { comm, err = os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.Pid), "comm")) })
					if err != nil {
						return check.SetupFailed(err)
					}
					vars.set("tracee_comm", traceEscape(strings.TrimSuffix(string(comm), "\n")), "comm")
					if err := p.GoAhead(); err != nil {
						return check.SetupFailed(err)
					}
					r, err := p.Read(1)
					if err != nil {
						return "target: " + err.Error()
					}
					return "traceme=" + fixture.Result(r[0])
				})
				if !strings.HasPrefix(o, "traceme=") {
					return o
				}
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				domainVars(vars, evs, unix.Gettid())
				vars.set("tracee_pid", strconv.Itoa(pid), "pid")
				return o + " " + chkDenyPtrace.observe(evs, fieldIs("tracee_pid", strconv.Itoa(pid)), vars)
			}).Mirroring("ptrace_test.c:trace_ptrace_traceme.deny_ptrace"))

		// SIGIO to a file owner outside the signal scope: the owner was
		// set from inside the domain, the write that raises the signal
		// fires the denial.
		check.Register(traceCase("deny_scope_signal_fown_fields", check.Thread, nil,
			traceAlways(check.ABIScoped, "E2BIG", "pending=no landlock_deny_scope_signal domain=$dom same_exec=1 logged=1 target_domain=0 target_pid=$pid target_comm=$comm"),
			[]string{"create_domain", "deny_scope_signal"}, func(t *check.T, s *traceSession) string {
				p, err := fixture.StartProgram(t.Root(), sigTarget.Program(), true)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer fixture.KillFromOutside(p.Kill)
				comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.Pid), "comm"))
				if err != nil {
					return check.SetupFailed(err)
				}
				sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(sp[0])
				defer unix.Close(sp[1])
				if _, err := unix.FcntlInt(uintptr(sp[0]), unix.F_SETFL, unix.O_ASYNC); err != nil {
					return check.SetupFailed(err)
				}
				if e := enforceLayer(t, rawLayer{scoped: sigScope}); e != "" {
					return e
				}
				if _, err := unix.FcntlInt(uintptr(sp[0]), unix.F_SETOWN, p.Pid); err != nil {
					return "setown=" + check.Outcome(err)
				}
				if _, err := unix.Write(sp[1], []byte("x")); err != nil {
					return check.SetupFailedf("trigger: %s", check.Outcome(err))
				}
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				vars := traceVars{}
				domainVars(vars, evs, unix.Gettid())
				vars.set("target_pid", strconv.Itoa(p.Pid), "pid")
				vars.set("target_comm", traceEscape(strings.TrimSuffix(string(comm), "\n")), "comm")
				return "pending=" + pendingOf(p.Pid, unix.SIGIO) + " " + chkDenySignal.observe(evs, fieldIs("target_pid", strconv.Itoa(p.Pid)), vars)
			}).Mirroring("scoped_signal_test.c:trace_fown.deny_scope_fown"))

		// Paths the events cannot render are shown as documented markers
		// (events-landlock.rst, "Differences from audit records"): a
		// directory on a detached mount is <unreachable>, one deeper than
		// PATH_MAX is <too_long>. Both are reached through a descriptor.
		unreachable := traceCase("deny_access_fs_path_unreachable", check.Thread, nil,
			traceAlways(check.ABILandlock, "", "open=EACCES landlock_deny_access_fs domain=$dom blockers=read_dir dev=$dev ino=$sub path=<unreachable>"),
			[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				ds, err := realDirs(t, "m")
				if err != nil {
					return check.SetupFailed(err)
				}
				if err := unix.Mount("tmpfs", ds[0], "tmpfs", 0, "size=1m"); err != nil {
					return check.SetupFailedf("mount tmpfs: %v", err)
				}
				if err := os.Mkdir(filepath.Join(ds[0], "sub"), 0o755); err != nil {
					return check.SetupFailed(err)
				}
				fd, err := unix.Open(filepath.Join(ds[0], "sub"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				if err := unix.Unmount(ds[0], unix.MNT_DETACH); err != nil {
					return check.SetupFailedf("detach: %v", err)
				}
				return markerObservation(t, s, fd)
			})
		check.Register(withMountNS(unreachable, unreachable.Run))
		check.Register(traceCase("deny_access_fs_path_too_long", check.Thread, nil,
			traceAlways(check.ABILandlock, "", "open=EACCES landlock_deny_access_fs domain=$dom blockers=read_dir dev=$dev ino=$sub path=<too_long>"),
			[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				fd, err := unix.Open(t.Root(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				comp := strings.Repeat("l", 250)
				for range 18 { // 18 x 251 bytes: past PATH_MAX (4096)
					if err := unix.Mkdirat(fd, comp, 0o755); err != nil {
						unix.Close(fd)
						return check.SetupFailed(err)
					}
					next, err := unix.Openat(fd, comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
					unix.Close(fd)
					if err != nil {
						return check.SetupFailed(err)
					}
					fd = next
				}
				defer unix.Close(fd)
				return markerObservation(t, s, fd)
			}))

		// A mount under a domain handling filesystem access is denied as
		// a topology change: the blocker is change_topology (the
		// documented blocker type name of the fs denial event).
		c := traceCase("deny_change_topology", check.Thread, nil,
			traceAlways(check.ABILandlock, "", "mount=EPERM landlock_deny_access_fs domain=$dom same_exec=1 logged=1 blockers=change_topology dev=$dev ino=$m path=$m"),
			[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				ds, err := realDirs(t, "m")
				if err != nil {
					return check.SetupFailed(err)
				}
				vars := traceVars{}
				if err := objectVars(vars, ds[0], "m"); err != nil {
					return check.SetupFailed(err)
				}
				if e := enforceTraced(t, rawLayer{fs: fsMakeDir}, nil); e != "" {
					return e
				}
				err = unix.Mount("tmpfs", ds[0], "tmpfs", 0, "size=1m")
				if err == nil {
					unix.Unmount(ds[0], unix.MNT_DETACH)
				}
				o := check.Outcome(err)
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				tid := unix.Gettid()
				domainVars(vars, evs, tid)
				return "mount=" + o + " " + chkDenyFS.observe(evs, byPid(tid), vars)
			}).Mirroring("trace_fs_test.c:trace_fs.deny_change_topology")
		check.Register(withMountNS(c, c.Run))
	})
}

// markerObservation enforces a READ_DIR layer, opens the directory fd
// refers to, and shows the thread's denial with the directory's device
// and inode named.
func markerObservation(t *check.T, s *traceSession, fd int) string {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return check.SetupFailed(err)
	}
	vars := traceVars{}
	vars.set("dev", fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), "dev")
	vars.set("ino", strconv.FormatUint(st.Ino, 10), "sub")
	if e := enforceTraced(t, rawLayer{fs: fsReadDir}, nil); e != "" {
		return e
	}
	d, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(d)
	}
	evs, rerr := s.events()
	if rerr != nil {
		return check.SetupFailed(rerr)
	}
	tid := unix.Gettid()
	domainVars(vars, evs, tid)
	return "open=" + check.Outcome(err) + " " + describeEvents(selectEvents(evs, chkDenyFS.name, byPid(tid)), chkDenyFS.name, vars, "domain", "blockers", "dev", "ino", "path")
}

// loggedObservation is what a case that opened path saw of its denial
// in both streams: prefix, the trace event's logged field and the
// number of audit records for path.
func loggedObservation(prefix string, a *fixture.AuditSession, s *traceSession, path string) string {
	recs, err := a.Mark()
	if err != nil {
		return check.SetupFailedf("audit records: %v", err)
	}
	evs, err := s.events()
	if err != nil {
		return check.SetupFailed(err)
	}
	vars := traceVars{}
	domainVars(vars, evs, unix.Gettid())
	mine := fieldIs("path", traceEscape(path))
	return fmt.Sprintf("%s %s records=%d", prefix, chkLogged.observe(evs, mine, vars), len(fixture.ViewOf(recs, fixture.PathIs(path)).Access))
}
