package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Unknown bits in rules and quiet masks: a bit no ABI defines is refused
// (EINVAL) wherever the field itself is known, so that a future right
// cannot be granted by accident. Each row pairs the unknown bit with the
// same call using a known bit, which must succeed: a kernel that refuses
// the call for another reason, or accepts the unknown bit, fails.

// bit63 is a bit no Landlock ABI defines.
const bit63 = uint64(1) << 63

// quietUnknown is the outcome of a ruleset whose quiet mask holds a known
// bit, then the unknown bit: E2BIG before the quiet fields exist (ABI
// 10), where the kernel sees non-zero bytes past its struct; each call's
// ENOSYS or EOPNOTSUPP without Landlock.
func quietUnknown(e check.Env) string {
	known, unknown := check.OK, "EINVAL"
	if o, ok := check.NoLandlock(e); ok {
		known, unknown = o, o
	} else if e.ABI < check.ABIQuiet {
		known, unknown = "E2BIG", "E2BIG"
	}
	return check.Steps(check.Saw("known", known), check.Saw("unknown", unknown))
}

// quietRow creates a ruleset of the 48-byte attribute whose quiet field
// (index 3, 4 or 5 of fixture.Attr) holds a known bit, then the unknown
// bit, with the matching handled field set.
func quietRow(name string, handledField int, handled uint64) check.Case {
	attr := func(quiet uint64) []byte {
		fields := make([]uint64, 6)
		fields[handledField] = handled
		fields[handledField+3] = quiet
		return fixture.Attr(48, fields...)
	}
	return contractCase("create_ruleset/"+name+"_unknown_bit_einval", quietUnknown, func(*check.T) string {
		return check.Steps(check.Saw("known", fixture.CreateOutcome(attr(handled), 0)),
			check.Saw("unknown", fixture.CreateOutcome(attr(handled|bit63), 0)))
	}).Mirroring("base_test.c:invalid_quiet_bits_2")
}

func init() {
	check.Build(func() {
		check.Register(
			baseCase("add_rule/path_unknown_access_bit_einval", check.Always(check.Steps(check.Saw("read", check.OK), check.Saw("unknown", "EINVAL"))), func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
					d, err := unix.Open(t.Root(), unix.O_PATH|unix.O_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(d)
					return check.Steps(check.Did("read", fixture.AddPath(fd, fsRead, d, 0)),
						check.Did("unknown", fixture.AddPath(fd, fsRead|bit63, d, 0)))
				})
			}).Mirroring("fs_test.c:layout0.rule_with_unknown_access").Covering("§3.1", "net.3"),
			contractCase("add_rule/net_unknown_access_bit_einval", sinceNet(check.Steps(check.Saw("bind_tcp", check.OK), check.Saw("unknown", "EINVAL"))), func(*check.T) string {
				return withNetRuleset(netBindTCPBit, func(fd int) string {
					if err := fixture.AddPort(fd, netBindTCPBit, 80, 0); err != nil {
						return "net_port rule refused: " + check.Outcome(err)
					}
					return check.Steps(check.Saw("bind_tcp", check.OK), check.Did("unknown", fixture.AddPort(fd, netBindTCPBit|bit63, 80, 0)))
				})
			}).Mirroring("net_test.c:mini.rule_with_unknown_access"),
			// A ruleset passed to another holder restricts whoever
			// enforces it there, and nobody else: the receiving thread is
			// denied, a thread of the sender's side is not.
			baseCase("ruleset_fd/passed_over_scm_rights_restricts_only_the_receiver",
				check.Always(check.Steps(check.Saw("restrict", check.OK), check.Saw("receiver_read", "EACCES"), check.Saw("sender_read", check.OK))),
				func(t *check.T) string {
					t.Files("f")
					return fixture.WithRuleset(fixture.Attr(8, fsRead), func(fd int) string {
						got, err := passFD(fd)
						if err != nil {
							return check.SetupFailedf("passing the ruleset: %v", err)
						}
						defer unix.Close(got)
						return check.Steps(check.Did("restrict", fixture.Restrict(t, got, 0)),
							check.Did("receiver_read", fixture.OpenRead(t.Path("f"))),
							check.Saw("sender_read", fixture.OnOtherThread(func() string { return check.Outcome(fixture.OpenRead(t.Path("f"))) })))
					})
				}).Mirroring("base_test.c:ruleset_fd_transfer").Covering("§3.1", "net.3"),
			quietRow("quiet_access_fs", 0, fsRead),
			quietRow("quiet_access_net", 1, netBindTCPBit),
			quietRow("quiet_scoped", 2, uint64(unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET)),
		)
	})
}
