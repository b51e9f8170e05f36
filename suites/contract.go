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

// The syscall contract beyond base.go (issue 14; coverage-map §3.1, §6.8,
// §6.16, net.3): the errno of every check of the three syscalls, the
// order of the checks shown by combining two errors in one call (the
// first check must win), the file descriptors that are not rulesets or
// not usable as rule parents, the ruleset fd's own I/O, the first unknown
// bit of every field and flag set on the newest ABI, and port numbers
// past 16 bits.
//
// Not testable in a VM, or only recorded, with the reason (coverage table):
//   - §3.1 ENOMEM of the three syscalls: needs an allocation failure; the
//     Debian cloud kernels have no fault injection (CONFIG_FAILSLAB), and
//     a memory cgroup limit cannot be made to hit exactly that
//     allocation deterministically.
//   - §3.1 EAFNOSUPPORT of a NET_PORT rule on a kernel without
//     CONFIG_INET: every catalogue kernel has INET.
//   - §3.1/§6.16 EPERM of add_rule for a ruleset fd without write access,
//     and of restrict_self for one without read access: no such fd can
//     be had. A ruleset is an anonymous inode that cannot be reopened
//     through /proc/self/fd (ENXIO) and an O_PATH fd, the only other way,
//     fails earlier with EBADF. ruleset_fd/reopen_* record on every
//     kernel whether it stays unreachable (EPERM would be the answer).
//   - §3.1 EOPNOTSUPP: every case expects it on the 6.12-nolandlock
//     kernel (sys() in expect.go); ENOSYS on 5.10.

func contractCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "base", Name: name, Want: want, Run: run, Covers: []string{"§3.1", "net.3"}}
}

// tooBigFD is an fd number that cannot be open (above any RLIMIT_NOFILE
// the suites run with).
const tooBigFD = 1 << 29

// unreadable is a page the process cannot read: an attribute pointer
// into it makes the kernel's copy fail (EFAULT).
func unreadable() (unsafe.Pointer, func(), error) {
	b, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, err
	}
	return unsafe.Pointer(&b[0]), func() { unix.Munmap(b) }, nil
}

// nextBit is the first bit above every value of kind in the suites' ABI
// table: unknown to every ABI this suite covers.
func nextBit(kind check.FeatureKind) uint64 {
	var top uint64
	for _, f := range check.FeaturesOf(kind) {
		top = max(top, f.Value)
	}
	return top << 1
}

// unknownBit is the outcome of the first unknown bit of a field
// introduced at fieldABI: E2BIG where the field itself is unknown, EINVAL
// up to the newest ABI this suite knows; a newer ABI may define the bit.
func unknownBit(fieldABI int) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		switch {
		case e.ABI < fieldABI:
			return "E2BIG"
		case e.ABI <= check.NewestABI:
			return "EINVAL"
		}
		return "EINVAL|ok"
	})
}

// orNewer is an outcome up to the newest ABI of this suite; a newer ABI
// may accept what was unknown.
func orNewer(f func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		if e.ABI > check.NewestABI {
			return f(e) + "|ok"
		}
		return f(e)
	}
}

// Kinds of file that are not rulesets, nor usable as rule parents: each
// opener returns an fd and a closer.
type fdKind struct {
	name string
	open func(t *check.T) (int, func(), error)
}

func closerOf(fds ...int) func() {
	return func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

var foreignFDs = []fdKind{
	{"nsfs", func(*check.T) (int, func(), error) { // an internal mount
		fd, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return fd, closerOf(fd), err
	}},
	{"pipefs", func(*check.T) (int, func(), error) { // SB_NOUSER
		var p [2]int
		err := unix.Pipe2(p[:], unix.O_CLOEXEC)
		return p[0], closerOf(p[0], p[1]), err
	}},
	{"sockfs", func(*check.T) (int, func(), error) {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		return fd, closerOf(fd), err
	}},
	{"anon_inode", func(*check.T) (int, func(), error) {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		return fd, closerOf(fd), err
	}},
	{"ruleset", func(*check.T) (int, func(), error) {
		fd, err := fixture.Create(fixture.Attr(8, fsRead), 0)
		return fd, closerOf(fd), err
	}},
}

// reopen opens the ruleset fd again through /proc/self/fd with flags.
func reopen(fd, flags int) (int, error) {
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), flags|unix.O_CLOEXEC, 0)
}

