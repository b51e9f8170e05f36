package suites

import (
	"strconv"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Audit records naming another process (ptrace) and network records
// under quiet port marks (ABI 10: quiet_access_net).

var achPtrace = auditCheck{fixture.AuditLandlockAccess, []string{"domain", "blockers", "opid", "ocomm"},
	`audit(1729738800.268:30): domain=1a6fdc66f blockers=ptrace opid=1 ocomm="systemd"`}

func init() {
	auditChecks = append(auditChecks, achPtrace)
	check.Build(func() {
		// A refused ptrace attach names the tracee: its pid and comm.
		check.Register(fsAuditCase("ptrace_record_names_tracee", check.Sys(func(e check.Env) string {
			if e.ABI < check.ABILogFlags {
				return "attach=EPERM records=0"
			}
			return "attach=EPERM records=1: domain=$dom blockers=ptrace opid=$pid ocomm=pause"
		}), func(t *check.T, a *fixture.AuditSession, _ string) string {
			pid, kill, err := fixture.Sleeper(t)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer fixture.KillFromOutside(kill)
			if e := enforceAttr(t, fixture.Attr(8, fsMakeDir), 0, nil); e != "" {
				return e
			}
			o := check.Outcome(attach(pid))
			recs, err := a.Mark()
			if err != nil {
				return check.SetupFailedf("audit records: %v", err)
			}
			vars := traceVars{}
			enforcerDomain(vars, recs)
			vars.set("opid", strconv.Itoa(pid), "pid")
			return "attach=" + o + " " + achPtrace.observe(recs, fixture.OpidIs(pid), vars)
		}).Mirroring("ptrace_test.c:audit.trace"))

		// A quiet mark on a port silences only the rights of the quiet
		// mask: a connect refused while only bind is quiet is logged.
		for _, r := range []struct {
			name, mirror string
			quietMask    uint64
			bound        bool // the socket was bound before the enforcement
			logged       bool
		}{
			{"net_connect_logged_when_only_bind_is_quiet", "net_test.c:audit.connect_quiet_bind", netBindTCP, false, true},
			{"net_connect_quiet_when_connect_is_quiet", "", netConnTCP, false, false},
			{"net_connect_from_bound_socket_logged", "net_test.c:audit.connect_bound", 0, true, true},
		} {
			r := r
			want := check.Sys(func(e check.Env) string {
				size := 16
				if r.quietMask != 0 {
					size = 48
				}
				if o, ok := attrRefusal(e, size, check.ABINet); ok {
					return o
				}
				if !r.logged || e.ABI < check.ABILogFlags {
					return "connect=EACCES records=0"
				}
				return "connect=EACCES records=1: domain=$dom blockers=net.connect_tcp"
			})
			c := fsAuditCase(r.name, want, func(t *check.T, a *fixture.AuditSession, _ string) string {
				srv, port, err := fixture.Server(fixture.IPv4, unix.SOCK_STREAM, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(srv)
				cli, err := fixture.Socket(fixture.IPv4, unix.SOCK_STREAM, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(cli)
				if r.bound {
					if err := unix.Bind(cli, fixture.IPv4.Addr(0)); err != nil {
						return check.SetupFailed(err)
					}
				}
				b := fixture.Attr(16, 0, netBindTCP|netConnTCP)
				var rules func(fd int) error
				if r.quietMask != 0 {
					b = fixture.Attr(48, 0, netBindTCP|netConnTCP, 0, 0, r.quietMask)
					rules = func(fd int) error {
						return fixture.AddPort(fd, 0, uint64(port), unix.LANDLOCK_ADD_RULE_QUIET)
					}
				}
				if e := enforceAttr(t, b, 0, rules); e != "" {
					return e
				}
				o := check.Outcome(fixture.ConnectFresh(cli, fixture.IPv4.Addr(port)))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				vars := traceVars{}
				enforcerDomain(vars, recs)
				p := strconv.Itoa(port)
				mine := func(rec fixture.AuditRecord) bool {
					return rec.Fields["blockers"] == "net.connect_tcp" && hasValue(rec, p)
				}
				return "connect=" + o + " " + achNet.observe(recs, mine, vars)
			}).Covering("§3.8", "§3.14")
			if r.mirror != "" {
				c = c.Mirroring(r.mirror)
			}
			check.Register(c)
		}
	})
}
