package suites

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// More trace event cases: network, ptrace and scope denials, rule
// evaluation, TSYNC enforcement, domain deallocation, and who may read
// the events.

// tsyncSummary judges the enforce_domain events of a TSYNC
// restriction of domain dom: one per thread that existed before (tids),
// exactly one that completes the operation, and process_wide on all.
func tsyncSummary(evs []traceEvent, dom string, tids []int) string {
	enf := selectEvents(evs, "landlock_enforce_domain", fieldIs("domain", dom))
	if len(enf) == 0 {
		return "no landlock_enforce_domain"
	}
	seen := map[int]bool{}
	complete := 0
	wide := map[string]bool{}
	for _, ev := range enf {
		seen[ev.pid] = true
		if ev.fields["complete"] == "1" {
			complete++
		}
		wide[ev.fields["process_wide"]] = true
	}
	var missing []string
	for _, tid := range tids {
		if !seen[tid] {
			missing = append(missing, strconv.Itoa(tid))
		}
	}
	every := "yes"
	if len(missing) > 0 {
		every = "no (not on " + strings.Join(missing, ",") + ")"
	}
	var ws []string
	for w := range wide {
		ws = append(ws, w)
	}
	slices.Sort(ws)
	return fmt.Sprintf("enforce_domain on every thread=%s complete=1 events=%d process_wide=%s", every, complete, strings.Join(ws, ","))
}

// threadIDs lists the threads of this process that are alive.
func threadIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

