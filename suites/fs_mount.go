package suites

import (
	"os"
	"sync"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
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
func topologyDomain(t *check.T) error {
	return fixture.EnforceFS(t, fixture.ARead, fixture.On("/", fixture.ARead))
}

// ownRootMount makes the case directory this thread's root, as a mount of
// its own (bound on itself): pivot_root(2) needs the current root to be a
// mount point, which the VM's initramfs root is not. Paths are then
// relative to the case directory.
func ownRootMount(t *check.T) error {
	if err := unix.Mount(t.Root(), t.Root(), "", unix.MS_BIND, ""); err != nil {
		return opErr("bind the case directory on itself", err)
	}
	if err := unix.Chroot(t.Root()); err != nil {
		return opErr("chroot", err)
	}
	return unix.Chdir("/")
}

// pivotPrep prepares /nr (a tmpfs with /nr/old) under an own root mount.
func pivotPrep(t *check.T) error {
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

func mountTmpfs(t *check.T, rel string) error {
	if err := os.MkdirAll(t.Path(rel), 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", t.Path(rel), "tmpfs", 0, "size=1m"); err != nil {
		return opErr("mount tmpfs on "+rel, err)
	}
	return nil
}

// topoRow is a topology change: prep runs before the enforcement, change
// after it.
type topoRow struct {
	name   string
	prep   func(t *check.T) error
	change func(t *check.T) error
}

var topoRows = []topoRow{
	{name: "mount", prep: func(t *check.T) error { return fixture.Layout(t, "m/") },
		change: func(t *check.T) error { return unix.Mount("tmpfs", t.Path("m"), "tmpfs", 0, "") }},
	{name: "umount", prep: func(t *check.T) error { return mountTmpfs(t, "m") },
		change: func(t *check.T) error { return unix.Unmount(t.Path("m"), 0) }},
	{name: "umount_detach", prep: func(t *check.T) error { return mountTmpfs(t, "m") },
		change: func(t *check.T) error { return unix.Unmount(t.Path("m"), unix.MNT_DETACH) }},
	{name: "remount", prep: func(t *check.T) error { return mountTmpfs(t, "m") },
		change: func(t *check.T) error {
			return unix.Mount("", t.Path("m"), "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}},
	{name: "bind_mount", prep: func(t *check.T) error { return fixture.Layout(t, "a/f", "m/") },
		change: func(t *check.T) error { return unix.Mount(t.Path("a"), t.Path("m"), "", unix.MS_BIND, "") }},
	{name: "propagation_change", prep: func(t *check.T) error { return mountTmpfs(t, "m") },
		change: func(t *check.T) error { return unix.Mount("", t.Path("m"), "", unix.MS_SHARED, "") }},
	{name: "mount_move", prep: func(t *check.T) error {
		if err := fixture.Layout(t, "n/"); err != nil {
			return err
		}
		return mountTmpfs(t, "m")
	}, change: func(t *check.T) error { return unix.Mount(t.Path("m"), t.Path("n"), "", unix.MS_MOVE, "") }},
	{name: "move_mount", prep: func(t *check.T) error {
		if err := fixture.Layout(t, "n/"); err != nil {
			return err
		}
		return mountTmpfs(t, "m")
	}, change: func(t *check.T) error {
		return unix.MoveMount(unix.AT_FDCWD, t.Path("m"), unix.AT_FDCWD, t.Path("n"), 0)
	}},
	{name: "pivot_root", prep: pivotPrep, change: func(t *check.T) error { return unix.PivotRoot("/nr", "/nr/old") }},
}

// attachDetachedTree clones the case's a/ as a detached mount before the
// enforcement and attaches it after: move_mount(2) of an open_tree(2) fd.
func attachDetachedTree(t *check.T, enforce func() error) string {
	if err := fixture.Layout(t, "a/f", "n/"); err != nil {
		return check.SetupFailed(err)
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, t.Path("a"), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return check.SetupFailedf("open_tree: %s", check.Outcome(err))
	}
	defer unix.Close(fd)
	if err := enforce(); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(unix.MoveMount(fd, "", unix.AT_FDCWD, t.Path("n"), unix.MOVE_MOUNT_F_EMPTY_PATH))
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
func netOnly(t *check.T) (func() error, error) {
	return bindTCPAny, t.Enforce(landlock.Policy{Net: landlock.NetBindTCP})
}

func scopeOnly(t *check.T) (func() error, error) {
	name := abstractName()
	srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	if err := t.Enforce(landlock.Policy{Scoped: landlock.ScopeAbstractUnixSocket}); err != nil {
		unix.Close(srv)
		return nil, err
	}
	return func() error {
		defer unix.Close(srv)
		return fixture.UnixConnect(name, unix.SOCK_STREAM)
	}, nil
}

func topoCase(name string, want func(check.Env) string, body func(t *check.T) string) check.Case {
	return withMountNS(check.Case{Area: "fs", Name: name, Want: want, Covers: []string{"fs.3", "§3.11", "§6.14"}}, body)
}

func init() {
	check.Build(func() {
		topoDenied := check.DeniedFrom(check.ABILandlock, "EPERM")
		for _, r := range topoRows {
			r := r
			check.Register(mirrored(topoCase("topology/"+r.name+"_denied_when_fs_handled", topoDenied, func(t *check.T) string {
				if err := r.prep(t); err != nil {
					return check.SetupFailed(err)
				}
				if err := topologyDomain(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(r.change(t))
			}))...)
		}
		check.Register(mirrored(topoCase("topology/attach_detached_tree_denied_when_fs_handled", topoDenied, func(t *check.T) string {
			return attachDetachedTree(t, func() error { return topologyDomain(t) })
		}))...)

		// Allowed in a domain without filesystem rights; the companion shows
		// that domain denies what it handles.
		for _, d := range []struct {
			name     string
			enforce  func(t *check.T) (func() error, error)
			abi      int
			denied   string
			what     string
			topology []string
		}{
			{"net_only", netOnly, check.ABINet, "EACCES", "bind_tcp", []string{"mount", "umount", "pivot_root", "move_mount"}},
			{"scope_only", scopeOnly, check.ABIScoped, "EPERM", "abstract_connect", []string{"mount", "remount"}},
		} {
			for _, name := range d.topology {
				d := d
				r := rowNamed(name)
				check.Register(mirrored(topoCase("topology/"+name+"_allowed_in_"+d.name+"_domain",
					byLibABI(d.abi, check.Steps(check.Saw(name, check.OK), check.Saw(d.what, d.denied)), check.Steps(check.Saw(name, check.OK), check.Saw(d.what, check.OK))),
					func(t *check.T) string {
						if err := r.prep(t); err != nil {
							return check.SetupFailed(err)
						}
						companion, err := d.enforce(t)
						if err != nil {
							return fixture.EnforceFailed(err)
						}
						return check.Steps(check.Did(name, r.change(t)), check.Did(d.what, companion()))
					}))...)
			}
		}

		check.Register(mirrored(
			topoCase("chroot/chroot_allowed", check.Allowed, func(t *check.T) string {
				if err := fixture.Layout(t, "root/"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, check.AllFS&^fixture.ARefer, fixture.On("", check.AllFS&^fixture.ARefer)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(unix.Chroot(t.Path("root")))
			}),
			// Inside a chroot, the rules still name the same inodes.
			topoCase("chroot/rules_apply_inside_chroot", byLibABI(check.ABILandlock, "d=ok e=EACCES", "d=ok e=ok"), func(t *check.T) string {
				if err := fixture.Layout(t, "root/d/f", "root/e/f"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("root/d", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				if err := unix.Chroot(t.Path("root")); err != nil {
					return "chroot: " + check.Outcome(err)
				}
				return check.Steps(check.Did("d", fixture.OpenRead("/d/f")), check.Did("e", fixture.OpenRead("/e/f")))
			}),

			// A rule taken on a mount point (after the mount) is on the mounted
			// filesystem's root.
			topoCase("mount/rule_on_mount_point_covers_the_mount", byLibABI(check.ABILandlock, "inside=ok outside=EACCES", "inside=ok outside=ok"), func(t *check.T) string {
				if err := mountTmpfs(t, "m"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.Layout(t, "m/f", "n/f"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("m", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Steps(check.Did("inside", fixture.OpenRead(t.Path("m/f"))), check.Did("outside", fixture.OpenRead(t.Path("n/f"))))
			}),
			topoCase("mount/rule_over_mount_point_covers_the_mount", byLibABI(check.ABILandlock, "inside=ok outside=EACCES", "inside=ok outside=ok"), func(t *check.T) string {
				if err := mountTmpfs(t, "a/m"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.Layout(t, "a/m/f", "n/f"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("a", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Steps(check.Did("inside", fixture.OpenRead(t.Path("a/m/f"))), check.Did("outside", fixture.OpenRead(t.Path("n/f"))))
			}),
			// The rule is added on directory m, then a tmpfs covers m, then the
			// ruleset is enforced: the rule is on the hidden directory, not on
			// the mount. Raw syscalls, so that the mount comes between the rule
			// and the enforcement.
			topoCase("mount/covered_rule_does_not_reach_the_mount", fsSys(check.ABILandlock, "EACCES"), func(t *check.T) string {
				if err := fixture.Layout(t, "m/"); err != nil {
					return check.SetupFailed(err)
				}
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(rs int) string {
					openErr, err := fixture.AddPathOf(rs, fsRead, t.Path("m"), 0)
					if openErr != nil {
						return check.SetupFailed(openErr)
					}
					if err != nil {
						return "add_rule: " + check.Outcome(err)
					}
					if err := mountTmpfs(t, "m"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.Layout(t, "m/f"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.Restrict(t, rs, 0); err != nil {
						return "restrict: " + check.Outcome(err)
					}
					return check.Outcome(fixture.OpenRead(t.Path("m/f")))
				})
			}),
			// A ruleset whose rule is on a filesystem that goes away: the
			// unmount succeeds, the rule goes with it, enforcing still works and
			// the covered directory is not granted.
			topoCase("mount/rule_released_when_the_mount_goes_away", check.Sys(func(e check.Env) string { return "umount=ok restrict=ok read_dir=EACCES" }), func(t *check.T) string {
				if err := mountTmpfs(t, "m"); err != nil {
					return check.SetupFailed(err)
				}
				const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
				return fixture.WithRuleset(fixture.Attr(8, rd), func(rs int) string {
					openErr, err := fixture.AddPathOf(rs, rd, t.Path("m"), 0)
					if openErr != nil {
						return check.SetupFailed(openErr)
					}
					if err != nil {
						return "add_rule: " + check.Outcome(err)
					}
					umount := check.Did("umount", unix.Unmount(t.Path("m"), 0))
					restrict := check.Did("restrict", fixture.Restrict(t, rs, 0))
					return check.Steps(umount, restrict, check.Did("read_dir", fixture.ReadDir(t.Path("m"))))
				})
			}),
			// pivot_root before the enforcement: rules name paths of the new
			// root.
			topoCase("mount/rules_after_pivot_root", byLibABI(check.ABILandlock, "d=ok e=EACCES", "d=ok e=ok"), func(t *check.T) string {
				if err := pivotPrep(t); err != nil {
					return check.SetupFailed(err)
				}
				for _, f := range []string{"/nr/d/f", "/nr/e/f"} {
					if err := os.MkdirAll(f[:len(f)-2], 0o755); err != nil {
						return check.SetupFailed(err)
					}
					if err := os.WriteFile(f, nil, 0o644); err != nil {
						return check.SetupFailed(err)
					}
				}
				if err := unix.PivotRoot("/nr", "/nr/old"); err != nil {
					return check.SetupFailedf("pivot_root: %s", check.Outcome(err))
				}
				if err := unix.Chdir("/"); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("/d", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Steps(check.Did("d", fixture.OpenRead("/d/f")), check.Did("e", fixture.OpenRead("/e/f")))
			}),
		)...)
		check.Register(mirrored(bindCases()...)...)
		check.Register(mirrored(overlayCases()...)...)
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
func bindCases() []check.Case {
	bound := func(t *check.T) error {
		if err := fixture.Layout(t, "a/f", "b/", "c/"); err != nil {
			return err
		}
		return unix.Mount(t.Path("a"), t.Path("b"), "", unix.MS_BIND, "")
	}
	row := func(name, ruleOn, read string, want func(check.Env) string) check.Case {
		c := topoCase("mount/bind_"+name, want, func(t *check.T) string {
			if err := bound(t); err != nil {
				return check.SetupFailed(err)
			}
			if err := fixture.EnforceFS(t, fixture.ARead, fixture.On(ruleOn, fixture.ARead)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(fixture.OpenRead(t.Path(read)))
		})
		c.Covers = append(c.Covers, "§3.5")
		return c
	}
	return []check.Case{
		row("rule_on_source_applies_through_the_bind_mount", "a", "b/f", check.Allowed),
		row("rule_on_bind_mount_applies_to_the_source", "b", "a/f", check.Allowed),
		row("without_rule_denied", "c", "b/f", check.DeniedFrom(check.ABILandlock, "EACCES")),
	}
}

// overlayCases: a merged directory is made of other files than its lower
// and upper directories. OverlayFS is a module in Debian's kernels; where
// it is missing the cases are skipped with that reason.
func overlayCases() []check.Case {
	merged := func(t *check.T) error {
		if err := fixture.Layout(t, "l/f", "u/", "w/", "m/"); err != nil {
			return err
		}
		opts := "lowerdir=" + t.Path("l") + ",upperdir=" + t.Path("u") + ",workdir=" + t.Path("w")
		return unix.Mount("overlay", t.Path("m"), "overlay", 0, opts)
	}
	row := func(name, ruleOn string, want func(check.Env) string) check.Case {
		c := topoCase("mount/overlay_"+name, want, func(t *check.T) string {
			if err := merged(t); err != nil {
				return check.SetupFailed(err)
			}
			if err := fixture.EnforceFS(t, fixture.ARead, fixture.On(ruleOn, fixture.ARead)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Steps(check.Did("merged", fixture.OpenRead(t.Path("m/f"))), check.Did("lower", fixture.OpenRead(t.Path("l/f"))))
		})
		c.Skip = skips(noOverlay, c.Skip)
		c.Covers = append(c.Covers, "§3.5")
		return c
	}
	return []check.Case{
		row("lower_rule_does_not_cover_merged", "l", byLibABI(check.ABILandlock, "merged=EACCES lower=ok", "merged=ok lower=ok")),
		row("merged_rule_does_not_cover_lower", "m", byLibABI(check.ABILandlock, "merged=ok lower=EACCES", "merged=ok lower=ok")),
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
		return "overlayfs cannot be mounted here (mount: " + check.Outcome(err) + ")"
	}
}

// noOverlay is the environment skip of the overlay cases, checked in a
// scratch mount namespace (the namespace server's, unprivileged).
func noOverlay(e check.Env) string {
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
	o := fixture.OnOtherThread(func() string {
		return fixture.OffMainThread(func() string {
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
