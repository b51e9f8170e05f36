package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The trace event cases (Documentation/trace/events-landlock.rst and
// the kernel-doc of include/trace/events/landlock.h, Linux 7.3). Each
// enables the events it needs, acts on objects of its own, and shows
// the events its own thread (or its own target, or its own domain)
// fired, with every value it can know replaced by a name ("$dom" for
// the domain it created, "$dir" for its directory's inode and path): a
// field that is missing, has another value or belongs to someone else
// shows as itself. Root only: tracefs is closed to others (the
// unprivileged pass checks that instead).

// traceCheck is one event check: the events named name (of those the
// case selects) shown with the fields keys. sample is a line in the
// documented format: the unit test removes it and changes each field of
// it, and sees the observation change.
type traceCheck struct {
	name   string
	keys   []string
	sample string
}

func (c traceCheck) observe(evs []traceEvent, match func(traceEvent) bool, vars traceVars) string {
	return describeEvents(selectEvents(evs, c.name, match), c.name, vars, c.keys...)
}

const sampleHead = "           llc-127     [001] ..... 12.345678: "

var (
	chkCreateRuleset = traceCheck{"landlock_create_ruleset", []string{"ruleset_version", "handled_fs", "handled_net", "scoped"},
		sampleHead + "landlock_create_ruleset: ruleset=195cc6b76.0 handled_fs=read_file|read_dir handled_net=bind_tcp scoped=signal"}
	chkAddRulePath = traceCheck{"landlock_add_rule_path_beneath", []string{"ruleset_id", "access_rights", "dev", "ino", "path"},
		sampleHead + "landlock_add_rule_path_beneath: ruleset=195cc6b76.1 access_rights=read_file dev=0:17 ino=42 path=/tmp/d"}
	chkAddRuleNet = traceCheck{"landlock_add_rule_net_port", []string{"ruleset_id", "access_rights", "port"},
		sampleHead + "landlock_add_rule_net_port: ruleset=195cc6b76.1 access_rights=bind_tcp|connect_tcp port=54321"}
	chkCreateDomain = traceCheck{"landlock_create_domain", []string{"domain", "parent", "ruleset_id", "ruleset_version"},
		sampleHead + "landlock_create_domain: domain=195cc6b7c parent=0 ruleset=195cc6b76.2"}
	chkEnforce = traceCheck{"landlock_enforce_domain", []string{"domain", "complete", "process_wide", "no_new_privs"},
		sampleHead + "landlock_enforce_domain: domain=195cc6b7c complete=1 process_wide=0 no_new_privs=1"}
	chkFreeDomain = traceCheck{"landlock_free_domain", []string{"domain", "denials"},
		"     kworker/0:1-11      [000] ..... 12.5: landlock_free_domain: domain=195cc6b7c denials=3"}
	chkFreeRuleset = traceCheck{"landlock_free_ruleset", []string{"ruleset_id"},
		sampleHead + "landlock_free_ruleset: ruleset=195cc6b76.0"}
	chkDenyFS = traceCheck{"landlock_deny_access_fs", []string{"domain", "same_exec", "logged", "blockers", "dev", "ino", "path"},
		sampleHead + "landlock_deny_access_fs: domain=195cc6b7c same_exec=1 logged=1 blockers=read_dir dev=0:17 ino=42 path=/tmp/d"}
	chkLogged = traceCheck{"landlock_deny_access_fs", []string{"domain", "same_exec", "logged"},
		sampleHead + "landlock_deny_access_fs: domain=195cc6b7c same_exec=0 logged=0 blockers=read_dir dev=0:17 ino=42 path=/tmp/d"}
	chkDenyNet = traceCheck{"landlock_deny_access_net", []string{"domain", "same_exec", "logged", "blockers", "port"},
		sampleHead + "landlock_deny_access_net: domain=195cc6b7c same_exec=1 logged=1 blockers=bind_tcp port=54321"}
	chkDenyPtrace = traceCheck{"landlock_deny_ptrace", []string{"domain", "same_exec", "logged", "tracee_domain", "tracee_pid", "tracee_comm"},
		sampleHead + "landlock_deny_ptrace: domain=195cc6b7c same_exec=1 logged=1 tracee_domain=0 tracee_pid=130 tracee_comm=p\\040a"}
	chkDenySignal = traceCheck{"landlock_deny_scope_signal", []string{"domain", "same_exec", "logged", "target_domain", "target_pid", "target_comm"},
		sampleHead + "landlock_deny_scope_signal: domain=195cc6b7c same_exec=1 logged=1 target_domain=0 target_pid=130 target_comm=p\\040a"}
	chkDenyUnix = traceCheck{"landlock_deny_scope_abstract_unix_socket", []string{"domain", "same_exec", "logged", "peer_domain", "peer_pid", "sun_path"},
		sampleHead + "landlock_deny_scope_abstract_unix_socket: domain=195cc6b7c same_exec=1 logged=1 peer_domain=0 peer_pid=1 sun_path=a\\000b"}
	chkRuleInode = traceCheck{"landlock_check_rule_inode", []string{"domain", "access_request", "dev", "ino", "grants"},
		sampleHead + "landlock_check_rule_inode: domain=195cc6b7c access_request=read_dir dev=0:17 ino=42 grants={read_dir}"}
	chkRuleNet = traceCheck{"landlock_check_rule_net_port", []string{"domain", "access_request", "port", "grants"},
		sampleHead + "landlock_check_rule_net_port: domain=195cc6b7c access_request=bind_tcp port=54321 grants={bind_tcp}"}
)

// traceChecks is every field check, for the unit test.
var traceChecks = []traceCheck{chkCreateRuleset, chkAddRulePath, chkAddRuleNet, chkCreateDomain, chkEnforce,
	chkFreeDomain, chkFreeRuleset, chkDenyFS, chkLogged, chkDenyNet, chkDenyPtrace, chkDenySignal, chkDenyUnix,
	chkRuleInode, chkRuleNet}

const (
	fsReadFile  = uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE)
	fsWriteFile = uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)
	fsTruncate  = uint64(unix.LANDLOCK_ACCESS_FS_TRUNCATE)
)

