package suites

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The kernel contract: the three syscalls driven with explicit bits, every
// errno in the documented check order, and feature probes that accept
// every bit of the reported ABI and reject every newer one.

// LANDLOCK_RULE_NET_PORT (not in x/sys)

const fsRead = uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE)

func baseCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "base", Name: name, Want: want, Run: run}
}

// flagsOrPriv is the outcome of a restrict_self call whose flags are
// wrong for the kernel, made without no_new_privs: unprivileged callers
// get EPERM first on kernels before ABI 11, which checked the privilege
// before the flags; ABI 11 parses the flags first (NO_NEW_PRIVS can
// satisfy the privilege requirement). Root always gets the flag error.
func flagsOrPriv(flagErr string) func(check.Env) string {
	return func(e check.Env) string {
		if !e.Root && e.ABI < check.ABINNPFlag {
			return "EPERM"
		}
		return flagErr
	}
}

// fieldOutcome is the outcome of a non-zero bit in a ruleset_attr field
// introduced at fieldABI for a bit introduced at bitABI: an unknown field
// is E2BIG (non-zero bytes past the kernel's struct), an unknown bit in a
// known field EINVAL.
func fieldOutcome(fieldABI, bitABI int) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		switch {
		case e.ABI < fieldABI:
			return "E2BIG"
		case e.ABI < bitABI:
			return "EINVAL"
		}
		return check.OK
	})
}

// Feature probes: every right, scope and restrict flag of the table is
// accepted from its ABI and rejected before it with the documented errno.
func init() {
	check.Build(func() {
		for _, r := range check.FeaturesOf(check.FSRight) {
			check.Register(baseCase("probe/handled_access_fs/"+r.Name, check.Since(r.ABI, "EINVAL"), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(8, r.Value), 0)
			}).Covering("§6.3"))
		}
		for _, r := range check.FeaturesOf(check.NetRight) {
			check.Register(mirrored(baseCase("probe/handled_access_net/"+r.Name, fieldOutcome(check.ABINet, r.ABI), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(16, 0, r.Value), 0)
			}).Covering("§6.3", "§6.2"))...)
		}
		for _, r := range check.FeaturesOf(check.ScopeBit) {
			check.Register(mirrored(baseCase("probe/scoped/"+r.Name, fieldOutcome(check.ABIScoped, r.ABI), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(24, 0, 0, r.Value), 0)
			}).Covering("§6.3", "§6.2"))...)
		}
		for _, r := range check.FeaturesOf(check.RestrictFlag) {
			iso := check.Thread
			if r.Name == "tsync" {
				iso = check.Process // TSYNC restricts every thread of the process
			}
			want := check.Since(r.ABI, "EINVAL")
			if r.Name == "no_new_privs" { // the flag replaces the prctl
				want = check.Sys(func(e check.Env) string {
					if e.ABI >= r.ABI {
						return check.OK
					}
					return flagsOrPriv("EINVAL")(e)
				})
			}
			check.Register(check.Case{Area: "base", Name: "probe/restrict_flag/" + r.Name, Isolation: iso, Want: want, Covers: []string{"§6.3", "§6.8"}, Run: func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					if r.Name != "no_new_privs" && !t.Env.Root {
						if err := fixture.SetNoNewPrivs(); err != nil {
							return "prctl: " + check.Outcome(err)
						}
					}
					return check.Outcome(landlock.SysRestrictSelf(fd, uint32(r.Value)))
				})
			}})
		}
		for _, c := range baseCases {
			c.Covers = append(c.Covers, baseCovers(c.Name)...)
			check.Register(mirrored(c)...)
		}
	})
}

