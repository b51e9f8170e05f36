package suites

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Every option of landlock.Policy and landlock.Config, each from both
// sides: a case that fails when the library ignores the option, and one
// that fails when it applies the option where it was not asked (or
// beyond what was asked). The expectations come from the documentation
// and this suite's ABI table, never from the library: an option the
// effective ABI lacks is dropped by best effort, and a kernel without
// Landlock enforces nothing.
//
// The logging flags and the quiet options change only what the kernel
// logs, so their cases read the audit records (root only; the
// unprivileged pass skips them with the probed reason). The all-thread
// default of Config.Threads is downgrade/all_threads/* (threads.go);
// here its other side, CurrentThread.

// optEnforce enforces p best effort on the calling thread with the
// environment's ceiling, unless cfg changes that.
func optEnforce(t *check.T, p landlock.Policy, cfg landlock.Config) (landlock.Report, error) {
	cfg.Threads = landlock.CurrentThread
	if cfg.MaxABI == 0 {
		cfg.MaxABI = t.Env.Ceiling
	}
	r, err := p.Enforce(cfg)
	t.Logf("library: %s at effective ABI %d", r.State, r.ABI)
	return r, err
}

// optCase is a library option case of the downgrade area.
func optCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "downgrade", Name: "option/" + name, Want: want, Covers: []string{"§6.1"}, Run: run}
}

// denyingFrom is the outcome of an action the policy denies from ABI
// abi on (the library's ABI), allowed before.
func denyingFrom(abi int, errno string) func(check.Env) string { return check.DeniedFrom(abi, errno) }