// absoluteRights names the access rights a rule event reports: the
// rights the call grants plus every right of the kernel's ABI the
// ruleset does not handle (the kernel stores a rule's rights in that
// absolute form, and the event shows the "canonical per-call access
// mask ... after normalization": landlock.h kernel-doc of the event),
// in bit order, joined by "+".
func absoluteRights(kind check.FeatureKind, granted, handled uint64, abi int) string {
	var names []string
	for _, f := range check.FeaturesOf(kind) {
		if f.ABI > abi {
			continue
		}
		// REFER is the exception: "denied by default by any ruleset,
		// even if the right is not specified as handled" (userspace-api
		// landlock.rst), so an unhandled REFER is never added.
		implicit := f.Value&handled == 0 && !(kind == check.FSRight && f.Name == "refer")
		if f.Value&granted != 0 || implicit {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, "+")
}

// traceCase is a root case run with the named events enabled.
func traceCase(name string, iso check.Isolation, skip, want func(check.Env) string, events []string, run func(t *check.T, s *traceSession) string) check.Case {
	return check.Case{Area: "trace", Name: name, Isolation: iso, Skip: skips(traceSkip, skip), Want: want, Covers: []string{"obs.1"},
		Run: func(t *check.T) string {
			s, err := openTrace(events...)
			if err != nil {
				return check.SetupFailedf("%v", err)
			}
			defer s.close()
			return run(t, s)
		}}
}

// traceWant: from ABI need the expectation f gives; before it the
// failure of the syscall that needs it.
func traceWant(need int, before string, f func(check.Env) string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI < need {
			return before
		}
		return f(e)
	})
}

func traceAlways(need int, before, o string) func(check.Env) string {
	return traceWant(need, before, func(check.Env) string { return o })
}

// lastOf is a field of the last event named name by pid, "" if none.
func lastOf(evs []traceEvent, name string, pid int, field string) string {
	sel := selectEvents(evs, name, byPid(pid))
	if len(sel) == 0 {
		return ""
	}
	return sel[len(sel)-1].fields[field]
}

