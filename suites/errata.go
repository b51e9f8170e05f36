package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
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
func erratumCase(n int, name string, iso Isolation, skip func(Env) string, unrestricted string, run func(t *T) string) Case {
	er := erratumN(n)
	return Case{Area: "errata", Name: fmt.Sprintf("%d_%s", n, name), Isolation: iso, Skip: skip, Covers: []string{"§6.4"},
		Want: func(e Env) string {
			if e.LibABI() < er.featureABI {
				return unrestricted
			}
			return fixed
		},
		Deviate: unfixedErratum(n, unfixed),
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
	return Outcome(err)
}

// noMPTCP is an environment skip: kernels without CONFIG_MPTCP, or with
// MPTCP disabled by sysctl.
func noMPTCP(Env) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_MPTCP)
	if err != nil {
		return "no MPTCP in this kernel (socket: " + Outcome(err) + ")"
	}
	unix.Close(fd)
	return ""
}

// whiteoutPolicy handles MAKE_REG and MAKE_CHAR and grants only grant on
// the case directory. A whiteout is a character device 0:0, which needs
// no CAP_MKNOD.
func whiteoutPolicy(t *T, grant landlock.AccessFS) landlock.Policy {
	p := landlock.Policy{FS: landlock.FSMakeReg | landlock.FSMakeChar}
	p.AllowPath(t.Root(), grant)
	return p
}

func mknodWhiteout(t *T, grant landlock.AccessFS, fixedErr, unfixedErr error) string {
	if err := t.Enforce(whiteoutPolicy(t, grant)); err != nil {
		return enforceFailed(err)
	}
	return classify(mknod(t.path("wh"), unix.S_IFCHR, 0, 0), fixedErr, unfixedErr)
}

func init() {
	register(
		// Erratum 1: TCP rights apply to TCP sockets only, not to MPTCP
		// (nor SCTP, SMC). Unfixed kernels deny with EACCES.
		erratumCase(1, "tcp_bind_rule_does_not_restrict_mptcp", Thread, noMPTCP, fixed, func(t *T) string {
			if err := t.Enforce(netPolicy(tcpBind)); err != nil {
				return enforceFailed(err)
			}
			return classify(bindOn(ipv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, 0), nil, unix.EACCES)
		}),
		erratumCase(1, "tcp_connect_rule_does_not_restrict_mptcp", Thread, noMPTCP, fixed, func(t *T) string {
			srv, port, err := server(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(netPolicy(tcpConnect)); err != nil {
				return enforceFailed(err)
			}
			return classify(connectTo(ipv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, port), nil, unix.EACCES)
		}),
		// Erratum 2: SCOPE_SIGNAL no longer blocks signals between threads
		// of one process in different domains. The probe sends signal 0 to
		// a sibling thread outside the case's domain.
		erratumCase(2, "signal_scope_allows_sibling_threads", Thread, nil, fixed, func(t *T) string {
			tid, stop := siblingThread()
			defer stop()
			if err := t.Enforce(scopePolicy(scopeSignal)); err != nil {
				return enforceFailed(err)
			}
			return classify(unix.Tgkill(unix.Getpid(), tid, 0), nil, unix.EPERM)
		}),
		// Erratum 3: a directory moved out of the bind mount it was reached
		// through is "disconnected". Fixed kernels evaluate it with the
		// rules of the mount point hierarchy as well as its own, so a file
		// read through it is allowed by a rule on the bind mount; unfixed
		// kernels stop at the filesystem root (EACCES).
		erratumCase(3, "disconnected_directory_sees_mount_point_rules", Process,
			needRoot("CAP_SYS_ADMIN: mount namespace and bind mount"), fixed, func(t *T) string {
				dirFD, err := disconnectedDir(t)
				if err != nil {
					return "setup failed: " + err.Error()
				}
				defer unix.Close(dirFD)
				p := landlock.Policy{FS: landlock.FSReadFile}
				p.AllowPath(t.path("b"), landlock.FSReadFile)
				if err := t.Enforce(p); err != nil {
					return enforceFailed(err)
				}
				fd, err := unix.Openat(dirFD, "f", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err == nil {
					unix.Close(fd)
				}
				return classify(err, nil, unix.EACCES)
			}),
		// Erratum 4: creating a whiteout needs MAKE_REG, not MAKE_CHAR.
		// Without a domain the whiteout is simply created.
		erratumCase(4, "whiteout_denied_with_only_make_char", Thread, nil, unfixed, func(t *T) string {
			return mknodWhiteout(t, landlock.FSMakeChar, unix.EACCES, nil)
		}),
		erratumCase(4, "whiteout_allowed_with_only_make_reg", Thread, nil, fixed, func(t *T) string {
			return mknodWhiteout(t, landlock.FSMakeReg, nil, unix.EACCES)
		}),
	)
}

// disconnectedDir builds, in a private mount namespace of the calling
// thread, a bind mount of a/s1 on b, opens b/dir and moves a/s1/dir to
// a/dir: the descriptor then names a directory outside its mount's root.
func disconnectedDir(t *T) (int, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return -1, opErr("unshare(CLONE_NEWNS)", err)
	}
	// Keep every mount of this namespace away from the host's.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return -1, opErr("make / private", err)
	}
	t.files("a/s1/dir/f")
	t.mkdirs("b")
	if err := unix.Mount(t.path("a", "s1"), t.path("b"), "", unix.MS_BIND, ""); err != nil {
		return -1, opErr("bind mount", err)
	}
	fd, err := unix.Open(t.path("b", "dir"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, opErr("open", err)
	}
	if err := unix.Rename(t.path("a", "s1", "dir"), t.path("a", "dir")); err != nil {
		unix.Close(fd)
		return -1, opErr("rename", err)
	}
	return fd, nil
}

type setupError struct {
	op  string
	err error
}

func (e setupError) Error() string { return e.op + ": " + Outcome(e.err) }

func opErr(op string, err error) error { return setupError{op, err} }
