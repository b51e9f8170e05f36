package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.4: path walks. Landlock decides on the file reached, walking
// up its real hierarchy: not on the path string, the working directory,
// the directory a descriptor was opened on, or the symbolic links that
// led there. chdir(2), stat(2), access(2) and chmod(2) are not restricted
// (landlock.h, the warning of "Filesystem flags").
//
// The layout: a/f (allowed by a rule), b/f (not), and links between them.

const walkHandled = fixture.ARead | fixture.AWrite | fixture.AReadDir

func walkLayout(t *check.T) error {
	return fixture.Layout(t, "a/f", "b/f", "a/l->../b/f", "b/l->../a/f", "a/d/")
}

// walkCase enforces READ_FILE on a (walkHandled handled) and reports the
// named operations, as "name=outcome" pairs.
func walkCase(name string, want func(check.Env) string, body func(t *check.T) string) check.Case {
	return check.Case{Area: "fs", Name: "walk/" + name, Want: want, Covers: []string{"fs.4"}, Run: func(t *check.T) string {
		return fixture.OwnFS(t, func(t *check.T) string {
			if err := walkLayout(t); err != nil {
				return check.SetupFailed(err)
			}
			return body(t)
		})
	}}
}

func walkDomain(t *check.T) error {
	return fixture.EnforceFS(t, walkHandled, fixture.On("a", fixture.ARead))
}

// pairs joins name=outcome pairs.
func pairs(kv ...string) string {
	out := ""
	for i := 0; i+1 < len(kv); i += 2 {
		if out != "" {
			out += " "
		}
		out += kv[i] + "=" + kv[i+1]
	}
	return out
}

// sandboxed is a compound expectation: the first form where the
// library's ABI reaches abi, the second (everything allowed) below.
func sandboxed(abi int, denied, unrestricted string) func(check.Env) string {
	return byLibABI(abi, denied, unrestricted)
}