// enforcedThen runs the action after enforcing p; an enforcement error
// is the outcome.
func enforcedThen(p func(t *check.T) landlock.Policy, action func(t *check.T) error) func(t *check.T) string {
	return func(t *check.T) string {
		pol := p(t)
		if _, err := optEnforce(t, pol, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(action(t))
	}
}

// twoFreePorts returns two distinct TCP ports free now.
func twoFreePorts() (int, int, error) {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	var ports []int
	for i := 0; i < 2; i++ {
		fd, port, err := fixture.Server(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		if err != nil {
			return 0, 0, err
		}
		fds = append(fds, fd)
		ports = append(ports, port)
	}
	return ports[0], ports[1], nil
}

func bindTCP(port int) error {
	return fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, port)
}

// logged says whether the kernel logs a denial of a domain the library
// created at its ABI: audit records exist from the logging ABI on (the
// kernel's, whatever the ceiling), and a flag that silences it is passed
// only where the library's ABI has it.
func logged(e check.Env, need int, silenced bool) bool {
	if e.ABI < check.ABILogFlags || e.LibABI() < need {
		return false
	}
	return !silenced || e.LibABI() < check.ABILogFlags
}

func recordCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// optAuditCase is a library option case observed through the audit
// records (root only).
func optAuditCase(name string, want func(check.Env) string, run func(t *check.T, a *fixture.AuditSession) string) check.Case {
	c := auditCase(name, nil, want, run)
	c.Area, c.Name = "downgrade", "option/"+name
	c.Covers = append([]string{"§6.1"}, c.Covers...)
	return c
}

// openDirWant is "open=<outcome> records=<n>" for a read_dir denial.
func openDirWant(need int, silenced func(check.Env) bool) func(check.Env) string {
	return func(e check.Env) string {
		o := check.OK
		if e.LibABI() >= need {
			o = "EACCES"
		}
		return fmt.Sprintf("open=%s records=%d", o, recordCount(logged(e, need, silenced(e))))
	}
}

// openDirCount opens dir and counts the records about it.
func openDirCount(a *fixture.AuditSession, dir string) string {
	o := check.Outcome(fixture.OpenClose(dir, openDirFlags))
	recs, err := a.Mark()
	if err != nil {
		return check.SetupFailedf("audit records: %v", err)
	}
	return fmt.Sprintf("open=%s records=%d", o, len(fixture.ViewOf(recs, fixture.PathIs(dir)).Access))
}

func always(b bool) func(check.Env) bool { return func(check.Env) bool { return b } }

// strictOutcome names the features a strict enforcement missed, sorted.
func strictOutcome(err error) string {
	var ue *landlock.UnsupportedError
	if err == nil {
		return check.OK
	}
	if !errors.As(err, &ue) {
		return fixture.EnforceFailed(err)
	}
	var names []string
	for _, d := range ue.Missing {
		names = append(names, d.Feature)
	}
	sort.Strings(names)
	return "strict error: " + strings.Join(names, ",")
}

// belowNet is a ceiling under the network ABI (and under the
// environment's own ceiling, when it has one).
func belowNet(e check.Env) int {
	c := check.ABINet - 1
	if e.Ceiling > 0 && e.Ceiling < c {
		c = e.Ceiling
	}
	return c
}

func init() {
	check.Build(func() {
		readFile := func(t *check.T) error { return fixture.OpenRead(t.Path("f")) }
		fsOnly := func(t *check.T) landlock.Policy {
			t.Files("f")
			return landlock.Policy{FS: landlock.FSReadFile}
		}
		check.Register(
			// Policy.FS: a handled right is denied; a right it does not
			// handle stays allowed.
			optCase("fs/handled_right_denied", denyingFrom(check.ABILandlock, "EACCES"), enforcedThen(fsOnly, readFile)),
			optCase("fs/unhandled_right_allowed", check.Allowed, enforcedThen(fsOnly, func(t *check.T) error { return fixture.OpenWrite(t.Path("f")) })),

			// Policy.Net: the same for a TCP right.
			optCase("net/handled_right_denied", denyingFrom(check.ABINet, "EACCES"), func(t *check.T) string {
				port, err := fixture.FreePort(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
				if err != nil {
					return check.SetupFailed(err)
				}
				if _, err := optEnforce(t, landlock.Policy{Net: landlock.NetBindTCP}, landlock.Config{}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(bindTCP(port))
			}),
			optCase("net/unhandled_right_allowed", check.Allowed, func(t *check.T) string {
				fd, port, err := fixture.Server(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				if _, err := optEnforce(t, landlock.Policy{Net: landlock.NetBindTCP}, landlock.Config{}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.ConnectTo(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, port))
			}),

			// Policy.Scoped: a signal to a process outside the domain is
			// refused under the signal scope, not under the abstract
			// socket scope.
			optCase("scoped/handled_scope_denied", denyingFrom(check.ABIScoped, "EPERM"), optSignal(landlock.ScopeSignal)),
			optCase("scoped/unhandled_scope_allowed", check.Allowed, optSignal(landlock.ScopeAbstractUnixSocket)),

			// Rules: a path rule grants its rights beneath its path, and
			// nothing else; a port rule its port and no other.
			optCase("rules/path_rule_grants_its_rights_beneath_its_path", check.Allowed, enforcedThen(rulePolicy, func(t *check.T) error { return fixture.OpenRead(t.Path("a/f")) })),
			optCase("rules/path_rule_grants_nothing_beside_its_path", denyingFrom(check.ABILandlock, "EACCES"), enforcedThen(rulePolicy, func(t *check.T) error { return fixture.OpenRead(t.Path("b/f")) })),
			optCase("rules/path_rule_grants_only_its_rights", denyingFrom(check.ABILandlock, "EACCES"), enforcedThen(rulePolicy, func(t *check.T) error { return fixture.OpenWrite(t.Path("a/f")) })),
			optCase("rules/port_rule_grants_its_port", check.Allowed, optPortRule(false)),
			optCase("rules/port_rule_grants_nothing_on_other_ports", denyingFrom(check.ABINet, "EACCES"), optPortRule(true)),

			// PathRule.IgnoreMissing skips a path that does not exist, and
			// only that: a path that exists but cannot be opened is still
			// an error (ENOTDIR, EACCES, ELOOP), and without the option a
			// missing path is one too.
			optCase("ignore_missing/missing_path_skipped", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock {
					return "enforce=ok read=EACCES"
				}
				return "enforce=ok read=ok"
			}, func(t *check.T) string {
				t.Files("f")
				_, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile, Rules: []landlock.Rule{
					landlock.PathRule{Path: t.Path("missing"), Access: landlock.FSReadFile, IgnoreMissing: true}}}, landlock.Config{})
				return fmt.Sprintf("enforce=%s read=%s", check.Outcome(err), check.Outcome(fixture.OpenRead(t.Path("f"))))
			}),
			optCase("ignore_missing/missing_path_without_it_enoent", denyingFrom(check.ABILandlock, "ENOENT"), ignoreMissing(false, func(t *check.T) string { return t.Path("missing") })),
			optCase("ignore_missing/not_a_directory_enotdir", denyingFrom(check.ABILandlock, "ENOTDIR"), ignoreMissing(true, func(t *check.T) string {
				t.Files("file")
				return t.Path("file", "x")
			})),
			optCase("ignore_missing/unsearchable_directory_eacces", denyingFrom(check.ABILandlock, "EACCES"), func(t *check.T) string {
				// An empty directory without search permission: the open
				// of a name below it fails with EACCES before it could say
				// ENOENT. Root searches everything while its fsuid is 0;
				// a thread's fsuid is its own, so this thread takes
				// another for the enforcement (clearing its filesystem
				// capabilities) and takes 0 back after.
				t.Mkdirs("locked")
				t.Setup("chmod locked", os.Chmod(t.Path("locked"), 0))
				t.Cleanup(func() { os.Chmod(t.Path("locked"), 0o755) })
				if t.Env.Root {
					unix.RawSyscall(unix.SYS_SETFSUID, 65534, 0, 0)
					if prev, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, 65534, 0, 0); prev != 65534 {
						return check.SetupFailedf("setfsuid(65534) did not take")
					}
					defer unix.RawSyscall(unix.SYS_SETFSUID, 0, 0, 0)
				}
				_, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile, Rules: []landlock.Rule{
					landlock.PathRule{Path: t.Path("locked", "missing"), Access: landlock.FSReadFile, IgnoreMissing: true}}}, landlock.Config{})
				return check.Outcome(err)
			}),
			optCase("ignore_missing/symlink_loop_eloop", denyingFrom(check.ABILandlock, "ELOOP"), ignoreMissing(true, func(t *check.T) string {
				t.Setup("symlink loop", os.Symlink("loop", t.Path("loop")))
				return t.Path("loop")
			})),

			// Policy.KeepPrivileges leaves no_new_privs unset, so that only
			// a process with CAP_SYS_ADMIN can restrict itself; by default
			// the library sets it.
			optCase("keep_privileges/leaves_no_new_privs_unset", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock && !e.Root {
					return "enforce=EPERM no_new_privs=0"
				}
				return "enforce=ok no_new_privs=0"
			}, func(t *check.T) string {
				_, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile, KeepPrivileges: true}, landlock.Config{})
				return fmt.Sprintf("enforce=%s no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
			}),
			optCase("keep_privileges/default_sets_no_new_privs", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock {
					return "enforce=ok no_new_privs=1"
				}
				return "enforce=ok no_new_privs=0"
			}, func(t *check.T) string {
				_, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile}, landlock.Config{})
				return fmt.Sprintf("enforce=%s no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
			}),

			// Config.Mode, on a policy the (capped) ABI cannot hold in full
			// and on one it can.
			optCase("mode/strict_fails_on_a_missing_right", func(e check.Env) string {
				e.Ceiling = belowNet(e)
				if e.LibABI() >= check.ABILandlock {
					return "strict error: LANDLOCK_ACCESS_NET_BIND_TCP; read=ok"
				}
				return "strict error: LANDLOCK_ACCESS_FS_READ_FILE,LANDLOCK_ACCESS_NET_BIND_TCP; read=ok"
			}, optMode(landlock.Strict, true)),
			optCase("mode/strict_enforces_a_supported_policy", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock {
					return "ok; read=EACCES"
				}
				return "strict error: LANDLOCK_ACCESS_FS_READ_FILE; read=ok"
			}, optMode(landlock.Strict, false)),
			optCase("mode/soft_requirement_enforces_nothing_when_a_right_is_missing", func(check.Env) string {
				return "ok, not enforced; read=ok"
			}, optMode(landlock.SoftRequirement, true)),
			optCase("mode/soft_requirement_enforces_a_supported_policy", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock {
					return "ok, fully enforced; read=EACCES"
				}
				return "ok, not enforced; read=ok"
			}, optMode(landlock.SoftRequirement, false)),
			optCase("mode/best_effort_enforces_the_supported_part", func(e check.Env) string {
				e.Ceiling = belowNet(e)
				if e.LibABI() >= check.ABILandlock {
					return "ok, partially enforced; read=EACCES"
				}
				return "ok, not enforced; read=ok"
			}, optMode(landlock.BestEffort, true)),

			// Config.MaxABI: a ceiling below a right's ABI drops it; a
			// ceiling at it keeps it, on a kernel that has it, and does not
			// lift a kernel that lacks it.
			optCase("max_abi/below_the_right_drops_it", check.Allowed, optMaxABI(check.ABINet-1)),
			optCase("max_abi/at_the_right_keeps_it", func(e check.Env) string {
				if e.ABI >= check.ABINet {
					return "EACCES"
				}
				return check.OK
			}, optMaxABI(check.ABINet)),

			// Config.Threads: CurrentThread restricts the calling thread
			// only (AllThreads: downgrade/all_threads/*).
			optCase("threads/current_thread_leaves_other_threads", func(e check.Env) string {
				if e.LibABI() >= check.ABILandlock {
					return "own=EACCES other=ok"
				}
				return "own=ok other=ok"
			}, func(t *check.T) string {
				t.Files("f")
				if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile}, landlock.Config{}); err != nil {
					return fixture.EnforceFailed(err)
				}
				own := check.Outcome(fixture.OpenRead(t.Path("f")))
				other := fixture.OnOtherThread(func() string { return check.Outcome(fixture.OpenRead(t.Path("f"))) })
				return "own=" + own + " other=" + other
			}),
		)

		// Policy.LogFlags reach landlock_restrict_self: each flag silences
		// (or, NEW_EXEC_ON, opens) what the documentation says, and no
		// flag is passed that was not asked.
		silencedAtLog := func(e check.Env) bool { return true }
		check.Register(
			optAuditCase("log_flags/same_exec_off_silences_own_denials", openDirWant(check.ABILandlock, silencedAtLog), func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadDir, LogFlags: landlock.RestrictLogSameExecOff}, landlock.Config{}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return openDirCount(a, d)
			}),
			optAuditCase("log_flags/none_logs_own_denials", openDirWant(check.ABILandlock, always(false)), func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadDir}, landlock.Config{}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return openDirCount(a, d)
			}),
			optAuditCase("log_flags/new_exec_on_logs_denials_after_exec", execWant(true), optExec(landlock.RestrictLogNewExecOn)),
			optAuditCase("log_flags/none_leaves_denials_after_exec_unlogged", execWant(false), optExec(0)),
			optAuditCase("log_flags/subdomains_off_silences_nested_domain", openDirWant(check.ABILandlock, silencedAtLog), optNested(landlock.RestrictLogSubdomainsOff)),
			optAuditCase("log_flags/none_logs_nested_domain", openDirWant(check.ABILandlock, always(false)), optNested(0)),
		)

		// The quiet masks and the quiet rules (ABI 10) silence the
		// denials on the objects the rules mark, and only those.
		quietAt := func(e check.Env) bool { return e.LibABI() >= check.ABIQuiet }
		check.Register(
			optAuditCase("quiet/fs_mask_and_path_rule_silence_the_denial", openDirWant(check.ABILandlock, quietAt), optQuietFS("d")),
			optAuditCase("quiet/fs_quiet_rule_on_another_directory_logs", openDirWant(check.ABILandlock, always(false)), optQuietFS("e")),
			optAuditCase("quiet/net_mask_and_port_rule_silence_the_denial", bindWant(quietAt), optQuietNet(false)),
			optAuditCase("quiet/net_quiet_rule_on_another_port_logs", bindWant(always(false)), optQuietNet(true)),
			optAuditCase("quiet/scoped_mask_silences_the_signal_denial", killWant(quietAt), optQuietScoped(true)),
			optAuditCase("quiet/scoped_without_mask_logs", killWant(always(false)), optQuietScoped(false)),
		)
	})
}

