package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// TSYNC (ABI 8, landlock.h): restrict_self with TSYNC applies the new
// domain to every thread of the process, overriding the siblings' own
// domains, and passes no_new_privs on when the caller has it; without it
// only the calling thread is restricted. Before ABI 8 the flag is unknown
// (EINVAL). Every case runs in its own process, since TSYNC reaches every
// thread of it.

const (
	tsyncFlag       = unix.LANDLOCK_RESTRICT_SELF_TSYNC
	logSubdomainOff = unix.LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF
	nnpFlag         = 1 << 4 // LANDLOCK_RESTRICT_SELF_NO_NEW_PRIVS (7.3), not in x/sys
)

// tsyncRow restricts the calling thread with a ruleset from attr and
// flags while a sibling thread exists, then runs op on the sibling.
type tsyncRow struct {
	name  string
	want  func(check.Env) string
	attr  []byte
	flags uint32
	prctl bool // set no_new_privs with prctl first (as root too, to observe it)
	// sibling runs on the sibling before the restriction.
	sibling func(t *check.T) error
	op      func(t *check.T) string
	shows   check.Behaviour // set on the rows that show TSYNC's effect
}

func (r tsyncRow) caseOf() check.Case {
	feature := ""
	if r.shows != "" {
		feature = "restrict/tsync"
	}
	// Every row but the privilege one shows what TSYNC does to the
	// siblings (§6.6).
	covers := []string{"§3.12", "§6.6"}
	if r.name == "without_no_new_privs" {
		covers = []string{"§3.12", "§6.8"}
	}
	return check.Case{Area: "tsync", Name: r.name, Isolation: check.Process, Want: r.want, Feature: feature, Shows: r.shows, Covers: covers, Run: func(t *check.T) string {
		t.Files("f")
		on, stop := startSibling()
		defer stop()
		if r.sibling != nil {
			if err := on(func() string { return check.Outcome(r.sibling(t)) }); err != check.OK {
				return err
			}
		}
		if r.prctl {
			if err := fixture.SetNoNewPrivs(); err != nil {
				return "prctl: " + check.Outcome(err)
			}
		}
		fd, err := fixture.Create(r.attr, 0)
		if err != nil {
			return check.Outcome(err)
		}
		defer unix.Close(fd)
		if err := landlock.SysRestrictSelf(fd, r.flags); err != nil {
			return check.Outcome(err)
		}
		return on(func() string { return r.op(t) })
	}}
}

// startSibling starts a locked OS thread and returns a function that runs
// work on it, and one that ends it.
func startSibling() (on func(func() string) string, stop func()) {
	req := make(chan func() string)
	res := make(chan string)
	ready := make(chan struct{})
	go func() {
		fixture.LockThread() // never unlocked: the thread dies with the goroutine
		close(ready)
		for f := range req {
			res <- f()
		}
	}()
	<-ready
	return func(f func() string) string { req <- f; return <-res }, func() { close(req) }
}

// tsyncWant: from the TSYNC ABI the outcome on the sibling; before, the
// flag itself is refused.
func tsyncWant(outcome string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI >= check.ABITSync {
			return outcome
		}
		return "EINVAL"
	})
}

func readF(t *check.T) string { return check.Outcome(fixture.OpenRead(t.Path("f"))) }

func nnpState(*check.T) string { return fmt.Sprintf("no_new_privs=%d", fixture.NoNewPrivs()) }

