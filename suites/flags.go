package suites

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// restrict_self flags and quiet settings beyond the feature probes of
// base.go: the logging flags (ABI 7) with real rulesets and with
// ruleset_fd -1, NO_NEW_PRIVS (ABI 11) setting no_new_privs exactly when
// enforcement succeeds, and the quiet fields and rule flag (ABI 10),
// which are validated and never change a decision.

const (
	logSameExecOff = unix.LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
	logNewExecOn   = unix.LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
	logAll         = logSameExecOff | logNewExecOn | logSubdomainOff
)

func flagCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "flags", Name: name, Want: want, Run: run, Covers: flagCovers(name)}
}

// flagCovers names the coverage items of a flags case from its name.
func flagCovers(name string) []string {
	switch {
	case strings.HasPrefix(name, "log/no_ruleset"), strings.HasPrefix(name, "log/fd_minus"),
		strings.HasPrefix(name, "log/non_ruleset"), name == "log/flags_without_no_new_privs":
		return []string{"§3.13", "§6.8"}
	case strings.HasPrefix(name, "log/"):
		return []string{"§3.13"}
	case strings.HasPrefix(name, "quiet/never_changes"):
		return []string{"§3.14", "§6.12"}
	case strings.HasPrefix(name, "quiet/"):
		return []string{"§3.14"}
	case strings.HasPrefix(name, "no_new_privs/"):
		return []string{"§3.15", "§6.7"}
	}
	return nil
}

// Each logging flag only changes audit records: with a real ruleset the
// domain still denies what it handles (before the flags' ABI the flag
// itself is refused).
func init() {
	check.Build(func() {
		for _, f := range check.FeaturesOf(check.RestrictFlag) {
			if f.ABI != check.ABILogFlags {
				continue
			}
			check.Register(flagCase("log/"+f.Name+"/does_not_change_decisions", withLogFlags("EACCES"), func(t *check.T) string {
				t.Files("f")
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					if err := fixture.Restrict(t, fd, uint32(f.Value)); err != nil {
						return check.Outcome(err)
					}
					return check.Outcome(fixture.OpenRead(t.Path("f")))
				})
			}).Showing(f.ID(), check.ShowsEffect))
		}
	})
}

// withLogFlags is err from the ABI of the logging flags, EINVAL before.
func withLogFlags(err string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABILogFlags {
			return err
		}
		return "EINVAL"
	})
}

// needsNetField is a raw outcome needing handled_access_net: before its
// ABI the ruleset is refused (E2BIG).
func needsNetField(f func(check.Env) string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI < check.ABINet {
			return "E2BIG"
		}
		return f(e)
	})
}