// withRoot runs f with an O_PATH fd of / (a valid rule parent).
func withRoot(f func(root int) string) string {
	root, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(root)
	return f(root)
}

// netRuleset runs f on a ruleset handling net (ABI ≥ 4 kernels); where
// the kernel refuses it the rule is tried on a filesystem ruleset, and a
// refusal of the first, valid rule names itself.
func withNetRuleset(net uint64, f func(fd int) string) string {
	return fixture.WithRulesetOrFallback(fixture.Attr(16, 0, net), fixture.Attr(8, fsRead), f)
}

// netRefused is the outcome where NET_PORT rules do not exist (ABI < 4):
// the valid first rule is refused for its type.
const netRefused = "net_port rule refused: EINVAL"

func sinceNet(outcome string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI < check.ABINet {
			return netRefused
		}
		return outcome
	})
}

const (
	netBindTCPBit    = uint64(landlock.NetBindTCP)
	netConnectTCPBit = uint64(landlock.NetConnectTCP)
	netBindUDPBit    = uint64(landlock.NetBindUDP)
)

// portsOutcome adds a valid rule on port 65535, then one per port, and
// names each answer.
func portsOutcome(fd int, access uint64, ports []uint64, names []string) string {
	if err := fixture.AddPort(fd, access, 65535, 0); err != nil {
		return "net_port rule refused: " + check.Outcome(err)
	}
	out := []string{"65535=ok"}
	for i, p := range ports {
		out = append(out, names[i]+"="+check.Outcome(fixture.AddPort(fd, access, p, 0)))
	}
	return strings.Join(out, " ")
}

