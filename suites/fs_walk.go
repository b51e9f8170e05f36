package suites

import (
	"golang.org/x/sys/unix"
)

// Group fs.4: path walks. Landlock decides on the file reached, walking
// up its real hierarchy: not on the path string, the working directory,
// the directory a descriptor was opened on, or the symbolic links that
// led there. chdir(2), stat(2), access(2) and chmod(2) are not restricted
// (landlock.h, the warning of "Filesystem flags").
//
// The layout: a/f (allowed by a rule), b/f (not), and links between them.

const walkHandled = aRead | aWrite | aReadDir

func walkLayout(t *T) error { return layout(t, "a/f", "b/f", "a/l->../b/f", "b/l->../a/f", "a/d/") }

// walkCase enforces READ_FILE on a (walkHandled handled) and reports the
// named operations, as "name=outcome" pairs.
func walkCase(name string, want func(Env) string, body func(t *T) string) Case {
	return Case{Area: "fs", Name: "walk/" + name, Want: want, Covers: []string{"fs.4"}, Run: func(t *T) string {
		return ownFS(t, func(t *T) string {
			if err := walkLayout(t); err != nil {
				return SetupFailed(err)
			}
			return body(t)
		})
	}}
}

func walkDomain(t *T) error { return enforceFS(t, walkHandled, on("a", aRead)) }

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
func sandboxed(abi int, denied, unrestricted string) func(Env) string {
	return byLibABI(abi, denied, unrestricted)
}

func init() {
	build(func() {
		read := func(p string) string { return Outcome(openRead(p)) }
		register(
			walkCase("relative_path_after_chdir_into_allowed_dir", sandboxed(abiLandlock, "f=ok ../b/f=EACCES", "f=ok ../b/f=ok"), func(t *T) string {
				if err := unix.Chdir(t.path("a")); err != nil {
					return SetupFailed(err)
				}
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("f", read("f"), "../b/f", read("../b/f"))
			}),
			walkCase("relative_path_after_chdir_into_denied_dir", sandboxed(abiLandlock, "f=EACCES ../a/f=ok", "f=ok ../a/f=ok"), func(t *T) string {
				if err := unix.Chdir(t.path("b")); err != nil {
					return SetupFailed(err)
				}
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("f", read("f"), "../a/f", read("../a/f"))
			}),
			walkCase("chdir_not_restricted", sandboxed(abiLandlock, "chdir=ok f=EACCES", "chdir=ok f=ok"), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("chdir", Outcome(unix.Chdir(t.path("b"))), "f", read("f"))
			}),
			walkCase("dotdot_out_of_allowed_dir_denied", sandboxed(abiLandlock, "EACCES", OK), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return read(t.path("a") + "/../b/f")
			}),
			walkCase("dotdot_through_denied_dir_allowed", sandboxed(abiLandlock, "b/../a/f=ok b/f=EACCES", "b/../a/f=ok b/f=ok"), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("b/../a/f", read(t.path("b")+"/../a/f"), "b/f", read(t.path("b/f")))
			}),
			walkCase("symlink_in_allowed_dir_to_denied_target", sandboxed(abiLandlock, "EACCES", OK), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return read(t.path("a/l"))
			}),
			walkCase("symlink_in_denied_dir_to_allowed_target", sandboxed(abiLandlock, "b/l=ok b/f=EACCES", "b/l=ok b/f=ok"), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("b/l", read(t.path("b/l")), "b/f", read(t.path("b/f")))
			}),
			// A directory descriptor opened before the enforcement carries no
			// rights for what is opened beneath it.
			walkCase("openat_below_dir_fd_opened_before_enforcement", sandboxed(abiLandlock, "a=ok b=EACCES", "a=ok b=ok"), func(t *T) string {
				fds := map[string]int{}
				for _, d := range []string{"a", "b"} {
					fd, err := unix.Open(t.path(d), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
					if err != nil {
						return SetupFailed(err)
					}
					defer unix.Close(fd)
					fds[d] = fd
				}
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				return pairs("a", Outcome(openAt(fds["a"], "f", unix.O_RDONLY)), "b", Outcome(openAt(fds["b"], "f", unix.O_RDONLY)))
			}),
			walkCase("rule_on_a_file_covers_only_that_file", sandboxed(abiLandlock, "a/f=ok a/g=EACCES", "a/f=ok a/g=ok"), func(t *T) string {
				if err := layout(t, "a/g"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, walkHandled, on("a/f", aRead)); err != nil {
					return enforceFailed(err)
				}
				return pairs("a/f", read(t.path("a/f")), "a/g", read(t.path("a/g")))
			}),
			// Rules are tied to inodes: a hard link elsewhere is the same file.
			walkCase("rule_on_a_file_covers_its_hard_links", sandboxed(abiLandlock, "b/h=ok b/f=EACCES", "b/h=ok b/f=ok"), func(t *T) string {
				if err := unix.Link(t.path("a/f"), t.path("b/h")); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, walkHandled, on("a/f", aRead)); err != nil {
					return enforceFailed(err)
				}
				return pairs("b/h", read(t.path("b/h")), "b/f", read(t.path("b/f")))
			}),
			walkCase("stat_access_chmod_not_restricted", sandboxed(abiLandlock, "stat=ok access=ok chmod=ok open=EACCES", "stat=ok access=ok chmod=ok open=ok"), func(t *T) string {
				if err := walkDomain(t); err != nil {
					return enforceFailed(err)
				}
				var st unix.Stat_t
				p := t.path("b/f")
				return pairs("stat", Outcome(unix.Stat(p, &st)), "access", Outcome(unix.Access(p, unix.R_OK)),
					"chmod", Outcome(unix.Chmod(p, 0o640)), "open", read(p))
			}),
		)
		// The chroot rows need CAP_SYS_CHROOT: a mount namespace (and, for an
		// unprivileged run, a user namespace) gives it.
		register(walkNS("relative_path_from_cwd_outside_chroot", sandboxed(abiLandlock, "f=ok ../b/f=EACCES", "f=ok ../b/f=ok"), func(t *T) string {
			// A working directory outside the chroot: relative paths walk up
			// to the real root, past the chroot, and the rules met there count.
			if err := layout(t, "a/f", "b/f", "root/"); err != nil {
				return SetupFailed(err)
			}
			if err := unix.Chdir(t.path("a")); err != nil {
				return SetupFailed(err)
			}
			if err := walkDomain(t); err != nil {
				return enforceFailed(err)
			}
			if err := unix.Chroot(t.path("root")); err != nil {
				return "chroot: " + Outcome(err)
			}
			return pairs("f", read("f"), "../b/f", read("../b/f"))
		}))
		register(walkNS("dotdot_stays_inside_chroot", sandboxed(abiLandlock, "/../d/f=ok /e/f=EACCES", "/../d/f=ok /e/f=ok"), func(t *T) string {
			if err := layout(t, "root/d/f", "root/e/f"); err != nil {
				return SetupFailed(err)
			}
			if err := unix.Chroot(t.path("root")); err != nil {
				return "chroot: " + Outcome(err)
			}
			if err := enforceFS(t, walkHandled, on("/d", aRead)); err != nil {
				return enforceFailed(err)
			}
			return pairs("/../d/f", read("/../d/f"), "/e/f", read("/e/f"))
		}))
	})
}

func walkNS(name string, want func(Env) string, body func(t *T) string) Case {
	return withMountNS(Case{Area: "fs", Name: "walk/" + name, Want: want, Covers: []string{"fs.4", "§3.11"}}, body)
}
