package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The errata probes (fixes.go says how errata are judged). Each probe
// names its outcome "fixed" or "unfixed" when it is one of the two
// documented results, the errno otherwise. Where the library's ABI lacks
// the feature concerned, nothing is restricted and the probe shows the
// unrestricted outcome.

const (
	fixed   = "fixed"
	unfixed = "unfixed"
)

// erratumCase is a probe of erratum n: fixed where the feature exists,
// known when it behaves unfixed on a kernel whose mask lacks the fix.
func erratumCase(n int, name string, iso check.Isolation, skip func(check.Env) string, unrestricted string, run func(t *check.T) string) check.Case {
	er := check.ErratumN(n)
	return check.Case{Area: "errata", Name: fmt.Sprintf("%d_%s", n, name), Isolation: iso, Skip: skip, Covers: []string{"§6.4"},
		Want: func(e check.Env) string {
			if e.LibABI() < er.FeatureABI {
				return unrestricted
			}
			return fixed
		},
		Deviate: check.UnfixedErratum(n, unfixed),
		Run:     run}
}

// classify names the probe's outcome: fixed or unfixed when it is one of
// the two documented results, the errno otherwise.
func classify(err, fixedErr, unfixedErr error) string {
	switch err {
	case fixedErr:
		return fixed
	case unfixedErr:
		return unfixed
	}
	return check.Outcome(err)
}

// noMPTCP is an environment skip: kernels without CONFIG_MPTCP, or with
// MPTCP disabled by sysctl.
func noMPTCP(check.Env) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_MPTCP)
	if err != nil {
		return "no MPTCP in this kernel (socket: " + check.Outcome(err) + ")"
	}
	unix.Close(fd)
	return ""
}

// whiteoutPolicy handles MAKE_REG and MAKE_CHAR and grants only grant on
// the case directory. A whiteout is a character device 0:0, which needs
// no CAP_MKNOD.
func whiteoutPolicy(t *check.T, grant landlock.AccessFS) landlock.Policy {
	p := landlock.Policy{FS: landlock.FSMakeReg | landlock.FSMakeChar}
	p.AllowPath(t.Root(), grant)
	return p
}

func mknodWhiteout(t *check.T, grant landlock.AccessFS, fixedErr, unfixedErr error) string {
	if err := t.Enforce(whiteoutPolicy(t, grant)); err != nil {
		return fixture.EnforceFailed(err)
	}
	return classify(fixture.Mknod(t.Path("wh"), unix.S_IFCHR, 0, 0), fixedErr, unfixedErr)
}