// domainVars names the domains the thread tid created, in order:
// $dom for the last one, $dom1, $dom2, ... for each.
func domainVars(vars traceVars, evs []traceEvent, tid int) {
	doms := selectEvents(evs, "landlock_create_domain", byPid(tid))
	for i, d := range doms {
		for _, k := range []string{"domain", "parent", "tracee_domain", "target_domain", "peer_domain"} {
			vars.set(k, d.fields["domain"], fmt.Sprintf("dom%d", i+1))
			if i == len(doms)-1 {
				vars.set(k, d.fields["domain"], "dom")
			}
		}
	}
}

// objectVars names path's dev, inode and path as $name.
func objectVars(vars traceVars, path, name string) error {
	dev, ino, err := devOf(path)
	if err != nil {
		return err
	}
	vars.set("dev", dev, "dev")
	vars.set("ino", ino, name)
	vars.set("path", traceEscape(path), name)
	return nil
}

// realDir makes the case directory's sub-directories and returns their
// paths with symbolic links resolved (the events print resolved paths).
func realDirs(t *check.T, names ...string) ([]string, error) {
	var out []string
	for _, n := range names {
		t.Mkdirs(n)
		p, err := filepath.EvalSymlinks(t.Path(n))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// enforceTraced enforces l and returns "" or the failure's outcome.
func enforceTraced(t *check.T, l rawLayer, rules func(fd int) error) string {
	return enforceAttr(t, l.attrBytes(), l.flags, rules)
}

// enforceAttr enforces a ruleset made from the attribute bytes b.
func enforceAttr(t *check.T, b []byte, flags uint32, rules func(fd int) error) string {
	fd, err := fixture.Create(b, 0)
	if err != nil {
		return check.Outcome(err)
	}
	defer unix.Close(fd)
	if rules != nil {
		if err := rules(fd); err != nil {
			return "add_rule=" + check.Outcome(err)
		}
	}
	if err := fixture.Restrict(t, fd, flags); err != nil {
		return "restrict=" + check.Outcome(err)
	}
	return ""
}

// pathRule is a rule function adding access on each path.
func pathRule(access uint64, paths ...string) func(fd int) error {
	return func(fd int) error {
		for _, p := range paths {
			openErr, err := fixture.AddPathOf(fd, access, p, 0)
			if openErr != nil {
				return openErr
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// inThrowawayThread runs f on a new OS thread that exits afterwards,
// taking its credentials (and so its domain) with it; f's result and
// the thread's id are returned.
func inThrowawayThread(f func() string) (string, int) {
	type res struct {
		o   string
		tid int
	}
	c := make(chan res)
	go func() {
		// Never unlocked: the thread ends with the goroutine.
		fixture.LockThread()
		c <- res{f(), unix.Gettid()}
	}()
	r := <-c
	return r.o, r.tid
}

// namedSleeper runs a pause() program whose file (and so comm) is name.
func namedSleeper(dir, name string) (pid int, kill func(), err error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, tinyasm.PauseProgram(), 0o755); err != nil {
		return 0, nil, err
	}
	pid, err = syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		return 0, nil, err
	}
	kill = func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}
	// ForkExec may return before execve has set the new comm: wait for
	// it (bounded poll), else events would name the forking process.
	want := name
	if len(want) > 15 {
		want = want[:15] // TASK_COMM_LEN - 1
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSuffix(string(b), "\n") == want {
			return pid, kill, nil
		}
		if time.Now().After(deadline) {
			kill()
			return 0, nil, fmt.Errorf("%s did not start (comm %q)", path, b)
		}
	}
}

// specialComm is a command name with every character class the escaping
// concerns: space, "=", both quotes, backslash, a tab, a control byte.
const specialComm = "p a=b'c\"d\\\te\x01"

func init() {
	check.Build(func() {
		check.Register(
			// landlock_create_ruleset names the handled rights and scopes,
			// at ruleset version 0.
			traceCase("create_ruleset_names_handled_rights", check.Thread, nil,
				traceAlways(check.ABIScoped, "E2BIG|EINVAL", "landlock_create_ruleset ruleset_version=0 handled_fs=read_file+read_dir handled_net=bind_tcp scoped=signal"),
				[]string{"create_ruleset"}, func(t *check.T, s *traceSession) string {
					fd, err := fixture.Create(fixture.Attr(24, fsReadFile|fsReadDir, netBindTCP, sigScope), 0)
					if err != nil {
						return check.Outcome(err)
					}
					unix.Close(fd)
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					return chkCreateRuleset.observe(evs, byPid(unix.Gettid()), nil)
				}).Mirroring("trace_test.c:trace.create_ruleset"),

			// Each rule added counts in the ruleset's version, frozen into
			// the domain; the rule event names the path, its device and
			// inode.
			traceCase("ruleset_version_and_add_rule_path_beneath", check.Thread, nil,
				traceWant(check.ABILandlock, "", func(e check.Env) string {
					return "landlock_add_rule_path_beneath ruleset_id=$rs access_rights=" + absoluteRights(check.FSRight, fsReadFile, fsReadFile|fsReadDir, e.ABI) + " dev=$dev ino=$a path=$a; " +
						"landlock_add_rule_path_beneath ruleset_id=$rs access_rights=" + absoluteRights(check.FSRight, fsReadFile|fsReadDir, fsReadFile|fsReadDir, e.ABI) + " dev=$dev ino=$b path=$b; " +
						"landlock_create_domain domain=$dom parent=0 ruleset_id=$rs ruleset_version=2"
				}),
				[]string{"create_ruleset", "add_rule_path_beneath", "create_domain"}, func(t *check.T, s *traceSession) string {
					ds, err := realDirs(t, "a", "b")
					if err != nil {
						return check.SetupFailed(err)
					}
					vars := traceVars{}
					for i, n := range []string{"a", "b"} {
						if err := objectVars(vars, ds[i], n); err != nil {
							return check.SetupFailed(err)
						}
					}
					e := enforceTraced(t, rawLayer{fs: fsReadFile | fsReadDir}, func(fd int) error {
						if err := pathRule(fsReadFile, ds[0])(fd); err != nil {
							return err
						}
						return pathRule(fsReadFile|fsReadDir, ds[1])(fd)
					})
					if e != "" {
						return e
					}
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					vars.set("ruleset_id", lastOf(evs, "landlock_create_ruleset", tid, "ruleset_id"), "rs")
					domainVars(vars, evs, tid)
					return chkAddRulePath.observe(evs, byPid(tid), vars) + "; " + chkCreateDomain.observe(evs, byPid(tid), vars)
				}).Mirroring("trace_test.c:trace.ruleset_version", "trace_fs_test.c:trace_fs.add_rule_path_beneath"),

			traceCase("add_rule_net_port_fields", check.Thread, nil,
				traceWant(check.ABINet, "EINVAL", func(e check.Env) string {
					return "landlock_add_rule_net_port ruleset_id=$rs access_rights=" + absoluteRights(check.NetRight, netBindTCP|netConnTCP, netBindTCP|netConnTCP, e.ABI) + " port=54321"
				}),
				[]string{"create_ruleset", "add_rule_net_port"}, func(t *check.T, s *traceSession) string {
					fd, err := fixture.Create(fixture.Attr(16, 0, netBindTCP|netConnTCP), 0)
					if err != nil {
						return check.Outcome(err)
					}
					defer unix.Close(fd)
					if err := fixture.AddPort(fd, netBindTCP|netConnTCP, 54321, 0); err != nil {
						return "add_rule=" + check.Outcome(err)
					}
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					vars := traceVars{}
					vars.set("ruleset_id", lastOf(evs, "landlock_create_ruleset", tid, "ruleset_id"), "rs")
					return chkAddRuleNet.observe(evs, byPid(tid), vars)
				}).Mirroring("trace_test.c:trace.add_rule_net_port_fields"),

			// Enforcing on one thread of a multi-threaded process: one
			// create_domain, one enforce_domain that completes the
			// operation, not process-wide, with the thread's no_new_privs.
			traceCase("create_and_enforce_domain_on_one_thread", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "landlock_create_domain domain=$dom parent=0 ruleset_id=$rs ruleset_version=0; "+
					"landlock_enforce_domain domain=$dom complete=1 process_wide=0 no_new_privs=$nnp"),
				[]string{"create_ruleset", "create_domain", "enforce_domain"}, func(t *check.T, s *traceSession) string {
					if e := enforceTraced(t, rawLayer{fs: fsMakeDir}, nil); e != "" {
						return e
					}
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					vars := traceVars{}
					vars.set("ruleset_id", lastOf(evs, "landlock_create_ruleset", tid, "ruleset_id"), "rs")
					vars.set("no_new_privs", strconv.Itoa(fixture.NoNewPrivs()), "nnp")
					domainVars(vars, evs, tid)
					return chkCreateDomain.observe(evs, byPid(tid), vars) + "; " + chkEnforce.observe(evs, byPid(tid), vars)
				}).Mirroring("trace_test.c:trace.create_domain", "trace_test.c:trace.enforce_single_non_leader"),

			// A nested domain names the enclosing one as its parent.
			traceCase("nested_domain_names_parent", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "landlock_create_domain domain=$dom1 parent=0 ruleset_id=$rs1 ruleset_version=0; "+
					"landlock_create_domain domain=$dom parent=$dom1 ruleset_id=$rs ruleset_version=0"),
				[]string{"create_ruleset", "create_domain"}, func(t *check.T, s *traceSession) string {
					for range 2 {
						if e := enforceTraced(t, rawLayer{fs: fsMakeDir}, nil); e != "" {
							return e
						}
					}
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					vars := traceVars{}
					rs := selectEvents(evs, "landlock_create_ruleset", byPid(tid))
					for i, r := range rs {
						name := "rs1"
						if i == len(rs)-1 {
							name = "rs"
						}
						vars.set("ruleset_id", r.fields["ruleset_id"], name)
					}
					domainVars(vars, evs, tid)
					return chkCreateDomain.observe(evs, byPid(tid), vars)
				}).Mirroring("trace_test.c:trace.create_domain_nested"),

			// ruleset_fd -1 with flags only creates no domain: no event.
			traceCase("flags_only_restrict_emits_nothing", check.Thread, nil,
				traceAlways(check.ABILogFlags, "restrict=EBADF", "restrict=ok no landlock_create_domain; no landlock_enforce_domain"),
				[]string{"create_domain", "enforce_domain"}, func(t *check.T, s *traceSession) string {
					err := fixture.Restrict(t, -1, logSubdomainOff)
					evs, rerr := s.events()
					if rerr != nil {
						return check.SetupFailed(rerr)
					}
					tid := unix.Gettid()
					return "restrict=" + check.Outcome(err) + " " + chkCreateDomain.observe(evs, byPid(tid), nil) + "; " + chkEnforce.observe(evs, byPid(tid), nil)
				}).Mirroring("trace_test.c:trace.enforce_flags_only"),

			// Calls that fail emit nothing: a rule on a bad ruleset fd, a
			// restriction with a bad fd.
			traceCase("failed_calls_emit_nothing", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "add_rule=EBADF restrict=EBADF no landlock_add_rule_path_beneath; no landlock_create_domain; no landlock_enforce_domain"),
				[]string{"add_rule_path_beneath", "create_domain", "enforce_domain"}, func(t *check.T, s *traceSession) string {
					if !t.Env.Root {
						fixture.SetNoNewPrivs()
					}
					d, err := unix.Open(t.Root(), unix.O_PATH|unix.O_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(d)
					a := check.Outcome(fixture.AddPath(-1, fsReadFile, d, 0))
					r := check.Outcome(fixture.Restrict(t, -1, 0))
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					return fmt.Sprintf("add_rule=%s restrict=%s %s; %s; %s", a, r, chkAddRulePath.observe(evs, byPid(tid), nil),
						chkCreateDomain.observe(evs, byPid(tid), nil), chkEnforce.observe(evs, byPid(tid), nil))
				}).Mirroring("trace_test.c:trace.add_rule_invalid_fd", "trace_test.c:trace.create_domain_invalid"),

			// Closing the last fd of a ruleset frees it.
			traceCase("free_ruleset_on_close", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "landlock_free_ruleset ruleset_id=$rs"),
				[]string{"create_ruleset", "free_ruleset"}, func(t *check.T, s *traceSession) string {
					fd, err := fixture.Create(fixture.Attr(8, fsReadFile), 0)
					if err != nil {
						return check.Outcome(err)
					}
					evs, err := s.events()
					if err != nil {
						unix.Close(fd)
						return check.SetupFailed(err)
					}
					rs := lastOf(evs, "landlock_create_ruleset", unix.Gettid(), "ruleset_id")
					unix.Close(fd)
					if rs == "" {
						return "no landlock_create_ruleset"
					}
					mine := fieldIs("ruleset_id", rs)
					evs, err = s.waitFor(freeWait, func(ev traceEvent) bool { return ev.name == "landlock_free_ruleset" && mine(ev) })
					if err != nil {
						return check.SetupFailed(err)
					}
					vars := traceVars{}
					vars.set("ruleset_id", rs, "rs")
					return chkFreeRuleset.observe(evs, mine, vars)
				}).Mirroring("trace_test.c:trace.free_ruleset_on_close"),

			// The unsandboxed thread fires no denial and no rule check.
			traceCase("unsandboxed_access_emits_nothing", check.Thread, nil, traceAlways(check.ABILandlock, "", "open=ok no landlock_deny_access_fs; no landlock_check_rule_inode"),
				[]string{"deny_access_fs", "check_rule_inode"}, func(t *check.T, s *traceSession) string {
					o := check.Outcome(fixture.OpenClose(t.Root(), openDirFlags))
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					tid := unix.Gettid()
					return "open=" + o + " " + chkDenyFS.observe(evs, byPid(tid), nil) + "; " + chkRuleInode.observe(evs, byPid(tid), nil)
				}).Mirroring("trace_fs_test.c:trace_fs.unsandboxed"),

			// No event is written while the events are disabled, even for
			// a denial.
			traceCase("no_event_while_disabled", check.Thread, nil, traceAlways(check.ABILandlock, "", "open=EACCES events=0"),
				nil, func(t *check.T, s *traceSession) string {
					ds, err := realDirs(t, "d")
					if err != nil {
						return check.SetupFailed(err)
					}
					if e := enforceTraced(t, rawLayer{fs: fsReadDir}, nil); e != "" {
						return e
					}
					o := check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					n := 0
					for _, ev := range evs {
						if ev.pid == unix.Gettid() {
							n++
						}
					}
					return fmt.Sprintf("open=%s events=%d", o, n)
				}).Mirroring("trace_test.c:trace.no_trace_when_disabled"),

			// A filesystem denial: the denying domain, same_exec, logged,
			// the blocker, the object's device, inode and path.
			traceCase("deny_access_fs_fields", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "open=EACCES landlock_deny_access_fs domain=$dom same_exec=1 logged=1 blockers=read_dir dev=$dev ino=$d path=$d"),
				[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
					return denyFSObservation(t, s, "d", rawLayer{fs: fsReadDir}, chkDenyFS)
				}).Mirroring("trace_test.c:trace.deny_access_fs_fields", "trace_fs_test.c:trace_fs.deny_access_fs_denied"),

			// Untrusted strings are escaped: no separator or control
			// character reaches the line, and the path can be recovered.
			traceCase("deny_access_fs_path_escaped", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "open=EACCES landlock_deny_access_fs path=$d recovered=yes"),
				[]string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
					ds, err := realDirs(t, "x"+specialComm)
					if err != nil {
						return check.SetupFailed(err)
					}
					if e := enforceTraced(t, rawLayer{fs: fsReadDir}, nil); e != "" {
						return e
					}
					o := check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					vars := traceVars{}
					vars.set("path", traceEscape(ds[0]), "d")
					return "open=" + o + " " + escapedField(selectEvents(evs, "landlock_deny_access_fs", byPid(unix.Gettid())), "landlock_deny_access_fs", "path", ds[0], vars)
				}),
		)

		// Paths longer than the output reservation once escaped keep a
		// complete escaped prefix and end with the truncation marker.
		check.Register(
			traceCase("deny_access_fs_escaped_path_overflow", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "open=EACCES path: escaped prefix of the path, truncated with …"),
				[]string{"deny_access_fs"}, func(t *check.T, s *traceSession) string {
					deep, err := overflowDir(t)
					if err != nil {
						return check.SetupFailed(err)
					}
					if e := enforceTraced(t, rawLayer{fs: fsReadDir}, nil); e != "" {
						return e
					}
					o := check.Outcome(fixture.OpenClose(deep, openDirFlags))
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					return "open=" + o + " " + overflowField(selectEvents(evs, "landlock_deny_access_fs", byPid(unix.Gettid())), deep)
				}).Mirroring("trace_fs_test.c:trace_fs.deny_access_fs_escaped_path_overflow"),
			traceCase("add_rule_path_beneath_escaped_path_overflow", check.Thread, nil,
				traceAlways(check.ABILandlock, "", "path: escaped prefix of the path, truncated with …"),
				[]string{"add_rule_path_beneath"}, func(t *check.T, s *traceSession) string {
					deep, err := overflowDir(t)
					if err != nil {
						return check.SetupFailed(err)
					}
					fd, err := fixture.Create(fixture.Attr(8, fsReadDir), 0)
					if err != nil {
						return check.Outcome(err)
					}
					defer unix.Close(fd)
					if err := pathRule(fsReadDir, deep)(fd); err != nil {
						return "add_rule=" + check.Outcome(err)
					}
					evs, err := s.events()
					if err != nil {
						return check.SetupFailed(err)
					}
					return overflowField(selectEvents(evs, "landlock_add_rule_path_beneath", byPid(unix.Gettid())), deep)
				}).Mirroring("trace_fs_test.c:trace_fs.add_rule_path_beneath_escaped_path_overflow"),
		)

		// logged is the domain's audit decision: it agrees with the
		// records audit writes (read at the same time) and follows the
		// log flags, exec boundaries and quiet rules; the event fires in
		// every case.
		type loggedRow struct {
			name, mirror string
			need         int
			layers       []rawLayer // enforced by the case thread; the last denies
			quietDir     bool       // the last layer marks the directory quiet
			exec         bool       // the denial comes from an executed program
			sameExec     int
			logged       bool
		}
		rows := []loggedRow{
			{"logged_own_denial", "trace_test.c:trace.same_exec_before_exec", check.ABILandlock, []rawLayer{{fs: fsReadDir}}, false, false, 1, true},
			{"not_logged_after_exec_by_default", "trace_test.c:trace.same_exec_after_exec", check.ABILandlock, []rawLayer{{fs: fsReadDir}}, false, true, 0, false},
			{"log_same_exec_off_not_logged", "trace_test.c:trace.log_flags_same_exec_off", check.ABILogFlags, []rawLayer{{fs: fsReadDir, flags: logSameExecOff}}, false, false, 1, false},
			{"log_new_exec_on_logged_after_exec", "trace_test.c:trace.log_flags_new_exec_on", check.ABILogFlags, []rawLayer{{fs: fsReadDir, flags: logNewExecOn}}, false, true, 0, true},
			{"log_subdomains_off_not_logged_in_nested_domain", "trace_test.c:trace.log_flags_subdomains_off", check.ABILogFlags, []rawLayer{{fs: fsMakeDir, flags: logSubdomainOff}, {fs: fsReadDir}}, false, false, 1, false},
			{"quiet_rule_not_logged", "trace_fs_test.c:trace_fs.deny_access_fs_quiet", check.ABIQuiet, []rawLayer{{fs: fsReadDir, quietFS: fsReadDir}}, true, false, 1, false},
		}
		for _, r := range rows {
			r := r
			before := "restrict=EINVAL"
			if r.quietDir {
				before = "E2BIG"
			}
			n := 0
			if r.logged {
				n = 1
			}
			want := traceAlways(r.need, before, fmt.Sprintf("open=EACCES landlock_deny_access_fs domain=$dom same_exec=%d logged=%d records=%d", r.sameExec, n, n))
			c := traceCase(r.name, check.Thread, fixture.AuditSkip, want, []string{"create_domain", "deny_access_fs"}, func(t *check.T, s *traceSession) string {
				a, err := fixture.OpenAudit()
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				defer a.Close()
				ds, err := realDirs(t, "d")
				if err != nil {
					return check.SetupFailed(err)
				}
				for i, l := range r.layers {
					if r.quietDir && i == len(r.layers)-1 {
						l.quietOn = []string{ds[0]}
					}
					if e := enforceLayer(t, l); e != "" {
						if !strings.HasPrefix(e, "E") {
							return e
						}
						if i == 0 && l.quietFS != 0 {
							return e // the quiet fields: E2BIG before ABI 10
						}
						return "restrict=" + e
					}
				}
				var o string
				if r.exec {
					res, err := runReporting(t.Root(), openPathProgram(ds[0]), 1)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					o = fixture.OkOrErr(res[0])
				} else {
					o = check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
				}
				return loggedObservation("open="+o, a, s, ds[0])
			}).Mirroring(r.mirror).Covering("sec.6")
			check.Register(c)
		}

		registerTraceMore()
	})
}

