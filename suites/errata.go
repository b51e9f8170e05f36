package suites

import (
	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Errata (reference/errata-7.3): each probe observes whether the fix is
// in. A kernel whose errata mask claims the fix must behave fixed; a
// kernel without the bit (or without the errata interface) gets the probe
// recorded as an observation: "fixed" or "unfixed" both pass, anything
// else fails.

const (
	fixed   = "fixed"
	unfixed = "unfixed"
)

// erratumWant: where the feature the erratum concerns does not exist at
// the library's ABI, nothing is restricted and the probe gives
// unrestricted; where the kernel's mask has the erratum's bit (bit n-1),
// fixed; otherwise either, as an observation.
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

func fixedIf(ok bool, err error, unfixedErr error) string {
	switch {
	case ok:
		return fixed
	case err == unfixedErr:
		return unfixed
	}
	return Outcome(err)
}

const ipprotoMPTCP = 262 // IPPROTO_MPTCP, not in x/sys

func noMPTCP(Env) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, ipprotoMPTCP)
	if err != nil {
		return "no MPTCP in this kernel (" + Outcome(err) + ")"
	}
	unix.Close(fd)
	return ""
}

func init() {
	register(
		// Erratum 1 (ABI 4): TCP rights apply to TCP only, not to MPTCP.
		Case{Area: "errata", Name: "1_tcp_rights_do_not_restrict_mptcp", Skip: noMPTCP, Want: erratumWant(1, 4, fixed), Run: func(t *T) string {
			if err := t.Enforce(landlock.Policy{Net: landlock.NetBindTCP}); err != nil {
				return enforceFailed(err)
			}
			err := bindOn(ipv4, unix.SOCK_STREAM, ipprotoMPTCP, 0)
			return fixedIf(err == nil, err, unix.EACCES)
		}},
		// Erratum 2 (ABI 6): SCOPE_SIGNAL does not block signals between
		// threads of one process in different domains.
		Case{Area: "errata", Name: "2_signal_scope_allows_own_threads", Want: erratumWant(2, 6, fixed), Run: func(t *T) string {
			tidc := make(chan int)
			stop := make(chan struct{})
			go onOtherThread(func() string { tidc <- unix.Gettid(); <-stop; return "" })
			tid := <-tidc
			defer close(stop)
			if err := t.Enforce(landlock.Policy{Scoped: landlock.ScopeSignal}); err != nil {
				return enforceFailed(err)
			}
			err := unix.Tgkill(unix.Getpid(), tid, 0)
			return fixedIf(err == nil, err, unix.EPERM)
		}},
		// Erratum 4 (ABI 1): a whiteout (char device 0:0) needs MAKE_REG,
		// not MAKE_CHAR; without a domain it is simply created ("unfixed"
		// is then the unrestricted outcome, not a verdict).
		Case{Area: "errata", Name: "4_whiteout_needs_make_reg", Want: erratumWant(4, 1, unfixed), Run: func(t *T) string {
			p := landlock.Policy{FS: landlock.FSMakeReg | landlock.FSMakeChar}
			p.AllowPath(t.Dir, landlock.FSMakeChar)
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
			err := mknod(t.path("wh"), unix.S_IFCHR, 0, 0)
			return fixedIf(err == unix.EACCES, err, nil)
		}},
	)
}

// TCP Fast Open: sendto(MSG_FASTOPEN) on an unconnected socket connects
// implicitly; the fix that checks it as CONNECT_TCP carries no erratum
// bit, so the probe is an observation on every kernel with TCP rights
// ("unfixed" is then "kernel lacks the fix", reported, not failed).
func init() {
	register(Case{Area: "errata", Name: "tcp_fastopen_checked_as_connect", Want: func(e Env) string {
		if e.LibABI() < 4 {
			return unfixed // no TCP rights: nothing denies it
		}
		return fixed + "|" + unfixed
	}, Run: func(t *T) string {
		srv, p, err := server(ipv4, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(srv)
		fd, err := tcpSocket(ipv4)
		if err != nil {
			return "setup failed: " + Outcome(err)
		}
		defer unix.Close(fd)
		if err := t.Enforce(tcpPolicy(p+1, landlock.NetConnectTCP)); err != nil {
			return enforceFailed(err)
		}
		err = unix.Sendto(fd, []byte("x"), unix.MSG_FASTOPEN, ipv4.addr(p))
		t.Logf("sendto(MSG_FASTOPEN): %s", Outcome(err))
		return fixedIf(err == unix.EACCES, err, nil) // any other errno is neither: fail
	}})
}

// Erratum 3 (ABI 1): a directory moved out of the bind mount it was
// reached through is "disconnected"; access through it is now decided
// with the hierarchy of the mount it was reached through. Probe: open a
// directory through a bind mount of p, move it out of p, enforce a layer
// allowing READ_FILE on p only, then open a file through the old fd:
// fixed lets it through, unfixed walks the other hierarchy and denies.
func init() {
	register(Case{Area: "errata", Name: "3_disconnected_directory_uses_mount_hierarchy", Isolation: Process,
		Skip: needRoot("CAP_SYS_ADMIN"), Want: erratumWant(3, 1, fixed), Run: func(t *T) string {
			t.files("p/d/f")
			t.mkdirs("m", "away")
			if err := privateMountNS(); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := unix.Mount(t.path("p"), t.path("m"), "", unix.MS_BIND, ""); err != nil {
				return "setup failed: bind mount: " + Outcome(err)
			}
			fd, err := unix.Open(t.path("m", "d"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "setup failed: " + Outcome(err)
			}
			defer unix.Close(fd)
			if err := unix.Rename(t.path("p", "d"), t.path("away", "d")); err != nil {
				return "setup failed: disconnecting: " + Outcome(err)
			}
			p := landlock.Policy{FS: landlock.FSReadFile}
			p.AllowPath(t.path("p"), landlock.FSReadFile)
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
			f, err := unix.Openat(fd, "f", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(f)
			}
			t.Logf("openat through the disconnected fd: %s", Outcome(err))
			return fixedIf(err == nil, err, unix.EACCES)
		}})
}