// baseCovers names the coverage items of a base case from its name.
func baseCovers(name string) []string {
	switch {
	case strings.HasPrefix(name, "probe/"):
		return []string{"§6.3"}
	case strings.HasPrefix(name, "struct_size/"):
		return []string{"§6.2"}
	case strings.HasPrefix(name, "abi/"):
		return []string{"§6.15"}
	case name == "restrict_self/layer_limit":
		return []string{"§3.1", "§6.5", "§6.10"}
	case name == "restrict_self/failed_no_new_privs_enforcement_leaves_it_unset":
		return []string{"§3.1", "§6.5"}
	case strings.HasPrefix(name, "restrict_self/"):
		return []string{"§3.1", "§6.8"}
	case strings.HasPrefix(name, "add_rule/port_"):
		return []string{"§3.1", "§6.16", "net.1", "net.3"}
	case strings.HasPrefix(name, "ruleset_fd/"):
		return []string{"§3.1", "§6.16", "net.3"}
	case strings.HasPrefix(name, "add_rule/net_port"):
		return []string{"§3.1", "§6.3"}
	}
	return []string{"§3.1"}
}

var baseCases = []check.Case{
	// The raw query must say what the environment detected (through the
	// library) at the start of the run; the exact ABI a kernel must report
	// is checked against its catalog entry or --expect-abi.
	baseCase("abi/version_query", check.Sys(func(e check.Env) string { return fmt.Sprintf("ABI %d", e.ABI) }), func(t *check.T) string {
		v, err := fixture.Create(nil, unix.LANDLOCK_CREATE_RULESET_VERSION)
		if err != nil {
			return check.Outcome(err)
		}
		return fmt.Sprintf("ABI %d", v)
	}).Showing("create/version", check.ShowsEffect),
	// The errata query is tied to no ABI in the documentation: from the
	// ABI it arrived with it must work, before it may (backports). The
	// mask may only hold errata this suite knows, of features the ABI has.
	baseCase("abi/errata_query", check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABIErrataQuery {
			return "mask of known errata"
		}
		return "mask of known errata|EINVAL"
	}), func(t *check.T) string {
		v, err := fixture.Create(nil, unix.LANDLOCK_CREATE_RULESET_ERRATA)
		if err != nil {
			return check.Outcome(err)
		}
		t.Logf("errata %#x", v)
		return errataMaskOutcome(uint64(v), t.Env.ABI)
	}).Showing("create/errata", check.ShowsEffect).Deviating(func(check.Env) []check.Deviation {
		return []check.Deviation{{Outcome: "mask with errata unknown to this suite", Kind: check.Warn,
			Why: fmt.Sprintf("the kernel reports errata newer than the %d this suite knows", len(check.Errata))}}
	}),
	baseCase("create_ruleset/version_and_errata_together_einval", check.Always("EINVAL"), func(*check.T) string {
		return fixture.CreateOutcome(nil, unix.LANDLOCK_CREATE_RULESET_VERSION|unix.LANDLOCK_CREATE_RULESET_ERRATA)
	}),
	baseCase("create_ruleset/unknown_flag_einval", check.Always("EINVAL"), func(*check.T) string { return fixture.CreateOutcome(nil, 1<<30) }),
	baseCase("create_ruleset/version_with_attr_einval", check.Always("EINVAL"), func(*check.T) string {
		return fixture.CreateOutcome(fixture.Attr(8, fsRead), unix.LANDLOCK_CREATE_RULESET_VERSION)
	}),
	baseCase("create_ruleset/null_attr_efault", check.Always("EFAULT"), func(*check.T) string {
		_, err := landlock.SysCreateRuleset(nil, 8, 0)
		return check.Outcome(err)
	}),
	baseCase("create_ruleset/null_attr_size_1_efault_before_size_check", check.Always("EFAULT"), func(*check.T) string {
		_, err := landlock.SysCreateRuleset(nil, 1, 0)
		return check.Outcome(err)
	}),
	baseCase("create_ruleset/size_7_einval", check.Always("EINVAL"), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(7), 0) }),
	baseCase("create_ruleset/size_over_page_e2big", check.Always("E2BIG"), func(*check.T) string {
		return fixture.CreateOutcome(fixture.Attr(os.Getpagesize()+1, fsRead), 0)
	}),
	baseCase("create_ruleset/empty_enomsg", check.Always("ENOMSG"), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(8), 0) }),
	baseCase("create_ruleset/unknown_fs_bit_einval", check.Always("EINVAL"), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(8, 1<<63), 0) }),
	baseCase("struct_size/8_bytes", check.Always(check.OK), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(8, fsRead), 0) }),
	baseCase("struct_size/16_bytes_zero_tail", check.Always(check.OK), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(16, fsRead), 0) }),
	baseCase("struct_size/24_bytes_zero_tail", check.Always(check.OK), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(24, fsRead), 0) }),
	baseCase("struct_size/48_bytes_zero_tail", check.Always(check.OK), func(*check.T) string { return fixture.CreateOutcome(fixture.Attr(48, fsRead), 0) }),
	baseCase("struct_size/page_size_zero_tail", check.Always(check.OK), func(*check.T) string {
		return fixture.CreateOutcome(fixture.Attr(os.Getpagesize(), fsRead), 0)
	}),
	baseCase("struct_size/56_bytes_nonzero_unknown_tail_e2big", check.Always("E2BIG"), func(*check.T) string {
		b := fixture.Attr(56, fsRead)
		b[48] = 1
		return fixture.CreateOutcome(b, 0)
	}),
	baseCase("struct_size/48_bytes_quiet_fs", fieldOutcome(check.ABIQuiet, check.ABIQuiet), func(*check.T) string {
		return fixture.CreateOutcome(fixture.Attr(48, fsRead, 0, 0, fsRead), 0)
	}),
	// quiet_access_fs must be a subset of handled_access_fs (ABI 10);
	// before ABI 10 the field itself is unknown.
	baseCase("quiet/quiet_fs_not_subset", check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABIQuiet {
			return "EINVAL"
		}
		return "E2BIG"
	}), func(*check.T) string {
		return fixture.CreateOutcome(fixture.Attr(48, fsRead, 0, 0, uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)), 0)
	}),

	baseCase("add_rule/unknown_flag_einval", check.Always("EINVAL"), func(*check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPath(fd, fsRead, unix.AT_FDCWD, 1<<5)) })
	}),
	baseCase("add_rule/quiet_flag", check.Since(check.ABIQuiet, "EINVAL"), func(*check.T) string {
		root, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(root)
		// A quiet rule needs a quiet mask (ABI 10).
		return fixture.WithRulesetOrFallback(fixture.Attr(48, fsRead, 0, 0, fsRead), fixture.Attr(8, fsRead), func(fd int) string {
			return check.Outcome(fixture.AddPath(fd, fsRead, root, unix.LANDLOCK_ADD_RULE_QUIET))
		})
	}),
	baseCase("add_rule/bad_ruleset_fd_ebadf", check.Always("EBADF"), func(*check.T) string { return check.Outcome(fixture.AddPath(-1, fsRead, 0, 0)) }),
	baseCase("add_rule/non_ruleset_fd_ebadfd", check.Always("EBADFD"), func(t *check.T) string {
		d, err := unix.Open(t.Root(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(d)
		return check.Outcome(fixture.AddPath(d, fsRead, d, 0))
	}),
	baseCase("add_rule/unknown_rule_type_einval", check.Always("EINVAL"), func(*check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
			b := fixture.PathAttr(fsRead, 0)
			return check.Outcome(landlock.SysAddRule(fd, 99, unsafe.Pointer(&b[0]), 0))
		})
	}),
	baseCase("add_rule/null_attr_efault", check.Always("EFAULT"), func(*check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
			return check.Outcome(landlock.SysAddRule(fd, unix.LANDLOCK_RULE_PATH_BENEATH, nil, 0))
		})
	}),
	baseCase("add_rule/empty_access_enomsg", check.Always("ENOMSG"), func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPath(fd, 0, unix.AT_FDCWD, 0)) })
	}),
	baseCase("add_rule/unhandled_access_einval", check.Always("EINVAL"), func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
			d, err := unix.Open(t.Root(), unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(d)
			return check.Outcome(fixture.AddPath(fd, uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE), d, 0))
		})
	}),
	baseCase("add_rule/bad_parent_fd_ebadf", check.Always("EBADF"), func(*check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPath(fd, fsRead, -1, 0)) })
	}),
	baseCase("add_rule/dir_right_on_file_einval", check.Always("EINVAL"), func(t *check.T) string {
		t.Files("f")
		const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
		return fixture.WithRuleset(fixture.Attr(8, rd), func(fd int) string {
			f, err := unix.Open(t.Path("f"), unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			defer unix.Close(f)
			return check.Outcome(fixture.AddPath(fd, rd, f, 0))
		})
	}),
	// RULE_NET_PORT is an unknown rule type before ABI 4.
	baseCase("add_rule/net_port_rule_type", check.Since(check.ABINet, "EINVAL"), func(*check.T) string {
		return fixture.WithRulesetOrFallback(fixture.Attr(16, 0, 1), fixture.Attr(8, fsRead), func(fd int) string {
			return check.Outcome(fixture.AddPort(fd, 1, 8080, 0))
		})
	}),
	// A port above 65535 is refused; the same ruleset accepts port 65535,
	// so the EINVAL is the port's. Before net rules exist the rule type
	// itself is refused, which is reported as such.
	baseCase("add_rule/port_above_65535_einval", check.Sys(func(e check.Env) string {
		if e.ABI < check.ABINet {
			return "net_port rule refused: EINVAL"
		}
		return "65535=ok 65536=EINVAL"
	}), func(*check.T) string {
		return fixture.WithRulesetOrFallback(fixture.Attr(16, 0, 1), fixture.Attr(8, fsRead), func(fd int) string {
			if err := fixture.AddPort(fd, 1, 65535, 0); err != nil {
				return "net_port rule refused: " + check.Outcome(err)
			}
			return "65535=ok 65536=" + check.Outcome(fixture.AddPort(fd, 1, 65536, 0))
		})
	}),
	baseCase("ruleset_fd/read_einval", check.Always("EINVAL"), func(*check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
			_, err := unix.Read(fd, make([]byte, 8))
			return check.Outcome(err)
		})
	}),

	// Without no_new_privs, unprivileged: kernels before ABI 11 check the
	// privilege before the flags (EPERM); ABI 11 parses the flags first,
	// since NO_NEW_PRIVS can satisfy the requirement (EINVAL).
	baseCase("restrict_self/unknown_flag", check.Sys(flagsOrPriv("EINVAL")), func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(landlock.SysRestrictSelf(fd, 1<<30)) })
	}),
	// Without no_new_privs only CAP_SYS_ADMIN may enforce.
	check.Case{Area: "base", Name: "restrict_self/without_no_new_privs", Want: check.Sys(func(e check.Env) string {
		if e.Root {
			return check.OK
		}
		return "EPERM"
	}), Run: func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(landlock.SysRestrictSelf(fd, 0)) })
	}},
	baseCase("restrict_self/unknown_flag_with_no_new_privs_einval", check.Always("EINVAL"), func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.Restrict(t, fd, 1<<31)) })
	}),
	baseCase("restrict_self/bad_fd_ebadf", check.Always("EBADF"), func(t *check.T) string { return check.Outcome(fixture.Restrict(t, -1, 0)) }),
	baseCase("restrict_self/non_ruleset_fd_ebadfd", check.Always("EBADFD"), func(t *check.T) string {
		n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return check.SetupFailed(err)
		}
		defer unix.Close(n)
		return check.Outcome(fixture.Restrict(t, n, 0))
	}),
	baseCase("restrict_self/no_ruleset_with_log_subdomains_off", check.Since(check.ABILogFlags, "EINVAL"), func(t *check.T) string {
		return check.Outcome(fixture.Restrict(t, -1, unix.LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF))
	}),
	// Only LOG_SUBDOMAINS_OFF works without a ruleset.
	baseCase("restrict_self/no_ruleset_with_log_same_exec_off", check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABILogFlags {
			return "EBADF"
		}
		return "EINVAL"
	}), func(t *check.T) string {
		return check.Outcome(fixture.Restrict(t, -1, unix.LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF))
	}),
	baseCase("restrict_self/no_ruleset_with_no_new_privs", check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABINNPFlag {
			return "EBADF"
		}
		return flagsOrPriv("EINVAL")(e)
	}), func(t *check.T) string { return check.Outcome(landlock.SysRestrictSelf(-1, 1<<4)) }),
	// Layers stack up to the limit, then E2BIG. The limit is 16; kernels
	// without the stable-backported reduction allow 64 (fixes.go).
	baseCase("restrict_self/layer_limit", check.Always("E2BIG after 16 layers"), func(t *check.T) string {
		return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
			for n := 0; n <= 64; n++ {
				if err := fixture.Restrict(t, fd, 0); err != nil {
					return fmt.Sprintf("%s after %d layers", check.Outcome(err), n)
				}
			}
			return "no limit after 65 layers"
		})
	}).Deviating(check.FixLayerLimit16.Without("E2BIG after 64 layers")),
	// With the NO_NEW_PRIVS flag (ABI 11), no_new_privs is set only if the
	// enforcement succeeds. Stacking 16 layers without no_new_privs needs
	// CAP_SYS_ADMIN.
	check.Case{Area: "base", Name: "restrict_self/failed_no_new_privs_enforcement_leaves_it_unset", Skip: check.NeedRoot("CAP_SYS_ADMIN"),
		Want: check.Sys(func(e check.Env) string {
			if e.ABI >= check.ABINNPFlag {
				return "E2BIG, no_new_privs=0"
			}
			return "EINVAL, no_new_privs=0"
		}), Run: func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				for i := 0; i < 16; i++ {
					if err := landlock.SysRestrictSelf(fd, 0); err != nil {
						return fmt.Sprintf("layer %d: %s", i+1, check.Outcome(err))
					}
				}
				err := landlock.SysRestrictSelf(fd, 1<<4)
				return fmt.Sprintf("%s, no_new_privs=%d", check.Outcome(err), fixture.NoNewPrivs())
			})
		}},
}