// denyFSObservation makes dir, enforces l, opens dir and shows the
// thread's deny_access_fs events with chk.
func denyFSObservation(t *check.T, s *traceSession, dir string, l rawLayer, chk traceCheck) string {
	ds, err := realDirs(t, dir)
	if err != nil {
		return check.SetupFailed(err)
	}
	vars := traceVars{}
	if err := objectVars(vars, ds[0], dir); err != nil {
		return check.SetupFailed(err)
	}
	if e := enforceLayer(t, l); e != "" {
		return e
	}
	o := check.Outcome(fixture.OpenClose(ds[0], openDirFlags))
	evs, err := s.events()
	if err != nil {
		return check.SetupFailed(err)
	}
	tid := unix.Gettid()
	domainVars(vars, evs, tid)
	return "open=" + o + " " + chk.observe(evs, byPid(tid), vars)
}

// escapedField shows field of the events: its value (named by vars
// when known) and whether unescaping it gives back want exactly.
func escapedField(evs []traceEvent, name, field, want string, vars traceVars) string {
	if len(evs) == 0 {
		return "no " + name
	}
	var out []string
	for _, ev := range evs {
		got, ok := ev.fields[field]
		if !ok {
			out = append(out, name+" "+field+"?")
			continue
		}
		raw, wellFormed := traceUnescape(got)
		rec := "no"
		if wellFormed && raw == want {
			rec = "yes"
		}
		out = append(out, name+" "+ev.describe(vars, field)[len(name)+1:]+" recovered="+rec)
	}
	return strings.Join(out, "; ")
}