// rulePolicy handles reading and writing files and grants reading
// beneath a/.
func rulePolicy(t *check.T) landlock.Policy {
	t.Files("a/f", "b/f")
	return landlock.Policy{FS: landlock.FSReadFile | landlock.FSWriteFile, Rules: []landlock.Rule{
		landlock.PathRule{Path: t.Path("a"), Access: landlock.FSReadFile}}}
}

// optPortRule binds, under a policy that handles TCP bind and grants one
// port, that port or another one.
func optPortRule(other bool) func(t *check.T) string {
	return func(t *check.T) string {
		granted, second, err := twoFreePorts()
		if err != nil {
			return check.SetupFailed(err)
		}
		p := landlock.Policy{Net: landlock.NetBindTCP, Rules: []landlock.Rule{landlock.PortRule{Port: uint64(granted), Access: landlock.NetBindTCP}}}
		if _, err := optEnforce(t, p, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		if other {
			return check.Outcome(bindTCP(second))
		}
		return check.Outcome(bindTCP(granted))
	}
}

// optSignal sends a blocked signal to a process started outside the
// domain, under a policy that handles scope.
func optSignal(scope landlock.Scope) func(t *check.T) string {
	return func(t *check.T) string {
		p, err := fixture.StartTarget(t.Root(), sigTarget)
		if err != nil {
			return check.SetupFailedf("%v", err)
		}
		defer fixture.KillFromOutside(p.Kill)
		if _, err := optEnforce(t, landlock.Policy{Scoped: scope}, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(unix.Kill(p.Pid, blocked))
	}
}

// ignoreMissing enforces a rule on the path made by path, with or
// without IgnoreMissing: the outcome is the enforcement's.
func ignoreMissing(ignore bool, path func(t *check.T) string) func(t *check.T) string {
	return func(t *check.T) string {
		p := path(t)
		_, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile, Rules: []landlock.Rule{
			landlock.PathRule{Path: p, Access: landlock.FSReadFile, IgnoreMissing: ignore}}}, landlock.Config{})
		return check.Outcome(err)
	}
}