func init() {
	check.Build(func() {
		check.Register(mirrored(
			// Erratum 1: TCP rights apply to TCP sockets only, not to MPTCP
			// (nor SCTP, SMC). Unfixed kernels deny with EACCES.
			erratumCase(1, "tcp_bind_rule_does_not_restrict_mptcp", check.Thread, noMPTCP, fixed, func(t *check.T) string {
				if err := t.Enforce(fixture.NetPolicy(tcpBind)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return classify(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, 0), nil, unix.EACCES)
			}),
			erratumCase(1, "tcp_connect_rule_does_not_restrict_mptcp", check.Thread, noMPTCP, fixed, func(t *check.T) string {
				srv, port, err := fixture.Server(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(srv)
				if err := t.Enforce(fixture.NetPolicy(tcpConnect)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return classify(fixture.ConnectTo(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, port), nil, unix.EACCES)
			}),
			// Erratum 2: SCOPE_SIGNAL no longer blocks signals between threads
			// of one process in different domains. The probe sends signal 0 to
			// a sibling thread outside the case's domain.
			erratumCase(2, "signal_scope_allows_sibling_threads", check.Thread, nil, fixed, func(t *check.T) string {
				tid, stop := fixture.SiblingThread()
				defer stop()
				if err := t.Enforce(scopePolicy(scopeSignal)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return classify(unix.Tgkill(unix.Getpid(), tid, 0), nil, unix.EPERM)
			}),
			// Erratum 4: creating a whiteout needs MAKE_REG, not MAKE_CHAR.
			// Without a domain the whiteout is simply created.
			erratumCase(4, "whiteout_denied_with_only_make_char", check.Thread, nil, unfixed, func(t *check.T) string {
				return mknodWhiteout(t, landlock.FSMakeChar, unix.EACCES, nil)
			}),
			erratumCase(4, "whiteout_allowed_with_only_make_reg", check.Thread, nil, fixed, func(t *check.T) string {
				return mknodWhiteout(t, landlock.FSMakeReg, nil, unix.EACCES)
			}),
		)...)
		registerErratum3()
	})
}

// Erratum 3: a directory moved out of the bind mount it was reached
// through is "disconnected" (fs_disconnected.go builds it, in a private
// mount namespace, root or unprivileged). Fixed kernels evaluate accesses
// through it with the rules of the mount point's hierarchy as well as its
// own; kernels without the fix stop at the filesystem root and miss the
// mount point's rules. The erratum names the consequence: a file whose
// rights through the disconnected directory lack what the mount point
// grants could gain it by a rename or link into the mount, without EXDEV
// (the reparenting check always counted both hierarchies for the source).
// The probes show that widening as one observation: the read through the
// descriptor before the move, the move, and the read at the destination.
// Kernels without the fix print a WARNING on such moves (the errata
// catalogue lists it, so it does not break the run).
func registerErratum3() {
	probe := func(name string, skip func(check.Env) string, body func(t *check.T) string) {
		c := erratumCase(3, name, check.Thread, skip, fixed, nil)
		c.Covers = append(c.Covers, "fs.2")
		check.Register(mirrored(withMountNS(c, body))...)
	}
	readThrough := func(fd int) error { return fixture.OpenAt(fd, "f", unix.O_RDONLY) }
	// The mount point's rule grants READ_FILE; the rename or link into the
	// mount needs REFER, MAKE_REG and REMOVE_FILE, granted on the case
	// directory (both hierarchies).
	widening := func(t *check.T, move func(fd int) error) string {
		return withDisconnected(t, discLeaf, fixture.ARead|referOps, []fixture.Rule{fixture.On("", referOps), fixture.On("mnt", fixture.ARead)}, func(fd int) string {
			o := check.Steps(check.Did("read", readThrough(fd)), check.Did("move", move(fd)))
			o += " read_after=" + check.Outcome(fixture.OpenRead(t.Path("mnt/other/f")))
			t.Logf("%s", o)
			switch o {
			case "read=ok move=ok read_after=ok":
				return fixed
			case "read=EACCES move=ok read_after=ok":
				return unfixed // READ_FILE gained by the move
			}
			return o
		})
	}
	probe("disconnected_directory_sees_mount_point_rules", nil, func(t *check.T) string {
		return withDisconnected(t, discLeaf, fixture.ARead, []fixture.Rule{fixture.On("mnt", fixture.ARead)}, func(fd int) string {
			return classify(readThrough(fd), nil, unix.EACCES)
		})
	})
	// Within the disconnected directory (no reparenting), creating the new
	// name needs MAKE_REG, granted by the mount point's rule only.
	probe("rename_within_disconnected_directory_sees_mount_point_rules", nil, func(t *check.T) string {
		return withDisconnected(t, discLeaf, fixture.ARead|fixture.AMkReg|fixture.ARmFile, []fixture.Rule{fixture.On("mnt", fixture.AMkReg|fixture.ARmFile)}, func(fd int) string {
			return classify(unix.Renameat(fd, "f", fd, "f2"), nil, unix.EACCES)
		})
	})
	probe("link_within_disconnected_directory_sees_mount_point_rules", nil, func(t *check.T) string {
		return withDisconnected(t, discLeaf, fixture.ARead|fixture.AMkReg, []fixture.Rule{fixture.On("mnt", fixture.AMkReg)}, func(fd int) string {
			return classify(unix.Linkat(fd, "f", fd, "f2", 0), nil, unix.EACCES)
		})
	})
	probe("rename_out_of_disconnected_directory_does_not_widen", nil, func(t *check.T) string {
		return widening(t, func(fd int) error { return unix.Renameat(fd, "f", unix.AT_FDCWD, t.Path("mnt/other/f")) })
	})
	probe("link_out_of_disconnected_directory_does_not_widen", nil, func(t *check.T) string {
		return widening(t, func(fd int) error { return unix.Linkat(fd, "f", unix.AT_FDCWD, t.Path("mnt/other/f"), 0) })
	})
	// A move that would gain a right the destination grants and neither
	// hierarchy of the source has is EXDEV (fixed); the documented unfixed
	// state allows widening moves ("moved"). Without a domain, or below the
	// REFER ABI (the library then enforces nothing), the file just moves.
	c := erratumCase(3, "rename_out_of_disconnected_directory_with_gain_exdev", check.Thread, nil, fixed, nil)
	c.Covers = append(c.Covers, "fs.2")
	c.Want = func(e check.Env) string {
		if e.LibABI() < check.ABIRefer {
			return "moved"
		}
		return fixed
	}
	// Unfixed kernels may refuse it too (Debian 6.1, errata mask 0x0,
	// answers EXDEV): the probe cannot tell the states apart there.
	c.Deviate = check.UnfixedErratum(3, "moved|"+fixed)
	check.Register(mirrored(withMountNS(c, func(t *check.T) string {
		return withDisconnected(t, discLeaf, fixture.ARead|referOps, []fixture.Rule{fixture.On("", referOps), fixture.On("mnt/other", fixture.ARead)}, func(fd int) string {
			err := unix.Renameat(fd, "f", unix.AT_FDCWD, t.Path("mnt/other/f"))
			if err == nil {
				return "moved"
			}
			return classify(err, unix.EXDEV, nil)
		})
	}))...)
}

type setupError struct {
	op  string
	err error
}

func (e setupError) Error() string { return e.op + ": " + check.Outcome(e.err) }

func opErr(op string, err error) error { return setupError{op, err} }