// overflowDir makes a directory whose path, escaped, is longer than
// the events' output reservation (about 6 KiB): eight components of
// 250 "=" (each escaped into four bytes: 8 KB).
func overflowDir(t *check.T) (string, error) {
	p, err := filepath.EvalSymlinks(t.Root())
	if err != nil {
		return "", err
	}
	comp := strings.Repeat("=", 250)
	for range 8 {
		p = filepath.Join(p, comp)
		if err := os.Mkdir(p, 0o755); err != nil {
			return "", err
		}
	}
	return p, nil
}

// overflowField shows whether the path field of the single event is a
// well-formed escaped prefix of path followed by the marker.
func overflowField(evs []traceEvent, path string) string {
	if len(evs) != 1 {
		return fmt.Sprintf("path: %d events", len(evs))
	}
	v, ok := evs[0].fields["path"]
	if !ok {
		return "path: no field"
	}
	if v == traceEscape(path) {
		return "path: complete, not truncated"
	}
	prefix, cut := strings.CutSuffix(v, truncationMarker)
	if !cut {
		return fmt.Sprintf("path: %d bytes without the truncation marker", len(v))
	}
	raw, wellFormed := traceUnescape(prefix)
	switch {
	case !wellFormed:
		return "path: the prefix is not a well-formed escaping"
	case !strings.HasPrefix(path, raw) || prefix != traceEscape(raw):
		return "path: the prefix is not a prefix of the path"
	case len(prefix) < len(traceEscape(path))/2:
		return fmt.Sprintf("path: only %d bytes kept", len(prefix))
	}
	return "path: escaped prefix of the path, truncated with …"
}