func init() {
	check.Build(func() {
		pagesize := os.Getpagesize()
		cs := []check.Case{
			// create_ruleset: flags → attr pointer → size → copy → bits → ENOMSG.
			contractCase("create_ruleset/unreadable_attr_efault", check.Always("EFAULT"), func(*check.T) string {
				p, done, err := unreadable()
				if err != nil {
					return check.SetupFailed(err)
				}
				defer done()
				_, err = landlock.SysCreateRuleset(p, 8, 0)
				return check.Outcome(err)
			}),
			contractCase("create_ruleset/unknown_flag_before_null_attr_einval", check.Always("EINVAL"), func(*check.T) string {
				_, err := landlock.SysCreateRuleset(nil, 8, 1<<30)
				return check.Outcome(err)
			}),
			contractCase("create_ruleset/null_attr_before_size_over_page_efault", check.Always("EFAULT"), func(*check.T) string {
				_, err := landlock.SysCreateRuleset(nil, uintptr(pagesize+1), 0)
				return check.Outcome(err)
			}),
			contractCase("create_ruleset/size_7_before_unreadable_attr_einval", check.Always("EINVAL"), func(*check.T) string {
				p, done, err := unreadable()
				if err != nil {
					return check.SetupFailed(err)
				}
				defer done()
				_, err = landlock.SysCreateRuleset(p, 7, 0)
				return check.Outcome(err)
			}),
			contractCase("create_ruleset/nonzero_unknown_tail_before_unknown_bit_e2big", check.Always("E2BIG"), func(*check.T) string {
				b := fixture.Attr(56, 1<<63)
				b[48] = 1
				return fixture.CreateOutcome(b, 0)
			}),
			// The first bit past the newest ABI's rights and scopes, the
			// other fields empty: EINVAL (not ENOMSG) on every ABI with the
			// field, E2BIG before it.
			contractCase("create_ruleset/first_unknown_fs_bit", unknownBit(check.ABILandlock), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(8, nextBit(check.FSRight)), 0)
			}),
			contractCase("create_ruleset/first_unknown_net_bit", unknownBit(check.ABINet), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(16, 0, nextBit(check.NetRight)), 0)
			}),
			contractCase("create_ruleset/first_unknown_scope_bit", unknownBit(check.ABIScoped), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(24, 0, 0, nextBit(check.ScopeBit)), 0)
			}),
			contractCase("create_ruleset/highest_net_bit", unknownBit(check.ABINet), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(16, 0, 1<<63), 0)
			}),
			contractCase("create_ruleset/highest_scope_bit", unknownBit(check.ABIScoped), func(*check.T) string {
				return fixture.CreateOutcome(fixture.Attr(24, 0, 0, 1<<63), 0)
			}),

			// add_rule: flags → ruleset fd → rule type → attr copy → ENOMSG →
			// handled subset → quiet → parent fd → file type.
			contractCase("add_rule/unknown_flag_before_bad_ruleset_fd_einval", check.Always("EINVAL"), func(*check.T) string {
				return check.Outcome(fixture.AddPath(-1, fsRead, unix.AT_FDCWD, 1<<30))
			}),
			contractCase("add_rule/first_unknown_flag", orNewer(check.Always("EINVAL")), func(*check.T) string {
				return withRoot(func(root int) string {
					return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
						return check.Outcome(fixture.AddPath(fd, fsRead, root, uint32(nextBit(check.AddRuleFlag))))
					})
				})
			}),
			// QUIET is a known flag from ABI 10: then the fd is checked.
			contractCase("add_rule/quiet_flag_then_bad_ruleset_fd", check.Sys(func(e check.Env) string {
				if e.ABI >= check.ABIQuiet {
					return "EBADF"
				}
				return "EINVAL"
			}), func(*check.T) string {
				return check.Outcome(fixture.AddPath(-1, fsRead, unix.AT_FDCWD, unix.LANDLOCK_ADD_RULE_QUIET))
			}),
			contractCase("add_rule/bad_ruleset_fd_before_unknown_rule_type_ebadf", check.Always("EBADF"), func(*check.T) string {
				b := fixture.PathAttr(fsRead, 0)
				return check.Outcome(landlock.SysAddRule(-1, 99, unsafe.Pointer(&b[0]), 0))
			}),
			contractCase("add_rule/non_ruleset_fd_before_unknown_rule_type_ebadfd", check.Always("EBADFD"), func(*check.T) string {
				return withRoot(func(root int) string {
					dir, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(dir)
					b := fixture.PathAttr(fsRead, root)
					return check.Outcome(landlock.SysAddRule(dir, 99, unsafe.Pointer(&b[0]), 0))
				})
			}),
			contractCase("add_rule/unknown_rule_type_before_null_attr_einval", check.Always("EINVAL"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(landlock.SysAddRule(fd, 99, nil, 0)) })
			}),
			contractCase("add_rule/unreadable_attr_efault", check.Always("EFAULT"), func(*check.T) string {
				p, done, err := unreadable()
				if err != nil {
					return check.SetupFailed(err)
				}
				defer done()
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(landlock.SysAddRule(fd, unix.LANDLOCK_RULE_PATH_BENEATH, p, 0))
				})
			}),
			contractCase("add_rule/empty_access_before_bad_parent_fd_enomsg", check.Always("ENOMSG"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPath(fd, 0, -1, 0)) })
			}),
			// QUIET without a quiet mask is refused before the parent fd is
			// looked at (from ABI 10; before, the flag itself is unknown).
			contractCase("add_rule/quiet_without_quiet_mask_before_bad_parent_fd_einval", check.Always("EINVAL"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(fixture.AddPath(fd, fsRead, tooBigFD, unix.LANDLOCK_ADD_RULE_QUIET))
				})
			}),
			contractCase("add_rule/unhandled_access_before_bad_parent_fd_einval", check.Always("EINVAL"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(fixture.AddPath(fd, uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE), -1, 0))
				})
			}),
			// A directory right on a parent that is no file at all: the
			// parent's type is refused before its rights are compared with
			// what a non-directory can carry.
			contractCase("add_rule/nsfs_parent_with_directory_right_ebadfd", check.Always("EBADFD"), func(t *check.T) string {
				const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
				ns, closeNS, err := foreignFDs[0].open(t)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer closeNS()
				return fixture.WithRuleset(fixture.Attr(8, rd), func(fd int) string { return check.Outcome(fixture.AddPath(fd, rd, ns, 0)) })
			}),
			contractCase("add_rule/bad_parent_fd_with_directory_right_ebadf", check.Always("EBADF"), func(*check.T) string {
				const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
				return fixture.WithRuleset(fixture.Attr(8, rd), func(fd int) string { return check.Outcome(fixture.AddPath(fd, rd, tooBigFD, 0)) })
			}),

			// Net rules.
			contractCase("add_rule/net_empty_access_before_port_check_enomsg", sinceNet("65535=ok empty,65536=ENOMSG"), func(*check.T) string {
				return withNetRuleset(netBindTCPBit, func(fd int) string {
					if err := fixture.AddPort(fd, netBindTCPBit, 65535, 0); err != nil {
						return "net_port rule refused: " + check.Outcome(err)
					}
					return "65535=ok empty,65536=" + check.Outcome(fixture.AddPort(fd, 0, 65536, 0))
				})
			}),
			// A net rule granting a right the ruleset does not handle.
			contractCase("add_rule/net_unhandled_access_einval", sinceNet("bind_tcp=ok connect_tcp=EINVAL"), func(*check.T) string {
				return withNetRuleset(netBindTCPBit, func(fd int) string {
					if err := fixture.AddPort(fd, netBindTCPBit, 80, 0); err != nil {
						return "net_port rule refused: " + check.Outcome(err)
					}
					return "bind_tcp=ok connect_tcp=" + check.Outcome(fixture.AddPort(fd, netConnectTCPBit, 80, 0))
				})
			}),
			// A UDP right on a TCP ruleset: unhandled from ABI 10, an
			// unknown bit before; EINVAL either way.
			contractCase("add_rule/net_udp_right_on_tcp_ruleset_einval", sinceNet("bind_tcp=ok bind_udp=EINVAL"), func(*check.T) string {
				return withNetRuleset(netBindTCPBit, func(fd int) string {
					if err := fixture.AddPort(fd, netBindTCPBit, 80, 0); err != nil {
						return "net_port rule refused: " + check.Outcome(err)
					}
					return "bind_tcp=ok bind_udp=" + check.Outcome(fixture.AddPort(fd, netBindUDPBit, 80, 0))
				})
			}),
			// A ruleset handling no network right accepts no net rule: an
			// unknown rule type before ABI 4, an unhandled right after.
			contractCase("add_rule/net_rule_on_filesystem_only_ruleset_einval", check.Always("EINVAL"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPort(fd, netBindTCPBit, 80, 0)) })
			}),
			// Ports past 16 bits, including values whose low 16 or 32 bits
			// are a valid port (a kernel truncating the field would accept
			// them and grant port 80).
			contractCase("add_rule/port_past_32_bits_einval",
				sinceNet("65535=ok 2^32=EINVAL 2^32+1=EINVAL 2^32+80=EINVAL 2^16+80=EINVAL 2^64-1=EINVAL"), func(*check.T) string {
					return withNetRuleset(netBindTCPBit, func(fd int) string {
						return portsOutcome(fd, netBindTCPBit,
							[]uint64{1 << 32, 1<<32 + 1, 1<<32 + 80, 1<<16 + 80, 1<<64 - 1},
							[]string{"2^32", "2^32+1", "2^32+80", "2^16+80", "2^64-1"})
					})
				}),
			contractCase("add_rule/udp_port_above_65535_einval", check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIUDP {
					return "net_port rule refused: EINVAL" // an unknown right (or rule type)
				}
				return "65535=ok 65536=EINVAL 2^32+1=EINVAL"
			}), func(*check.T) string {
				return fixture.WithRulesetOrFallback(fixture.Attr(16, 0, netBindUDPBit), fixture.Attr(8, fsRead), func(fd int) string {
					return portsOutcome(fd, netBindUDPBit, []uint64{65536, 1<<32 + 1}, []string{"65536", "2^32+1"})
				})
			}),

			// restrict_self: flags → privilege (no_new_privs, CAP_SYS_ADMIN,
			// or from ABI 11 the NO_NEW_PRIVS flag) → fd. Unprivileged
			// callers without no_new_privs get EPERM before the fd errors.
			contractCase("restrict_self/bad_fd_without_no_new_privs", check.Sys(func(e check.Env) string {
				if e.Root {
					return "EBADF"
				}
				return "EPERM"
			}), func(*check.T) string { return check.Outcome(landlock.SysRestrictSelf(tooBigFD, 0)) }),
			contractCase("restrict_self/non_ruleset_fd_without_no_new_privs", check.Sys(func(e check.Env) string {
				if e.Root {
					return "EBADFD"
				}
				return "EPERM"
			}), func(t *check.T) string {
				fd, done, err := foreignFDs[1].open(t)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer done()
				return check.Outcome(landlock.SysRestrictSelf(fd, 0))
			}),
			contractCase("restrict_self/unknown_flag_and_bad_fd_without_no_new_privs", check.Sys(flagsOrPriv("EINVAL")), func(*check.T) string {
				return check.Outcome(landlock.SysRestrictSelf(tooBigFD, 1<<30))
			}),
			contractCase("restrict_self/unknown_flag_and_bad_fd_with_no_new_privs_einval", check.Always("EINVAL"), func(t *check.T) string {
				return check.Outcome(fixture.Restrict(t, tooBigFD, 1<<30))
			}),
			contractCase("restrict_self/first_unknown_flag", orNewer(check.Always("EINVAL")), func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(fixture.Restrict(t, fd, uint32(nextBit(check.RestrictFlag))))
				})
			}),
			contractCase("restrict_self/first_unknown_flag_without_no_new_privs", orNewer(check.Sys(flagsOrPriv("EINVAL"))), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					return check.Outcome(landlock.SysRestrictSelf(fd, uint32(nextBit(check.RestrictFlag))))
				})
			}),
			// From ABI 11 the NO_NEW_PRIVS flag satisfies the privilege
			// check, so the bad fd is reported; before, the flag is unknown.
			contractCase("restrict_self/no_new_privs_flag_and_bad_fd", check.Sys(func(e check.Env) string {
				if e.ABI >= check.ABINNPFlag {
					return "EBADF"
				}
				return flagsOrPriv("EINVAL")(e)
			}), func(*check.T) string { return check.Outcome(landlock.SysRestrictSelf(tooBigFD, nnpFlag)) }),

			// The ruleset fd's own I/O and other opens of it.
			contractCase("ruleset_fd/write_einval", check.Always("EINVAL"), func(*check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					_, err := unix.Write(fd, []byte("x"))
					return check.Outcome(err)
				})
			}),
			contractCase("ruleset_fd/o_path_reopen_add_rule_ebadf", check.Always("EBADF"), func(*check.T) string {
				return withRoot(func(root int) string {
					return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
						p, err := reopen(fd, unix.O_PATH)
						if err != nil {
							return check.SetupFailedf("reopen O_PATH: %s", check.Outcome(err))
						}
						defer unix.Close(p)
						return check.Outcome(fixture.AddPath(p, fsRead, root, 0))
					})
				})
			}),
			contractCase("ruleset_fd/o_path_reopen_restrict_self_ebadf", check.Always("EBADF"), func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					p, err := reopen(fd, unix.O_PATH)
					if err != nil {
						return check.SetupFailedf("reopen O_PATH: %s", check.Outcome(err))
					}
					defer unix.Close(p)
					return check.Outcome(fixture.Restrict(t, p, 0))
				})
			}),
			// The documented EPERM of a ruleset fd opened without write
			// (add_rule) or read (restrict_self) access, if such an fd can
			// be had at all (see the comment at the top).
			contractCase("ruleset_fd/reopen_read_only_add_rule", check.Always("reopen refused|EPERM"), func(t *check.T) string {
				return withRoot(func(root int) string {
					return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
						r, err := reopen(fd, unix.O_RDONLY)
						if err != nil {
							t.Logf("reopen O_RDONLY: %s", check.Outcome(err))
							return "reopen refused"
						}
						defer unix.Close(r)
						return check.Outcome(fixture.AddPath(r, fsRead, root, 0))
					})
				})
			}),
			contractCase("ruleset_fd/reopen_write_only_restrict_self", check.Always("reopen refused|EPERM"), func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					w, err := reopen(fd, unix.O_WRONLY)
					if err != nil {
						t.Logf("reopen O_WRONLY: %s", check.Outcome(err))
						return "reopen refused"
					}
					defer unix.Close(w)
					return check.Outcome(fixture.Restrict(t, w, 0))
				})
			}),
		}
		// Every kind of file that is no ruleset: refused as a rule's parent
		// (EBADFD, the ruleset itself included) and as the ruleset of
		// restrict_self (EBADFD, the ruleset excepted).
		for _, k := range foreignFDs {
			k := k
			cs = append(cs, contractCase("add_rule/parent_fd_"+k.name+"_ebadfd", check.Always("EBADFD"), func(t *check.T) string {
				p, done, err := k.open(t)
				if err != nil {
					return check.Outcome(err) // ENOSYS/EOPNOTSUPP for a ruleset without Landlock
				}
				defer done()
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string { return check.Outcome(fixture.AddPath(fd, fsRead, p, 0)) })
			}))
			if k.name == "ruleset" {
				continue
			}
			cs = append(cs, contractCase("restrict_self/"+k.name+"_fd_ebadfd", check.Always("EBADFD"), func(t *check.T) string {
				fd, done, err := k.open(t)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer done()
				// Without Landlock, the errno of creating a ruleset.
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(int) string { return check.Outcome(fixture.Restrict(t, fd, 0)) })
			}))
		}
		for _, c := range cs {
			switch {
			case strings.HasPrefix(c.Name, "restrict_self/"):
				c.Covers = append(c.Covers, "§6.8")
			case strings.Contains(c.Name, "port_"):
				c.Covers = append(c.Covers, "§6.16", "net.1")
			case strings.Contains(c.Name, "unreadable") || strings.Contains(c.Name, "reopen") ||
				strings.Contains(c.Name, "nsfs") || strings.Contains(c.Name, "pipefs") || strings.Contains(c.Name, "write_einval"):
				c.Covers = append(c.Covers, "§6.16")
			case strings.Contains(c.Name, "first_unknown") || strings.Contains(c.Name, "highest"):
				c.Covers = append(c.Covers, "§6.3")
			}
			check.Register(mirrored(c)...)
		}
		// create_ruleset: a full fd table (EMFILE), after the ruleset was
		// allocated. RLIMIT_NOFILE is per process: its own process.
		check.Register(check.Case{Area: "base", Name: "create_ruleset/fd_table_full_emfile", Isolation: check.Process, Want: check.Always("EMFILE"),
			Covers: []string{"§3.1", "net.3", "§6.16"},
			Run: func(t *check.T) string {
				var old unix.Rlimit
				if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
					return check.SetupFailedf("getrlimit: %s", check.Outcome(err))
				}
				low, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0) // the lowest free fd
				if err != nil {
					return check.SetupFailed(err)
				}
				unix.Close(low)
				lim := old
				lim.Cur = uint64(low)
				if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
					return check.SetupFailedf("setrlimit: %s", check.Outcome(err))
				}
				defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
				return fixture.CreateOutcome(fixture.Attr(8, fsRead), 0)
			}})
	})
}
