package suites

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Restrict flags and quiet settings beyond the feature probes of base.go:
// NO_NEW_PRIVS (ABI 11) sets no_new_privs exactly when enforcement
// succeeds; quiet masks and quiet rules (ABI 10) never change a decision.

func init() {
	register(
		Case{Area: "flags", Name: "no_new_privs_flag_sets_it_on_success", Want: sys(func(e Env) string {
			if e.ABI >= 11 {
				return "ok, no_new_privs=1"
			}
			return flagsOrPriv("EINVAL")(e) + ", no_new_privs=0"
		}), Run: func(t *T) string {
			return withRuleset(attr(8, fsRead), func(fd int) string {
				err := landlock.SysRestrictSelf(fd, 1<<4) // LANDLOCK_RESTRICT_SELF_NO_NEW_PRIVS
				return fmt.Sprintf("%s, no_new_privs=%d", Outcome(err), noNewPrivs())
			})
		}},
		Case{Area: "flags", Name: "no_new_privs_flag_with_bad_fd_leaves_it_unset", Want: func(e Env) string {
			if o, ok := noLandlock(e); ok {
				return o + ", no_new_privs=0"
			}
			if e.ABI >= 11 {
				return "EBADFD, no_new_privs=0"
			}
			return flagsOrPriv("EINVAL")(e) + ", no_new_privs=0"
		}, Run: func(t *T) string {
			n, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "setup: " + Outcome(err)
			}
			defer unix.Close(n)
			err = landlock.SysRestrictSelf(n, 1<<4)
			return fmt.Sprintf("%s, no_new_privs=%d", Outcome(err), noNewPrivs())
		}},
		// A quiet rule with no access marks an object only (ABI 10).
		baseCaseIn("flags", "quiet_rule_without_access", since(10, "EINVAL"), func(t *T) string {
			d, err := unix.Open(t.Dir, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return "setup: " + Outcome(err)
			}
			defer unix.Close(d)
			return withRulesetOrFallback(attr(48, fsRead, 0, 0, fsRead), attr(8, fsRead), func(fd int) string {
				return Outcome(addPath(fd, 0, d, unix.LANDLOCK_ADD_RULE_QUIET))
			})
		}),
		// The same decisions with quiet masks and a quiet rule as without.
		Case{Area: "flags", Name: "quiet_never_changes_decisions", Want: func(e Env) string {
			return "allowed=ok denied=" + deniedFrom(1, "EACCES")(e)
		}, Run: func(t *T) string {
			t.files("a/f", "b/f")
			p := landlock.Policy{FS: landlock.FSReadFile, QuietFS: landlock.FSReadFile}
			p.Rules = append(p.Rules,
				landlock.PathRule{Path: t.path("a"), Access: landlock.FSReadFile, Quiet: true},
				landlock.PathRule{Path: t.path("b"), Quiet: true})
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
			return fmt.Sprintf("allowed=%s denied=%s", Outcome(openRead(t.path("a/f"))), Outcome(openRead(t.path("b/f"))))
		}},
	)
}

func baseCaseIn(area, name string, want func(Env) string, run func(t *T) string) Case {
	return Case{Area: area, Name: name, Want: want, Run: run}
}