// optMode enforces reading files (and, when partial, binding TCP with a
// ceiling under the network ABI) in mode m, then reads.
func optMode(m landlock.Mode, partial bool) func(t *check.T) string {
	return func(t *check.T) string {
		t.Files("f")
		p := landlock.Policy{FS: landlock.FSReadFile}
		cfg := landlock.Config{Mode: m}
		if partial {
			p.Net = landlock.NetBindTCP
			cfg.MaxABI = belowNet(t.Env)
		}
		r, err := optEnforce(t, p, cfg)
		read := check.Outcome(fixture.OpenRead(t.Path("f")))
		if m == landlock.Strict {
			return strictOutcome(err) + "; read=" + read
		}
		if err != nil {
			return fixture.EnforceFailed(err) + "; read=" + read
		}
		return fmt.Sprintf("ok, %s; read=%s", r.State, read)
	}
}

// optMaxABI binds a TCP port under a policy that handles TCP bind with
// ceiling c.
func optMaxABI(c int) func(t *check.T) string {
	return func(t *check.T) string {
		port, err := fixture.FreePort(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		if err != nil {
			return check.SetupFailed(err)
		}
		if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadFile, Net: landlock.NetBindTCP}, landlock.Config{MaxABI: c}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(bindTCP(port))
	}
}