func init() {
	check.Build(func() {
		read := fixture.Attr(8, fsRead)
		for _, r := range []tsyncRow{
			{name: "sibling_thread_denied_fs_access", want: tsyncWant("EACCES"), attr: read, flags: tsyncFlag, prctl: true, op: readF, shows: check.ShowsEffect},
			{name: "sibling_thread_unrestricted_without_tsync", want: check.Sys(check.Allowed), attr: read, prctl: true, op: readF},
			{name: "sibling_thread_denied_tcp_bind", attr: fixture.Attr(16, 0, uint64(landlock.NetBindTCP)), flags: tsyncFlag, prctl: true,
				want: check.Sys(func(e check.Env) string {
					switch {
					case e.ABI < check.ABINet:
						return "E2BIG" // no handled_access_net field
					case e.ABI < check.ABITSync:
						return "EINVAL"
					}
					return "EACCES"
				}),
				op: func(*check.T) string {
					return check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, unix.IPPROTO_TCP, 0))
				}},
			// The sibling's own domain (denying writes) is replaced by the
			// caller's (denying reads).
			{name: "sibling_own_domain_overridden", want: tsyncWant("read=EACCES write=ok"), attr: read, flags: tsyncFlag, prctl: true,
				sibling: func(t *check.T) error {
					fd, err := fixture.Create(fixture.Attr(8, uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)), 0)
					if err != nil {
						return err
					}
					defer unix.Close(fd)
					return fixture.Restrict(t, fd, 0)
				},
				op: func(t *check.T) string {
					return check.Steps(check.Saw("read", readF(t)), check.Did("write", fixture.OpenWrite(t.Path("f"))))
				}},
			// Threads Go starts after the restriction are restricted too.
			{name: "thread_started_afterwards_restricted", want: tsyncWant("EACCES"), attr: read, flags: tsyncFlag, prctl: true,
				op: func(t *check.T) string { return fixture.OnOtherThread(func() string { return readF(t) }) }},
			{name: "no_new_privs_propagates", want: tsyncWant("no_new_privs=1"), attr: read, flags: tsyncFlag, prctl: true, op: nnpState},
			{name: "no_new_privs_stays_per_thread_without_tsync", want: check.Sys(func(check.Env) string { return "no_new_privs=0" }), attr: read, prctl: true, op: nnpState},
			// NO_NEW_PRIVS (ABI 11) with TSYNC sets it on every thread. Before
			// ABI 11 the flag is unknown; unprivileged callers get EPERM first.
			{name: "no_new_privs_flag_with_tsync_sets_siblings", attr: read, flags: tsyncFlag | nnpFlag, op: nnpState,
				want: check.Sys(func(e check.Env) string {
					if e.ABI >= check.ABINNPFlag {
						return "no_new_privs=1"
					}
					return flagsOrPriv("EINVAL")(e)
				})},
			// TSYNC needs no_new_privs or CAP_SYS_ADMIN like any enforcement:
			// unprivileged callers get EPERM on every ABI (before ABI 11 the
			// privilege is checked first, from ABI 11 the flag is valid).
			{name: "without_no_new_privs", attr: read, flags: tsyncFlag, op: readF,
				want: check.Sys(func(e check.Env) string {
					switch {
					case !e.Root:
						return "EPERM"
					case e.ABI >= check.ABITSync:
						return "EACCES"
					}
					return "EINVAL"
				})},
		} {
			check.Register(mirrored(r.caseOf())...)
		}
		noRuleset := func(name string, flags uint32, want func(check.Env) string) check.Case {
			return check.Case{Area: "tsync", Name: name, Isolation: check.Process, Want: want, Covers: []string{"§3.12", "§6.8"}, Run: func(t *check.T) string {
				return check.Outcome(fixture.Restrict(t, -1, flags))
			}}
		}
		check.Register(mirrored(
			// Only LOG_SUBDOMAINS_OFF (with or without TSYNC) works without a
			// ruleset; NO_NEW_PRIVS requires one (landlock.h).
			noRuleset("no_ruleset_log_subdomains_off_with_tsync", logSubdomainOff|tsyncFlag, tsyncWant(check.OK)),
			noRuleset("no_ruleset_tsync_alone", tsyncFlag, tsyncWant("EBADF")),
			noRuleset("no_ruleset_log_subdomains_off_tsync_no_new_privs", logSubdomainOff|tsyncFlag|nnpFlag, check.Sys(func(e check.Env) string {
				if e.ABI >= check.ABINNPFlag {
					return "EBADF"
				}
				return "EINVAL"
			})),
		)...)
	})
}