func init() {
	check.Build(func() {
		read := func(p string) string { return check.Outcome(fixture.OpenRead(p)) }
		check.Register(mirrored(
			walkCase("relative_path_after_chdir_into_allowed_dir", sandboxed(check.ABILandlock, "f=ok ../b/f=EACCES", "f=ok ../b/f=ok"), func(t *check.T) string {
				if err := unix.Chdir(t.Path("a")); err != nil {
					return check.SetupFailed(err)
				}
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("f", read("f"), "../b/f", read("../b/f"))
			}),
			walkCase("relative_path_after_chdir_into_denied_dir", sandboxed(check.ABILandlock, "f=EACCES ../a/f=ok", "f=ok ../a/f=ok"), func(t *check.T) string {
				if err := unix.Chdir(t.Path("b")); err != nil {
					return check.SetupFailed(err)
				}
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("f", read("f"), "../a/f", read("../a/f"))
			}),
			walkCase("chdir_not_restricted", sandboxed(check.ABILandlock, "chdir=ok f=EACCES", "chdir=ok f=ok"), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("chdir", check.Outcome(unix.Chdir(t.Path("b"))), "f", read("f"))
			}),
			walkCase("dotdot_out_of_allowed_dir_denied", sandboxed(check.ABILandlock, "EACCES", check.OK), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return read(t.Path("a") + "/../b/f")
			}),
			walkCase("dotdot_through_denied_dir_allowed", sandboxed(check.ABILandlock, "b/../a/f=ok b/f=EACCES", "b/../a/f=ok b/f=ok"), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("b/../a/f", read(t.Path("b")+"/../a/f"), "b/f", read(t.Path("b/f")))
			}),
			walkCase("symlink_in_allowed_dir_to_denied_target", sandboxed(check.ABILandlock, "EACCES", check.OK), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return read(t.Path("a/l"))
			}),
			walkCase("symlink_in_denied_dir_to_allowed_target", sandboxed(check.ABILandlock, "b/l=ok b/f=EACCES", "b/l=ok b/f=ok"), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("b/l", read(t.Path("b/l")), "b/f", read(t.Path("b/f")))
			}),
			// A directory descriptor opened before the enforcement carries no
			// rights for what is opened beneath it.
			walkCase("openat_below_dir_fd_opened_before_enforcement", sandboxed(check.ABILandlock, "a=ok b=EACCES", "a=ok b=ok"), func(t *check.T) string {
				fds := map[string]int{}
				for _, d := range []string{"a", "b"} {
					fd, err := unix.Open(t.Path(d), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(fd)
					fds[d] = fd
				}
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("a", check.Outcome(fixture.OpenAt(fds["a"], "f", unix.O_RDONLY)), "b", check.Outcome(fixture.OpenAt(fds["b"], "f", unix.O_RDONLY)))
			}),
			walkCase("rule_on_a_file_covers_only_that_file", sandboxed(check.ABILandlock, "a/f=ok a/g=EACCES", "a/f=ok a/g=ok"), func(t *check.T) string {
				if err := fixture.Layout(t, "a/g"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, walkHandled, fixture.On("a/f", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("a/f", read(t.Path("a/f")), "a/g", read(t.Path("a/g")))
			}),
			// Rules are tied to inodes: a hard link elsewhere is the same file.
			walkCase("rule_on_a_file_covers_its_hard_links", sandboxed(check.ABILandlock, "b/h=ok b/f=EACCES", "b/h=ok b/f=ok"), func(t *check.T) string {
				if err := unix.Link(t.Path("a/f"), t.Path("b/h")); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, walkHandled, fixture.On("a/f", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("b/h", read(t.Path("b/h")), "b/f", read(t.Path("b/f")))
			}),
			walkCase("stat_access_chmod_not_restricted", sandboxed(check.ABILandlock, "stat=ok access=ok chmod=ok open=EACCES", "stat=ok access=ok chmod=ok open=ok"), func(t *check.T) string {
				if err := walkDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				var st unix.Stat_t
				p := t.Path("b/f")
				return pairs("stat", check.Outcome(unix.Stat(p, &st)), "access", check.Outcome(unix.Access(p, unix.R_OK)),
					"chmod", check.Outcome(unix.Chmod(p, 0o640)), "open", read(p))
			}),
		)...)
		// The chroot rows need CAP_SYS_CHROOT: a mount namespace (and, for an
		// unprivileged run, a user namespace) gives it.
		check.Register(mirrored(walkNS("relative_path_from_cwd_outside_chroot", sandboxed(check.ABILandlock, "f=ok ../b/f=EACCES", "f=ok ../b/f=ok"), func(t *check.T) string {
			// A working directory outside the chroot: relative paths walk up
			// to the real root, past the chroot, and the rules met there count.
			if err := fixture.Layout(t, "a/f", "b/f", "root/"); err != nil {
				return check.SetupFailed(err)
			}
			if err := unix.Chdir(t.Path("a")); err != nil {
				return check.SetupFailed(err)
			}
			if err := walkDomain(t); err != nil {
				return fixture.EnforceFailed(err)
			}
			if err := unix.Chroot(t.Path("root")); err != nil {
				return "chroot: " + check.Outcome(err)
			}
			return pairs("f", read("f"), "../b/f", read("../b/f"))
		}))...)
		check.Register(mirrored(walkNS("dotdot_stays_inside_chroot", sandboxed(check.ABILandlock, "/../d/f=ok /e/f=EACCES", "/../d/f=ok /e/f=ok"), func(t *check.T) string {
			if err := fixture.Layout(t, "root/d/f", "root/e/f"); err != nil {
				return check.SetupFailed(err)
			}
			if err := unix.Chroot(t.Path("root")); err != nil {
				return "chroot: " + check.Outcome(err)
			}
			if err := fixture.EnforceFS(t, walkHandled, fixture.On("/d", fixture.ARead)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return pairs("/../d/f", read("/../d/f"), "/e/f", read("/e/f"))
		}))...)
	})
}

func walkNS(name string, want func(check.Env) string, body func(t *check.T) string) check.Case {
	return withMountNS(check.Case{Area: "fs", Name: "walk/" + name, Want: want, Covers: []string{"fs.4", "§3.11"}}, body)
}