// withDirPath runs f with an O_PATH descriptor of the case directory.
func withDirPath(t *check.T, f func(d int) string) string {
	d, err := unix.Open(t.Root(), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(d)
	return f(d)
}

func addQuietPort(fd int, access uint64) error {
	a := landlock.NetPortAttr{AllowedAccess: access, Port: 0}
	return landlock.SysAddRule(fd, fixture.RuleNetPort, unsafe.Pointer(&a), unix.LANDLOCK_ADD_RULE_QUIET)
}

var (
	netBindTCP = uint64(landlock.NetBindTCP)
	netConnTCP = uint64(landlock.NetConnectTCP)
	scopeSig   = uint64(landlock.ScopeSignal)
	scopeAbs   = uint64(landlock.ScopeAbstractUnixSocket)
)

// quietPair enforces policy(false) on a fresh thread and policy(true) on
// the case thread, runs op under both and returns "plain=… quiet=…".
func quietPair(t *check.T, policy func(quiet bool) landlock.Policy, op func() string) string {
	run := func(quiet bool) string {
		if err := t.Enforce(policy(quiet)); err != nil {
			return fixture.EnforceFailed(err)
		}
		return op()
	}
	plain := fixture.OnOtherThread(func() string { return run(false) })
	return check.Steps(check.Saw("plain", plain), check.Saw("quiet", run(true)))
}

// both is the expectation of quietPair: the same outcome either way.
func both(o func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string { return check.Steps(check.Saw("plain", o(e)), check.Saw("quiet", o(e))) }
}

// flagCases makes the rows of this file; init registers them.
func flagCases() []check.Case {
	return []check.Case{
		// Logging flags only change audit records: with a real ruleset
		// the enforcement succeeds from ABI 7.
		flagCase("log/all_three_with_ruleset", withLogFlags(check.OK), func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.Restrict(t, fd, logAll)) })
		}),
		// Without no_new_privs, unprivileged callers get EPERM on every
		// ABI (before ABI 11 the privilege is checked before the flags).
		flagCase("log/flags_without_no_new_privs", check.Sys(func(e check.Env) string {
			switch {
			case !e.Root:
				return "EPERM"
			case e.ABI >= check.ABILogFlags:
				return check.OK
			}
			return "EINVAL"
		}), func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(landlock.SysRestrictSelf(fd, logAll)) })
		}),
		// ruleset_fd -1 is only for LOG_SUBDOMAINS_OFF alone (base.go
		// covers it alone and with LOG_SAME_EXEC_OFF).
		flagCase("log/no_ruleset_with_log_new_exec_on", withLogFlags("EBADF"), func(t *check.T) string {
			return check.Outcome(fixture.Restrict(t, -1, logNewExecOn))
		}),
		flagCase("log/no_ruleset_with_log_subdomains_off_and_same_exec_off", withLogFlags("EBADF"), func(t *check.T) string {
			return check.Outcome(fixture.Restrict(t, -1, logSubdomainOff|logSameExecOff))
		}),
		flagCase("log/fd_minus_2_with_log_subdomains_off", withLogFlags("EBADF"), func(t *check.T) string {
			return check.Outcome(fixture.Restrict(t, -2, logSubdomainOff))
		}),
		flagCase("log/non_ruleset_fd_with_log_subdomains_off", withLogFlags("EBADFD"), func(t *check.T) string {
			n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(n)
			return check.Outcome(fixture.Restrict(t, n, logSubdomainOff))
		}),
		// (-1, LOG_SUBDOMAINS_OFF) creates no domain; a later ruleset is
		// enforced as usual.
		flagCase("log/no_ruleset_creates_no_domain", check.Sys(func(e check.Env) string {
			first := "EINVAL"
			if e.ABI >= check.ABILogFlags {
				first = check.OK
			}
			return first + ", read=ok, then enforce=ok read=EACCES"
		}), func(t *check.T) string {
			t.Files("f")
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				first := check.Outcome(fixture.Restrict(t, -1, logSubdomainOff))
				before := check.Outcome(fixture.OpenRead(t.Path("f")))
				enf := check.Outcome(fixture.Restrict(t, fd, 0))
				return fmt.Sprintf("%s, read=%s, then enforce=%s read=%s", first, before, enf, check.Outcome(fixture.OpenRead(t.Path("f"))))
			})
		}),

		// NO_NEW_PRIVS (ABI 11) satisfies the privilege requirement and
		// sets no_new_privs iff the call succeeds; before ABI 11 it is an
		// unknown flag and no_new_privs stays unset.
		flagCase("no_new_privs/sets_it_on_success", check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABINNPFlag {
				return "ok, no_new_privs=1"
			}
			return flagsOrPriv("EINVAL")(e) + ", no_new_privs=0"
		}), func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				err := landlock.SysRestrictSelf(fd, nnpFlag)
				return fmt.Sprintf("%s, no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
			})
		}).Showing("restrict/no_new_privs", check.ShowsEffect),
		flagCase("no_new_privs/enforces_the_ruleset", check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABINNPFlag {
				return "EACCES"
			}
			return flagsOrPriv("EINVAL")(e)
		}), func(t *check.T) string {
			t.Files("f")
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				if err := landlock.SysRestrictSelf(fd, nnpFlag); err != nil {
					return check.Outcome(err)
				}
				return check.Outcome(fixture.OpenRead(t.Path("f")))
			})
		}),
		flagCase("no_new_privs/with_log_flags", check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABINNPFlag {
				return "ok, no_new_privs=1"
			}
			return flagsOrPriv("EINVAL")(e) + ", no_new_privs=0"
		}), func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				err := landlock.SysRestrictSelf(fd, nnpFlag|logAll)
				return fmt.Sprintf("%s, no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
			})
		}),
		check.Case{Area: "flags", Name: "no_new_privs/bad_fd_leaves_it_unset", Covers: flagCovers("no_new_privs/"), Want: func(e check.Env) string {
			if o, ok := check.NoLandlock(e); ok {
				return o + ", no_new_privs=0"
			}
			if e.ABI >= check.ABINNPFlag {
				return "EBADFD, no_new_privs=0"
			}
			return flagsOrPriv("EINVAL")(e) + ", no_new_privs=0"
		}, Run: func(t *check.T) string {
			n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(n)
			err = landlock.SysRestrictSelf(n, nnpFlag)
			return fmt.Sprintf("%s, no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
		}},

		// Quiet fields (ABI 10) must be subsets of the handled sets; before
		// ABI 10 they lie past the kernel's struct (E2BIG).
		flagCase("quiet/net_subset", fieldOutcome(check.ABIQuiet, check.ABIQuiet), func(*check.T) string {
			return fixture.CreateOutcome(fixture.Attr(48, 0, netBindTCP, 0, 0, netBindTCP), 0)
		}),
		flagCase("quiet/net_not_subset", check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABIQuiet {
				return "EINVAL"
			}
			return "E2BIG"
		}), func(*check.T) string {
			return fixture.CreateOutcome(fixture.Attr(48, 0, netBindTCP, 0, 0, netConnTCP), 0)
		}),
		flagCase("quiet/scoped_subset", fieldOutcome(check.ABIQuiet, check.ABIQuiet), func(*check.T) string {
			return fixture.CreateOutcome(fixture.Attr(48, 0, 0, scopeSig, 0, 0, scopeSig), 0)
		}),
		flagCase("quiet/scoped_not_subset", check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABIQuiet {
				return "EINVAL"
			}
			return "E2BIG"
		}), func(*check.T) string {
			return fixture.CreateOutcome(fixture.Attr(48, 0, 0, scopeSig, 0, 0, scopeAbs), 0)
		}),
		// A QUIET rule needs a quiet mask for its rule type (ABI 10), and
		// may then carry no access; before ABI 10 the flag is unknown. The
		// port rule cases need handled_access_net (ABI 4): before, the
		// ruleset itself is refused (E2BIG).
		flagCase("quiet/path_rule_without_access", check.Since(check.ABIQuiet, "EINVAL"), func(t *check.T) string {
			return withDirPath(t, func(d int) string {
				return fixture.WithRulesetOrFallback(fixture.Attr(48, fsRead, 0, 0, fsRead), fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(fixture.AddPath(fd, 0, d, unix.LANDLOCK_ADD_RULE_QUIET))
				})
			})
		}),
		flagCase("quiet/port_rule_without_access", needsNetField(func(e check.Env) string {
			if e.ABI >= check.ABIQuiet {
				return check.OK
			}
			return "EINVAL"
		}), func(*check.T) string {
			return fixture.WithRulesetOrFallback(fixture.Attr(48, 0, netBindTCP, 0, 0, netBindTCP), fixture.Attr(16, 0, netBindTCP), func(fd int) string {
				return check.Outcome(addQuietPort(fd, 0))
			})
		}),
		flagCase("quiet/port_rule_without_quiet_net_mask", needsNetField(func(check.Env) string { return "EINVAL" }), func(*check.T) string {
			return fixture.WithRulesetOrFallback(fixture.Attr(48, fsRead, netBindTCP, 0, fsRead), fixture.Attr(16, fsRead, netBindTCP), func(fd int) string {
				return check.Outcome(addQuietPort(fd, netBindTCP))
			})
		}),
		flagCase("quiet/path_rule_without_quiet_fs_mask", check.Always("EINVAL"), func(t *check.T) string {
			return withDirPath(t, func(d int) string {
				return fixture.WithRulesetOrFallback(fixture.Attr(48, fsRead, netBindTCP, 0, 0, netBindTCP), fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(fixture.AddPath(fd, fsRead, d, unix.LANDLOCK_ADD_RULE_QUIET))
				})
			})
		}),

		// Quiet masks and quiet rules only mute audit records: the same
		// decisions with and without them, for each kind of restriction.
		flagCase("quiet/never_changes_fs_decisions", both(func(e check.Env) string {
			return "allowed:ok,denied:" + check.DeniedFrom(check.ABILandlock, "EACCES")(e)
		}), func(t *check.T) string {
			t.Files("a/f", "b/f")
			return quietPair(t, func(quiet bool) landlock.Policy {
				p := landlock.Policy{FS: landlock.FSReadFile}
				p.Rules = append(p.Rules, landlock.PathRule{Path: t.Path("a"), Access: landlock.FSReadFile, Quiet: quiet})
				if quiet {
					p.QuietFS = landlock.FSReadFile
					p.Rules = append(p.Rules, landlock.PathRule{Path: t.Path("b"), Quiet: true})
				}
				return p
			}, func() string {
				return fmt.Sprintf("allowed:%s,denied:%s", check.Outcome(fixture.OpenRead(t.Path("a/f"))), check.Outcome(fixture.OpenRead(t.Path("b/f"))))
			})
		}).Showing("add_rule/quiet", check.ShowsEffect),
		flagCase("quiet/never_changes_net_decisions", both(tcpDenied), func(t *check.T) string {
			port, err := fixture.FreePort(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err != nil {
				return check.SetupFailed(err)
			}
			return quietPair(t, func(quiet bool) landlock.Policy {
				p := fixture.NetPolicy(tcpBind)
				if quiet {
					p.QuietNet = tcpBind
					p.Rules = append(p.Rules, landlock.PortRule{Port: uint64(port), Quiet: true})
				}
				return p
			}, func() string {
				return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, port))
			})
		}),
		flagCase("quiet/never_changes_scope_decisions", both(scopeDenied), func(t *check.T) string {
			name := abstractName()
			srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(srv)
			return quietPair(t, func(quiet bool) landlock.Policy {
				p := scopePolicy(scopeAbstract)
				if quiet {
					p.QuietScoped = scopeAbstract
				}
				return p
			}, func() string { return check.Outcome(connectStream(name)) })
		}),
	}
}

func init() { check.Build(func() { check.Register(mirrored(flagCases()...)...) }) }
