package suites

import (
	"os"
	"sync"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Group fs.3: mount topology (landlock.rst "Filesystem topology
// modification", "Bind mounts and OverlayFS").
//
// A domain that handles any filesystem right cannot change the topology:
// mount(2) in every form (new mounts, bind, remount, propagation, move),
// umount(2), move_mount(2) and pivot_root(2) give EPERM; chroot(2) is not
// denied. A domain that handles only network rights or scopes changes
// nothing there. Rules are tied to inodes: a rule on a mount point (taken
// after the mount) is on the mounted filesystem's root and covers it, a
// rule above it covers it as well, and a rule taken on a directory that a
// mount later covers does not reach into the mount. A bind mount shows the
// same inodes, so its rules apply through either path; an OverlayFS merged
// directory is made of different files than its layers.
//
// Every case runs in a private mount namespace (fs_ns.go), as root and
// unprivileged in a user namespace.

// topologyDomain handles one filesystem right and grants it everywhere:
// only the topology change itself can be denied.
func topologyDomain(t *T) error { return enforceFS(t, aRead, on("/", aRead)) }

// ownRootMount makes the case directory this thread's root, as a mount of
// its own (bound on itself): pivot_root(2) needs the current root to be a
// mount point, which the VM's initramfs root is not. Paths are then
// relative to the case directory.
func ownRootMount(t *T) error {
	if err := unix.Mount(t.Root(), t.Root(), "", unix.MS_BIND, ""); err != nil {
		return opErr("bind the case directory on itself", err)
	}
	if err := unix.Chroot(t.Root()); err != nil {
		return opErr("chroot", err)
	}
	return unix.Chdir("/")
}

// pivotPrep prepares /nr (a tmpfs with /nr/old) under an own root mount.
func pivotPrep(t *T) error {
	if err := ownRootMount(t); err != nil {
		return err
	}
	if err := os.MkdirAll("/nr", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", "/nr", "tmpfs", 0, "size=1m"); err != nil {
		return opErr("mount tmpfs on /nr", err)
	}
	return os.Mkdir("/nr/old", 0o755)
}

func mountTmpfs(t *T, rel string) error {
	if err := os.MkdirAll(t.path(rel), 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", t.path(rel), "tmpfs", 0, "size=1m"); err != nil {
		return opErr("mount tmpfs on "+rel, err)
	}
	return nil
}

// topoRow is a topology change: prep runs before the enforcement, change
// after it.
type topoRow struct {
	name   string
	prep   func(t *T) error
	change func(t *T) error
}

var topoRows = []topoRow{
	{name: "mount", prep: func(t *T) error { return layout(t, "m/") },
		change: func(t *T) error { return unix.Mount("tmpfs", t.path("m"), "tmpfs", 0, "") }},
	{name: "umount", prep: func(t *T) error { return mountTmpfs(t, "m") },
		change: func(t *T) error { return unix.Unmount(t.path("m"), 0) }},
	{name: "umount_detach", prep: func(t *T) error { return mountTmpfs(t, "m") },
		change: func(t *T) error { return unix.Unmount(t.path("m"), unix.MNT_DETACH) }},
	{name: "remount", prep: func(t *T) error { return mountTmpfs(t, "m") },
		change: func(t *T) error {
			return unix.Mount("", t.path("m"), "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}},
	{name: "bind_mount", prep: func(t *T) error { return layout(t, "a/f", "m/") },
		change: func(t *T) error { return unix.Mount(t.path("a"), t.path("m"), "", unix.MS_BIND, "") }},
	{name: "propagation_change", prep: func(t *T) error { return mountTmpfs(t, "m") },
		change: func(t *T) error { return unix.Mount("", t.path("m"), "", unix.MS_SHARED, "") }},
	{name: "mount_move", prep: func(t *T) error {
		if err := layout(t, "n/"); err != nil {
			return err
		}
		return mountTmpfs(t, "m")
	}, change: func(t *T) error { return unix.Mount(t.path("m"), t.path("n"), "", unix.MS_MOVE, "") }},
	{name: "move_mount", prep: func(t *T) error {
		if err := layout(t, "n/"); err != nil {
			return err
		}
		return mountTmpfs(t, "m")
	}, change: func(t *T) error { return unix.MoveMount(unix.AT_FDCWD, t.path("m"), unix.AT_FDCWD, t.path("n"), 0) }},
	{name: "pivot_root", prep: pivotPrep, change: func(t *T) error { return unix.PivotRoot("/nr", "/nr/old") }},
}

// attachDetachedTree clones the case's a/ as a detached mount before the
// enforcement and attaches it after: move_mount(2) of an open_tree(2) fd.
func attachDetachedTree(t *T, enforce func() error) string {
	if err := layout(t, "a/f", "n/"); err != nil {
		return SetupFailed(err)
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, t.path("a"), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return SetupFailedf("open_tree: %s", Outcome(err))
	}
	defer unix.Close(fd)
	if err := enforce(); err != nil {
		return enforceFailed(err)
	}
	return Outcome(unix.MoveMount(fd, "", unix.AT_FDCWD, t.path("n"), unix.MOVE_MOUNT_F_EMPTY_PATH))
}

// bindTCPAny binds a TCP socket to 0.0.0.0 port 0: a domain handling
// BIND_TCP without a rule for port 0 denies it. It needs no interface up.
func bindTCPAny() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Bind(fd, &unix.SockaddrInet4{})
}

// netOnly and scopeOnly are domains that handle no filesystem right; each
// returns a companion action its domain denies, to show it is in force.
func netOnly(t *T) (func() error, error) {
	return bindTCPAny, t.Enforce(landlock.Policy{Net: landlock.NetBindTCP})
}

func scopeOnly(t *T) (func() error, error) {
	name := abstractName()
	srv, err := unixServer(name, unix.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	if err := t.Enforce(landlock.Policy{Scoped: landlock.ScopeAbstractUnixSocket}); err != nil {
		unix.Close(srv)
		return nil, err
	}
	return func() error {
		defer unix.Close(srv)
		return unixConnect(name, unix.SOCK_STREAM)
	}, nil
}

func topoCase(name string, want func(Env) string, body func(t *T) string) Case {
	return withMountNS(Case{Area: "fs", Name: name, Want: want, Covers: []string{"fs.3", "§3.11", "§6.14"}}, body)
}

func init() {
	build(func() {
		topoDenied := deniedFrom(abiLandlock, "EPERM")
		for _, r := range topoRows {
			r := r
			register(topoCase("topology/"+r.name+"_denied_when_fs_handled", topoDenied, func(t *T) string {
				if err := r.prep(t); err != nil {
					return SetupFailed(err)
				}
				if err := topologyDomain(t); err != nil {
					return enforceFailed(err)
				}
				return Outcome(r.change(t))
			}))
		}
		register(topoCase("topology/attach_detached_tree_denied_when_fs_handled", topoDenied, func(t *T) string {
			return attachDetachedTree(t, func() error { return topologyDomain(t) })
		}))

		// Allowed in a domain without filesystem rights; the companion shows
		// that domain denies what it handles.
		for _, d := range []struct {
			name     string
			enforce  func(t *T) (func() error, error)
			abi      int
			denied   string
			what     string
			topology []string
		}{
			{"net_only", netOnly, abiNet, "EACCES", "bind_tcp", []string{"mount", "umount", "pivot_root", "move_mount"}},
			{"scope_only", scopeOnly, abiScoped, "EPERM", "abstract_connect", []string{"mount", "remount"}},
		} {
			for _, name := range d.topology {
				d := d
				r := rowNamed(name)
				register(topoCase("topology/"+name+"_allowed_in_"+d.name+"_domain",
					byLibABI(d.abi, name+"=ok "+d.what+"="+d.denied, name+"=ok "+d.what+"=ok"),
					func(t *T) string {
						if err := r.prep(t); err != nil {
							return SetupFailed(err)
						}
						companion, err := d.enforce(t)
						if err != nil {
							return enforceFailed(err)
						}
						return name + "=" + Outcome(r.change(t)) + " " + d.what + "=" + Outcome(companion())
					}))
			}
		}

		register(
			topoCase("chroot/chroot_allowed", allowed, func(t *T) string {
				if err := layout(t, "root/"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, allFS&^aRefer, on("", allFS&^aRefer)); err != nil {
					return enforceFailed(err)
				}
				return Outcome(unix.Chroot(t.path("root")))
			}),
			// Inside a chroot, the rules still name the same inodes.
			topoCase("chroot/rules_apply_inside_chroot", byLibABI(abiLandlock, "d=ok e=EACCES", "d=ok e=ok"), func(t *T) string {
				if err := layout(t, "root/d/f", "root/e/f"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, aRead, on("root/d", aRead)); err != nil {
					return enforceFailed(err)
				}
				if err := unix.Chroot(t.path("root")); err != nil {
					return "chroot: " + Outcome(err)
				}
				return "d=" + Outcome(openRead("/d/f")) + " e=" + Outcome(openRead("/e/f"))
			}),

			// A rule taken on a mount point (after the mount) is on the mounted
			// filesystem's root.
			topoCase("mount/rule_on_mount_point_covers_the_mount", byLibABI(abiLandlock, "inside=ok outside=EACCES", "inside=ok outside=ok"), func(t *T) string {
				if err := mountTmpfs(t, "m"); err != nil {
					return SetupFailed(err)
				}
				if err := layout(t, "m/f", "n/f"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, aRead, on("m", aRead)); err != nil {
					return enforceFailed(err)
				}
				return "inside=" + Outcome(openRead(t.path("m/f"))) + " outside=" + Outcome(openRead(t.path("n/f")))
			}),
			topoCase("mount/rule_over_mount_point_covers_the_mount", byLibABI(abiLandlock, "inside=ok outside=EACCES", "inside=ok outside=ok"), func(t *T) string {
				if err := mountTmpfs(t, "a/m"); err != nil {
					return SetupFailed(err)
				}
				if err := layout(t, "a/m/f", "n/f"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, aRead, on("a", aRead)); err != nil {
					return enforceFailed(err)
				}
				return "inside=" + Outcome(openRead(t.path("a/m/f"))) + " outside=" + Outcome(openRead(t.path("n/f")))
			}),
			// The rule is added on directory m, then a tmpfs covers m, then the
			// ruleset is enforced: the rule is on the hidden directory, not on
			// the mount. Raw syscalls, so that the mount comes between the rule
			// and the enforcement.
			topoCase("mount/covered_rule_does_not_reach_the_mount", fsSys(abiLandlock, "EACCES"), func(t *T) string {
				if err := layout(t, "m/"); err != nil {
					return SetupFailed(err)
				}
				return withRuleset(attr(8, fsRead), func(rs int) string {
					d, err := unix.Open(t.path("m"), unix.O_PATH|unix.O_CLOEXEC, 0)
					if err != nil {
						return SetupFailed(err)
					}
					defer unix.Close(d)
					if err := addPath(rs, fsRead, d, 0); err != nil {
						return "add_rule: " + Outcome(err)
					}
					if err := mountTmpfs(t, "m"); err != nil {
						return SetupFailed(err)
					}
					if err := layout(t, "m/f"); err != nil {
						return SetupFailed(err)
					}
					if err := restrict(t, rs, 0); err != nil {
						return "restrict: " + Outcome(err)
					}
					return Outcome(openRead(t.path("m/f")))
				})
			}),
			// A ruleset whose rule is on a filesystem that goes away: the
			// unmount succeeds, the rule goes with it, enforcing still works and
			// the covered directory is not granted.
			topoCase("mount/rule_released_when_the_mount_goes_away", sys(func(e Env) string { return "umount=ok restrict=ok read_dir=EACCES" }), func(t *T) string {
				if err := mountTmpfs(t, "m"); err != nil {
					return SetupFailed(err)
				}
				const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
				return withRuleset(attr(8, rd), func(rs int) string {
					d, err := unix.Open(t.path("m"), unix.O_PATH|unix.O_CLOEXEC, 0)
					if err != nil {
						return SetupFailed(err)
					}
					err = addPath(rs, rd, d, 0)
					unix.Close(d)
					if err != nil {
						return "add_rule: " + Outcome(err)
					}
					o := "umount=" + Outcome(unix.Unmount(t.path("m"), 0))
					o += " restrict=" + Outcome(restrict(t, rs, 0))
					return o + " read_dir=" + Outcome(readDir(t.path("m")))
				})
			}),
			// pivot_root before the enforcement: rules name paths of the new
			// root.
			topoCase("mount/rules_after_pivot_root", byLibABI(abiLandlock, "d=ok e=EACCES", "d=ok e=ok"), func(t *T) string {
				if err := pivotPrep(t); err != nil {
					return SetupFailed(err)
				}
				for _, f := range []string{"/nr/d/f", "/nr/e/f"} {
					if err := os.MkdirAll(f[:len(f)-2], 0o755); err != nil {
						return SetupFailed(err)
					}
					if err := os.WriteFile(f, nil, 0o644); err != nil {
						return SetupFailed(err)
					}
				}
				if err := unix.PivotRoot("/nr", "/nr/old"); err != nil {
					return SetupFailedf("pivot_root: %s", Outcome(err))
				}
				if err := unix.Chdir("/"); err != nil {
					return SetupFailed(err)
				}
				if err := enforceFS(t, aRead, on("/d", aRead)); err != nil {
					return enforceFailed(err)
				}
				return "d=" + Outcome(openRead("/d/f")) + " e=" + Outcome(openRead("/e/f"))
			}),
		)
		register(bindCases()...)
		register(overlayCases()...)
	})
}

func rowNamed(name string) topoRow {
	for _, r := range topoRows {
		if r.name == name {
			return r
		}
	}
	panic("suites: no topology row " + name)
}

// bindCases: a bind mount of a on b shows the same inodes.
func bindCases() []Case {
	bound := func(t *T) error {
		if err := layout(t, "a/f", "b/", "c/"); err != nil {
			return err
		}
		return unix.Mount(t.path("a"), t.path("b"), "", unix.MS_BIND, "")
	}
	row := func(name, ruleOn, read string, want func(Env) string) Case {
		c := topoCase("mount/bind_"+name, want, func(t *T) string {
			if err := bound(t); err != nil {
				return SetupFailed(err)
			}
			if err := enforceFS(t, aRead, on(ruleOn, aRead)); err != nil {
				return enforceFailed(err)
			}
			return Outcome(openRead(t.path(read)))
		})
		c.Covers = append(c.Covers, "§3.5")
		return c
	}
	return []Case{
		row("rule_on_source_applies_through_the_bind_mount", "a", "b/f", allowed),
		row("rule_on_bind_mount_applies_to_the_source", "b", "a/f", allowed),
		row("without_rule_denied", "c", "b/f", deniedFrom(abiLandlock, "EACCES")),
	}
}

// overlayCases: a merged directory is made of other files than its lower
// and upper directories. OverlayFS is a module in Debian's kernels; where
// it is missing the cases are skipped with that reason.
func overlayCases() []Case {
	merged := func(t *T) error {
		if err := layout(t, "l/f", "u/", "w/", "m/"); err != nil {
			return err
		}
		opts := "lowerdir=" + t.path("l") + ",upperdir=" + t.path("u") + ",workdir=" + t.path("w")
		return unix.Mount("overlay", t.path("m"), "overlay", 0, opts)
	}
	row := func(name, ruleOn string, want func(Env) string) Case {
		c := topoCase("mount/overlay_"+name, want, func(t *T) string {
			if err := merged(t); err != nil {
				return SetupFailed(err)
			}
			if err := enforceFS(t, aRead, on(ruleOn, aRead)); err != nil {
				return enforceFailed(err)
			}
			return "merged=" + Outcome(openRead(t.path("m/f"))) + " lower=" + Outcome(openRead(t.path("l/f")))
		})
		c.Skip = skips(noOverlay, c.Skip)
		c.Covers = append(c.Covers, "§3.5")
		return c
	}
	return []Case{
		row("lower_rule_does_not_cover_merged", "l", byLibABI(abiLandlock, "merged=EACCES lower=ok", "merged=ok lower=ok")),
		row("merged_rule_does_not_cover_lower", "m", byLibABI(abiLandlock, "merged=ok lower=EACCES", "merged=ok lower=ok")),
	}
}

func init() {
	nsProbes["overlay"] = func(dir string) string {
		for _, d := range []string{"l", "u", "w", "m"} {
			if err := os.Mkdir(dir+"/"+d, 0o755); err != nil {
				return err.Error()
			}
		}
		err := unix.Mount("overlay", dir+"/m", "overlay", 0, "lowerdir="+dir+"/l,upperdir="+dir+"/u,workdir="+dir+"/w")
		switch err {
		case nil:
			return ""
		case unix.ENODEV:
			return "no overlayfs in this kernel (mount: ENODEV): not built in, and no module loaded (a catalog kernel's header lists the modules the VM loaded)"
		}
		return "overlayfs cannot be mounted here (mount: " + Outcome(err) + ")"
	}
}

// noOverlay is the environment skip of the overlay cases, checked in a
// scratch mount namespace (the namespace server's, unprivileged).
func noOverlay(e Env) string {
	if !e.Root {
		if nsUnavailable(e) != "" {
			return ""
		}
		return nsSrv.probe("overlay")
	}
	return rootProbe("overlay")
}

var rootProbes sync.Map

// rootProbe runs an nsProbe as root once, in a private mount namespace on
// a thread of its own (never the main thread: offMainThread).
func rootProbe(name string) string {
	if o, ok := rootProbes.Load(name); ok {
		return o.(string)
	}
	o := onOtherThread(func() string {
		return offMainThread(func() string {
			if err := privateMountNSThread(); err != nil {
				return err.Error()
			}
			dir, err := os.MkdirTemp("", "llconform-probe-")
			if err != nil {
				return err.Error()
			}
			defer os.RemoveAll(dir)
			return nsProbes[name](dir)
		})
	})
	rootProbes.Store(name, o)
	return o
}