// errataMaskOutcome judges an errata mask: only errata this suite knows,
// each of a feature the kernel's ABI has.
func errataMaskOutcome(m uint64, abi int) string {
	known := uint64(0)
	for _, er := range check.Errata {
		bit := uint64(1) << (er.N - 1)
		known |= bit
		if m&bit != 0 && er.FeatureABI > abi {
			return fmt.Sprintf("bit %d set for erratum %d of ABI %d on an ABI %d kernel", er.N-1, er.N, er.FeatureABI, abi)
		}
	}
	if m&^known != 0 {
		return "mask with errata unknown to this suite"
	}
	return "mask of known errata"
}

// A ruleset fd passed over SCM_RIGHTS is usable by the receiver.
func init() {
	check.Build(func() {
		check.Register(baseCase("ruleset_fd/passed_over_scm_rights_usable", check.Always(check.OK), func(t *check.T) string {
			return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
				pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(pair[0])
				defer unix.Close(pair[1])
				if err := unix.Sendmsg(pair[0], []byte{0}, unix.UnixRights(fd), nil, 0); err != nil {
					return "sendmsg: " + check.Outcome(err)
				}
				oob := make([]byte, unix.CmsgSpace(4))
				_, oobn, _, _, err := unix.Recvmsg(pair[1], make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
				if err != nil {
					return "recvmsg: " + check.Outcome(err)
				}
				msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
				if err != nil || len(msgs) != 1 {
					return "no fd received"
				}
				fds, err := unix.ParseUnixRights(&msgs[0])
				if err != nil || len(fds) != 1 {
					return "no fd received"
				}
				defer unix.Close(fds[0])
				return check.Outcome(fixture.Restrict(t, fds[0], 0))
			})
		}).Covering("§3.1", "net.3"))
	})
}