// execWant is the outcome of optExec: the program's open is denied under
// the domain, and logged only with LOG_NEW_EXEC_ON where the library
// passes it (denials after an exec are not logged by default).
func execWant(newExecOn bool) func(check.Env) string {
	return func(e check.Env) string {
		o := check.OK
		if e.LibABI() >= check.ABILandlock {
			o = "EACCES"
		}
		n := 0
		if newExecOn && e.ABI >= check.ABILogFlags && e.LibABI() >= check.ABILogFlags {
			n = 1
		}
		return fmt.Sprintf("exec: open=%s records=%d", o, n)
	}
}

// optExec enforces with flags, then executes a program that opens a
// directory the domain denies.
func optExec(flags landlock.RestrictFlags) func(t *check.T, a *fixture.AuditSession) string {
	return func(t *check.T, a *fixture.AuditSession) string {
		d := auditDirs(t, "d")[0]
		if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadDir, LogFlags: flags}, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		res, err := runReporting(t.Root(), openPathProgram(d), 1)
		if err != nil {
			return check.SetupFailedf("%v", err)
		}
		recs, err := a.Mark()
		if err != nil {
			return check.SetupFailedf("audit records: %v", err)
		}
		return fmt.Sprintf("exec: open=%s records=%d", fixture.OkOrErr(res[0]), len(fixture.ViewOf(recs, fixture.PathIs(d)).Access))
	}
}