func registerTraceMore() {
	// TSYNC: one create_domain, one enforce_domain per thread in the
	// thread's own context, one of them concluding the operation, all
	// process-wide. In a process of its own: it sandboxes every thread.
	check.Register(traceCase("tsync_enforce_domain_on_every_thread", check.Process, nil,
		traceAlways(check.ABITSync, "restrict=EINVAL", "restrict=ok enforce_domain on every thread=yes complete=1 events=1 process_wide=1"),
		[]string{"create_domain", "enforce_domain"}, func(t *check.T, s *traceSession) string {
			before, err := threadIDs()
			if err != nil {
				return check.SetupFailed(err)
			}
			if e := enforceTraced(t, rawLayer{fs: fsMakeDir, flags: tsyncFlag}, nil); e != "" {
				return e
			}
			after, err := threadIDs()
			if err != nil {
				return check.SetupFailed(err)
			}
			var alive []int // threads that existed before and still do
			for _, tid := range before {
				if slices.Contains(after, tid) {
					alive = append(alive, tid)
				}
			}
			evs, err := s.events()
			if err != nil {
				return check.SetupFailed(err)
			}
			dom := lastOf(evs, "landlock_create_domain", unix.Gettid(), "domain")
			if dom == "" {
				return "restrict=ok no landlock_create_domain"
			}
			// A thread that was exiting meanwhile (eligible threads are
			// the non-exiting ones) is gone by now.
			later, err := threadIDs()
			if err != nil {
				return check.SetupFailed(err)
			}
			var stayed []int
			for _, tid := range alive {
				if slices.Contains(later, tid) {
					stayed = append(stayed, tid)
				}
			}
			return "restrict=ok " + tsyncSummary(evs, dom, stayed)
		}).Mirroring("trace_test.c:trace_enforce.enforce"))

	// The domain of a thread that exits is freed (from a kworker, after
	// its credentials are): free_domain counts every denial, logged or
	// not. Waited for with a bounded poll.
	for _, r := range []struct {
		name, mirror string
		flags        uint32
	}{
		{"free_domain_counts_denials", "trace_test.c:trace.free_domain", 0},
		{"free_domain_counts_unlogged_denials", "trace_test.c:trace.non_audit_visible_denial_counting", logSameExecOff},
	} {
		r := r
		need := check.ABILandlock
		if r.flags != 0 {
			need = check.ABILogFlags
		}
		check.Register(traceCase(r.name, check.Thread, nil,
			traceAlways(need, "restrict=EINVAL", "open=EACCES,EACCES,EACCES deny events=3 landlock_free_domain domain=$dom denials=3"),
			[]string{"create_domain", "deny_access_fs", "free_domain"}, func(t *check.T, s *traceSession) string {
				ds, err := realDirs(t, "d")
				if err != nil {
					return check.SetupFailed(err)
				}
				o, tid := inThrowawayThread(func() string {
					if e := enforceTraced(t, rawLayer{fs: fsReadDir, flags: r.flags}, nil); e != "" {
						return e
					}
					var outs []string
					for range 3 {
						outs = append(outs, check.Outcome(fixture.OpenClose(ds[0], openDirFlags)))
					}
					return "open=" + strings.Join(outs, ",")
				})
				if !strings.HasPrefix(o, "open=") {
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
				vars := traceVars{}
				vars.set("domain", dom, "dom")
				return fmt.Sprintf("%s deny events=%d %s", o, len(selectEvents(evs, "landlock_deny_access_fs", mine)), chkFreeDomain.observe(evs, mine, vars))
			}).Mirroring(r.mirror))
	}

	// Network denials name the blocker and the checked port.
	for _, f := range []fixture.Family{fixture.IPv4, fixture.IPv6} {
		f := f
		check.Register(
			traceCase("deny_access_net_bind_"+f.Name, check.Thread, noIPv6(f),
				traceAlways(check.ABINet, "EINVAL", "bind=EACCES landlock_deny_access_net domain=$dom same_exec=1 logged=1 blockers=bind_tcp port=$port"),
				[]string{"create_domain", "deny_access_net"}, func(t *check.T, s *traceSession) string {
					port, err := fixture.FreePort(f, unix.SOCK_STREAM, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					if e := enforceAttr(t, fixture.Attr(16, 0, netBindTCP), 0, nil); e != "" {
						return e
					}
					o := check.Outcome(fixture.BindOn(f, unix.SOCK_STREAM, 0, port))
					return "bind=" + o + " " + netObservation(s, port, chkDenyNet)
				}).Mirroring("net_test.c:trace_net.deny_access_net_bind"),
			traceCase("deny_access_net_connect_"+f.Name, check.Thread, noIPv6(f),
				traceAlways(check.ABINet, "EINVAL", "connect=EACCES landlock_deny_access_net domain=$dom same_exec=1 logged=1 blockers=connect_tcp port=$port"),
				[]string{"create_domain", "deny_access_net"}, func(t *check.T, s *traceSession) string {
					srv, port, err := fixture.Server(f, unix.SOCK_STREAM, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(srv)
					if e := enforceAttr(t, fixture.Attr(16, 0, netConnTCP), 0, nil); e != "" {
						return e
					}
					o := check.Outcome(fixture.ConnectTo(f, unix.SOCK_STREAM, 0, port))
					return "connect=" + o + " " + netObservation(s, port, chkDenyNet)
				}).Mirroring("net_test.c:trace_net_address.deny_access_net"),
		)
	}
	check.Register(traceCase("check_rule_net_port_fields", check.Thread, nil,
		traceAlways(check.ABINet, "EINVAL", "bind=ok landlock_check_rule_net_port domain=$dom access_request=bind_tcp port=$port grants={bind_tcp}"),
		[]string{"create_domain", "check_rule_net_port"}, func(t *check.T, s *traceSession) string {
			port, err := fixture.FreePort(fixture.IPv4, unix.SOCK_STREAM, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			if e := enforceAttr(t, fixture.Attr(16, 0, netBindTCP|netConnTCP), 0, func(fd int) error {
				return fixture.AddPort(fd, netBindTCP|netConnTCP, uint64(port), 0)
			}); e != "" {
				return e
			}
			o := check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, 0, port))
			return "bind=" + o + " " + netObservation(s, port, chkRuleNet)
		}).Mirroring("net_test.c:trace_net_check_rule.check_rule_net_fields"))

	// Rule evaluation: one check_rule_inode per matching rule, with the
	// requested rights and, per layer, those the rule grants.
	type ruleRow struct {
		name    string
		mirrors []string
		layers  []func(d, p, other string) ([]byte, func(fd int) error)
		file    bool // open the file d/f instead of the directory d
		want    string
		need    int
	}
	one := func(handled, granted uint64, on func(d, p, other string) string) func(d, p, other string) ([]byte, func(fd int) error) {
		return func(d, p, other string) ([]byte, func(fd int) error) {
			return fixture.Attr(8, handled), pathRule(granted, on(d, p, other))
		}
	}
	onD := func(d, _, _ string) string { return d }
	onOther := func(_, _, o string) string { return o }
	ruleRows := []ruleRow{
		{"check_rule_inode_fields", []string{"fs_test.c:trace_layout1.check_rule_fs_fields", "trace_fs_test.c:trace_fs.allowed_access"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsReadDir|fsReadFile, fsReadDir, onD)}, false,
			"open=ok landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$d grants={read_dir} no landlock_deny_access_fs", check.ABILandlock},
		{"check_rule_inode_grants_only_the_request", []string{"fs_test.c:trace_layout1.check_rule_fs_request_subset"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsReadDir|fsReadFile|fsWriteFile, fsReadDir|fsReadFile|fsWriteFile, onD)}, false,
			"open=ok landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$d grants={read_dir} no landlock_deny_access_fs", check.ABILandlock},
		{"check_rule_inode_optional_truncate", []string{"fs_test.c:trace_layout1.check_rule_fs_optional_access"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsReadFile|fsTruncate, fsReadFile, onD)}, true,
			"open=ok landlock_check_rule_inode domain=$dom access_request=read_file+truncate dev=$dev ino=$d grants={read_file} no landlock_deny_access_fs", check.ABITruncate},
		{"check_rule_inode_every_matching_rule", []string{"fs_test.c:trace_layout1.check_rule_fs_multiple_rules", "fs_test.c:trace_layout1.check_rule_fs_empty_grant"},
			[]func(d, p, o string) ([]byte, func(int) error){func(d, p, _ string) ([]byte, func(fd int) error) {
				return fixture.Attr(8, fsReadDir|fsReadFile), func(fd int) error {
					if err := pathRule(fsReadFile, d)(fd); err != nil {
						return err
					}
					return pathRule(fsReadDir, p)(fd)
				}
			}}, false,
			"open=ok landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$d grants={}; landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$p grants={read_dir} no landlock_deny_access_fs", check.ABILandlock},
		{"check_rule_inode_nested_layers", []string{"trace_fs_test.c:trace_fs.check_rule_nested"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsReadDir, fsReadDir, onD), one(fsReadDir, fsReadDir, onD)}, false,
			"open=ok landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$d grants={read_dir,read_dir} no landlock_deny_access_fs", check.ABILandlock},
		{"check_rule_inode_layer_without_rule", []string{"trace_fs_test.c:trace_fs.check_rule_nested"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsReadDir, fsReadDir, onD), one(fsReadDir, fsReadDir, onOther)}, false,
			"open=EACCES landlock_check_rule_inode domain=$dom access_request=read_dir dev=$dev ino=$d grants={read_dir,} landlock_deny_access_fs domain=$dom same_exec=1 logged=1 blockers=read_dir dev=$dev ino=$d path=$d", check.ABILandlock},
		{"check_rule_inode_not_for_unhandled_access", []string{"trace_fs_test.c:trace_fs.check_rule_unhandled"},
			[]func(d, p, o string) ([]byte, func(int) error){one(fsMakeDir, fsMakeDir, onD)}, false,
			"open=ok no landlock_check_rule_inode no landlock_deny_access_fs", check.ABILandlock},
	}
	for _, r := range ruleRows {
		r := r
		before := ""
		if r.need > check.ABILandlock {
			before = "EINVAL"
		}
		check.Register(traceCase(r.name, check.Thread, nil, traceAlways(r.need, before, r.want),
			[]string{"create_domain", "check_rule_inode", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				ds, err := realDirs(t, "p/d", "p", "other")
				if err != nil {
					return check.SetupFailed(err)
				}
				vars := traceVars{}
				for i, n := range []string{"d", "p", "other"} {
					if err := objectVars(vars, ds[i], n); err != nil {
						return check.SetupFailed(err)
					}
				}
				target := ds[0]
				flags := openDirFlags
				if r.file {
					target = ds[0] + "/f"
					if err := os.WriteFile(target, nil, 0o644); err != nil {
						return check.SetupFailed(err)
					}
					flags = unix.O_RDONLY | unix.O_CLOEXEC
				}
				for _, l := range r.layers {
					b, rules := l(ds[0], ds[1], ds[2])
					if e := enforceAttr(t, b, 0, rules); e != "" {
						return e
					}
				}
				o := check.Outcome(fixture.OpenClose(target, flags))
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				tid := unix.Gettid()
				domainVars(vars, evs, tid)
				return "open=" + o + " " + chkRuleInode.observe(evs, byPid(tid), vars) + " " + chkDenyFS.observe(evs, byPid(tid), vars)
			}).Mirroring(r.mirrors...))
	}

	// Ptrace and scope denials name the other party: its domain (0
	// outside any), its pid and its escaped comm.
	check.Register(
		traceCase("deny_ptrace_fields", check.Thread, ptraceSkip,
			traceAlways(check.ABILandlock, "", "attach=EPERM landlock_deny_ptrace domain=$dom same_exec=1 logged=1 tracee_domain=0 tracee_pid=$pid tracee_comm=$comm comm recovered=yes"),
			[]string{"create_domain", "deny_ptrace"}, func(t *check.T, s *traceSession) string {
				return otherPartyObservation(t, s, func(pid int) string { return "attach=" + check.Outcome(attach(pid)) },
					rawLayer{fs: fsMakeDir}, chkDenyPtrace, "tracee_pid", "tracee_comm")
			}).Mirroring("ptrace_test.c:trace_ptrace.deny_ptrace"),
		traceCase("deny_scope_signal_fields", check.Thread, nil,
			traceAlways(check.ABIScoped, "E2BIG", "kill=EPERM landlock_deny_scope_signal domain=$dom same_exec=1 logged=1 target_domain=0 target_pid=$pid target_comm=$comm comm recovered=yes"),
			[]string{"create_domain", "deny_scope_signal"}, func(t *check.T, s *traceSession) string {
				return otherPartyObservation(t, s, func(pid int) string { return "kill=" + check.Outcome(unix.Kill(pid, unix.SIGWINCH)) },
					rawLayer{scoped: sigScope}, chkDenySignal, "target_pid", "target_comm")
			}).Mirroring("scoped_signal_test.c:trace_signal.deny_scope_signal"),
		traceCase("deny_scope_abstract_unix_socket_fields", check.Thread, nil,
			traceAlways(check.ABIScoped, "E2BIG", "connect=EPERM landlock_deny_scope_abstract_unix_socket domain=$dom same_exec=1 logged=1 peer_domain=0 peer_pid=$pid sun_path=$name sun_path recovered=yes"),
			[]string{"create_domain", "deny_scope_abstract_unix_socket"}, func(t *check.T, s *traceSession) string {
				// An abstract name with an embedded NUL, a space and "=".
				name := fmt.Sprintf("llconform\x00trace %d=%d", os.Getpid(), unix.Gettid())
				srv, err := fixture.UnixServer("@"+name, unix.SOCK_STREAM)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(srv)
				if e := enforceLayer(t, rawLayer{scoped: scopeAbs}); e != "" {
					return e
				}
				o := check.Outcome(fixture.UnixConnect("@"+name, unix.SOCK_STREAM))
				evs, err := s.events()
				if err != nil {
					return check.SetupFailed(err)
				}
				tid := unix.Gettid()
				vars := traceVars{}
				domainVars(vars, evs, tid)
				vars.set("peer_pid", strconv.Itoa(os.Getpid()), "pid")
				vars.set("sun_path", traceEscape(name), "name")
				sel := selectEvents(evs, chkDenyUnix.name, byPid(tid))
				return "connect=" + o + " " + describeEvents(sel, chkDenyUnix.name, vars, chkDenyUnix.keys...) + " " +
					recovered(sel, "sun_path", name)
			}).Mirroring("scoped_abstract_unix_test.c:trace_unix.deny_scope_unix"),
	)

	// tracefs is closed to unprivileged users (the events expose every
	// sandbox of the system: admin-guide "Observability security
	// considerations").
	check.Register(check.Case{Area: "trace", Name: "tracefs_closed_to_unprivileged", Covers: []string{"obs.1"},
		Skip: func(e check.Env) string {
			if e.Root {
				return "checks the unprivileged pass (root reads the events in the other trace cases)"
			}
			var st unix.Statfs_t
			if err := unix.Statfs(tracefsRoot, &st); err != nil || st.Type != unix.TRACEFS_MAGIC {
				return "no tracefs mounted at " + tracefsRoot
			}
			return ""
		},
		Want: func(check.Env) string { return "read trace=EACCES enable events=EACCES" },
		Run: func(t *check.T) string {
			r := check.Outcome(fixture.OpenClose(traceFile("trace"), unix.O_RDONLY))
			w := check.Outcome(fixture.OpenClose(traceFile("events", "enable"), unix.O_WRONLY))
			return "read trace=" + r + " enable events=" + w
		}})
}

