package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Errata (reference/errata-7.3, coverage-map §2): each probe observes
// whether a fix is in. A kernel whose errata mask claims the fix (bit n-1
// for erratum n) must behave fixed; a kernel without the bit, or without
// the errata interface, gets the probe recorded as an observation:
// "fixed" or "unfixed" both pass, anything else fails. Where the library's
// ABI lacks the feature concerned, nothing is restricted and the probe
// shows the unrestricted outcome.

const (
	fixed   = "fixed"
	unfixed = "unfixed"
)

// erratumWant: featureABI is the ABI of the buggy feature; unrestricted
// is what the probe shows without it.
func erratumWant(n, featureABI int, unrestricted string) func(Env) string {
	return func(e Env) string {
		switch {
		case e.LibABI() < featureABI:
			return unrestricted
		case e.ErrataKnown && e.Errata&(1<<(n-1)) != 0:
			return fixed
		}
		return fixed + "|" + unfixed
	}
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

func errataCase(name string, want func(Env) string, run func(t *T) string) Case {
	return Case{Area: "errata", Name: name, Want: want, Run: run}
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
		// Erratum 1 (ABI 4): TCP rights apply to TCP sockets only, not to
		// MPTCP (nor SCTP, SMC). Unfixed kernels deny with EACCES.
		Case{Area: "errata", Name: "1_tcp_bind_rule_does_not_restrict_mptcp", Skip: noMPTCP, Want: erratumWant(1, 4, fixed), Run: func(t *T) string {
			if err := t.Enforce(netPolicy(tcpBind)); err != nil {
				return enforceFailed(err)
			}
			return classify(bindOn(ipv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, 0), nil, unix.EACCES)
		}},
		Case{Area: "errata", Name: "1_tcp_connect_rule_does_not_restrict_mptcp", Skip: noMPTCP, Want: erratumWant(1, 4, fixed), Run: func(t *T) string {
			srv, port, err := server(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(srv)
			if err := t.Enforce(netPolicy(tcpConnect)); err != nil {
				return enforceFailed(err)
			}
			return classify(connectTo(ipv4, unix.SOCK_STREAM, unix.IPPROTO_MPTCP, port), nil, unix.EACCES)
		}},
		// Erratum 2 (ABI 6): SCOPE_SIGNAL no longer blocks signals between
		// threads of one process in different domains. The probe sends
		// signal 0 to a sibling thread outside the case's domain.
		Case{Area: "errata", Name: "2_signal_scope_allows_sibling_threads", Want: erratumWant(2, 6, fixed), Run: func(t *T) string {
			tid, stop := siblingThread()
			defer stop()
			if err := t.Enforce(scopePolicy(scopeSignal)); err != nil {
				return enforceFailed(err)
			}
			return classify(unix.Tgkill(unix.Getpid(), tid, 0), nil, unix.EPERM)
		}},
		// Erratum 3 (ABI 1): a directory moved out of the bind mount it was
		// reached through is "disconnected". Fixed kernels evaluate it with
		// the rules of the mount point hierarchy as well as its own, so a
		// file read through it is allowed by a rule on the bind mount;
		// unfixed kernels stop at the filesystem root (EACCES).
		Case{Area: "errata", Name: "3_disconnected_directory_sees_mount_point_rules", Isolation: Process,
			Skip: needRoot("CAP_SYS_ADMIN: mount namespace and bind mount"), Want: erratumWant(3, 1, fixed), Run: func(t *T) string {
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
			}},
		// Erratum 4 (ABI 1): creating a whiteout needs MAKE_REG, not
		// MAKE_CHAR. Without a domain the whiteout is simply created.
		errataCase("4_whiteout_denied_with_only_make_char", erratumWant(4, 1, unfixed), func(t *T) string {
			return mknodWhiteout(t, landlock.FSMakeChar, unix.EACCES, nil)
		}),
		errataCase("4_whiteout_allowed_with_only_make_reg", erratumWant(4, 1, fixed), func(t *T) string {
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