// optNested enforces a first domain (making directories) with flags and
// a second one (reading directories) without, then opens a directory.
func optNested(flags landlock.RestrictFlags) func(t *check.T, a *fixture.AuditSession) string {
	return func(t *check.T, a *fixture.AuditSession) string {
		d := auditDirs(t, "d")[0]
		if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSMakeDir, LogFlags: flags}, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		if _, err := optEnforce(t, landlock.Policy{FS: landlock.FSReadDir}, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return openDirCount(a, d)
	}
}

// optQuietFS denies reading directory d under a quiet read_dir mask and a
// quiet rule on marked (d itself, or its sibling).
func optQuietFS(marked string) func(t *check.T, a *fixture.AuditSession) string {
	return func(t *check.T, a *fixture.AuditSession) string {
		ds := auditDirs(t, "d", "e")
		mark := ds[0]
		if marked == "e" {
			mark = ds[1]
		}
		p := landlock.Policy{FS: landlock.FSReadDir, QuietFS: landlock.FSReadDir, Rules: []landlock.Rule{landlock.PathRule{Path: mark, Quiet: true}}}
		if _, err := optEnforce(t, p, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return openDirCount(a, ds[0])
	}
}

// bindWant is the outcome of optQuietNet.
func bindWant(silenced func(check.Env) bool) func(check.Env) string {
	return func(e check.Env) string {
		o := check.OK
		if e.LibABI() >= check.ABINet {
			o = "EACCES"
		}
		return fmt.Sprintf("bind=%s records=%d", o, recordCount(logged(e, check.ABINet, silenced(e))))
	}
}

// optQuietNet denies binding a port under a quiet bind mask and a quiet
// port rule on that port or on another one.
func optQuietNet(other bool) func(t *check.T, a *fixture.AuditSession) string {
	return func(t *check.T, a *fixture.AuditSession) string {
		denied, second, err := twoFreePorts()
		if err != nil {
			return check.SetupFailed(err)
		}
		mark := denied
		if other {
			mark = second
		}
		p := landlock.Policy{Net: landlock.NetBindTCP, QuietNet: landlock.NetBindTCP, Rules: []landlock.Rule{landlock.PortRule{Port: uint64(mark), Quiet: true}}}
		if _, err := optEnforce(t, p, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		o := check.Outcome(bindTCP(denied))
		recs, err := a.Mark()
		if err != nil {
			return check.SetupFailedf("audit records: %v", err)
		}
		return fmt.Sprintf("bind=%s records=%d", o, len(fixture.ViewOf(recs, fixture.PortIs(denied)).Access))
	}
}

// killWant is the outcome of optQuietScoped.
func killWant(silenced func(check.Env) bool) func(check.Env) string {
	return func(e check.Env) string {
		o := check.OK
		if e.LibABI() >= check.ABIScoped {
			o = "EPERM"
		}
		return fmt.Sprintf("kill=%s records=%d", o, recordCount(logged(e, check.ABIScoped, silenced(e))))
	}
}

// optQuietScoped signals a process outside a signal-scoped domain, with
// or without the quiet signal mask.
func optQuietScoped(quiet bool) func(t *check.T, a *fixture.AuditSession) string {
	return func(t *check.T, a *fixture.AuditSession) string {
		p, err := fixture.StartTarget(t.Root(), sigTarget)
		if err != nil {
			return check.SetupFailedf("%v", err)
		}
		defer fixture.KillFromOutside(p.Kill)
		pol := landlock.Policy{Scoped: landlock.ScopeSignal}
		if quiet {
			pol.QuietScoped = landlock.ScopeSignal
		}
		if _, err := optEnforce(t, pol, landlock.Config{}); err != nil {
			return fixture.EnforceFailed(err)
		}
		o := check.Outcome(unix.Kill(p.Pid, blocked))
		recs, err := a.Mark()
		if err != nil {
			return check.SetupFailedf("audit records: %v", err)
		}
		return fmt.Sprintf("kill=%s records=%d", o, len(fixture.ViewOf(recs, fixture.OpidIs(p.Pid)).Access))
	}
}