// netObservation shows the thread's events checked by chk, with its
// domain and port named.
func netObservation(s *traceSession, port int, chk traceCheck) string {
	evs, err := s.events()
	if err != nil {
		return check.SetupFailed(err)
	}
	tid := unix.Gettid()
	vars := traceVars{}
	domainVars(vars, evs, tid)
	vars.set("port", strconv.Itoa(port), "port")
	return chk.observe(evs, byPid(tid), vars)
}

// recovered says whether field of the single event unescapes to want.
func recovered(evs []traceEvent, field, want string) string {
	if len(evs) != 1 {
		return field + " recovered=no"
	}
	raw, ok := traceUnescape(evs[0].fields[field])
	if ok && raw == want {
		return field + " recovered=yes"
	}
	return field + " recovered=no"
}

// otherPartyObservation starts a target named specialComm outside the
// domain, enforces l, acts on the target and shows the thread's events.
func otherPartyObservation(t *check.T, s *traceSession, act func(pid int) string, l rawLayer, chk traceCheck, pidField, commField string) string {
	pid, kill, err := namedSleeper(t.Root(), specialComm)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer fixture.KillFromOutside(kill)
	if e := enforceLayer(t, l); e != "" {
		return e
	}
	o := act(pid)
	evs, err := s.events()
	if err != nil {
		return check.SetupFailed(err)
	}
	tid := unix.Gettid()
	vars := traceVars{}
	domainVars(vars, evs, tid)
	vars.set(pidField, strconv.Itoa(pid), "pid")
	vars.set(commField, traceEscape(specialComm), "comm")
	sel := selectEvents(evs, chk.name, byPid(tid))
	rec := strings.Replace(recovered(sel, commField, specialComm), commField, "comm", 1)
	return o + " " + describeEvents(sel, chk.name, vars, chk.keys...) + " " + rec
}
