package suites

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.1: REFER, rename and link (landlock.h, LANDLOCK_ACCESS_FS_REFER;
// landlock.rst "File renaming and linking (ABI < 2)").
//
// Reparenting (link or rename into another directory) needs REFER on both
// sides. The moved file may not gain rights in the destination it did not
// have in the source (EXDEV); the destination needs the MAKE_* right of
// the file's type and, for a rename, the source needs the REMOVE_* right
// (EACCES); EACCES takes precedence over EXDEV. REFER is denied by every
// layer that does not grant it, even one that does not handle it, so ABI 1
// and REFER-less rulesets deny every reparenting (EXDEV). A rename within a
// directory needs no REFER. RENAME_EXCHANGE checks both directions. For a
// directory, every right counts (it applies to the subtree); for a file,
// only the rights a file can have.
//
// The rows go through the library. A rule granting REFER cannot be kept
// on ABI 1: the library then enforces no filesystem restriction, so those
// rows expect the unsandboxed outcome below the REFER ABI.

// referHandled is what the rows handle: every right of ABI 1 and 2 the
// operations touch.
const referHandled = fixture.ARead | fixture.AWrite | fixture.ARefer | fixture.ARmFile | fixture.ARmDir | fixture.AMkReg | fixture.AMkDir | fixture.AMkSym | fixture.AMkFifo | fixture.AMkChar

type referRow struct {
	name    string
	layout  []string
	handled landlock.AccessFS // default referHandled
	rules   []fixture.Rule
	layers  [][]fixture.Rule // further layers, each handling referHandled
	op      func(t *check.T) error
	want    func(check.Env) string
	deviate func(check.Env) []check.Deviation
	covers  []string
}

func (r referRow) run(t *check.T) string {
	if err := fixture.Layout(t, r.layout...); err != nil {
		return check.SetupFailed(err)
	}
	handled := r.handled
	if handled == 0 {
		handled = referHandled
	}
	if err := fixture.EnforceFS(t, handled, r.rules...); err != nil {
		return fixture.EnforceFailed(err)
	}
	for _, l := range r.layers {
		if err := fixture.EnforceFS(t, referHandled, l...); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	return check.Outcome(r.op(t))
}

func (r referRow) caseFor() check.Case {
	covers := append([]string{"fs.1", "§3.3"}, r.covers...)
	return check.Case{Area: "fs", Name: "refer/" + r.name, Want: r.want, Deviate: r.deviate, Covers: covers, Run: r.run}
}

// The operations, on paths under the case directory.
func mv(a, b string) func(*check.T) error {
	return func(t *check.T) error { return unix.Rename(t.Path(a), t.Path(b)) }
}

func ln(a, b string) func(*check.T) error {
	return func(t *check.T) error { return unix.Link(t.Path(a), t.Path(b)) }
}

func rename2(a, b string, flags uint) func(*check.T) error {
	return func(t *check.T) error {
		return unix.Renameat2(unix.AT_FDCWD, t.Path(a), unix.AT_FDCWD, t.Path(b), flags)
	}
}

// reparented is the outcome of a row whose rules grant REFER: the errno
// from the REFER ABI, ok below it (nothing is enforced).
func reparented(errno string) func(check.Env) string { return check.DeniedFrom(check.ABIRefer, errno) }

var referRows = []referRow{
	// Links.
	{name: "link/widening_exdev", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: reparented("EXDEV"), covers: []string{"§6.9"}},
	{name: "link/no_gain_allowed", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: check.Allowed},
	{name: "link/destination_without_make_reg_eacces", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: reparented("EACCES"), covers: []string{"§6.9"}},
	// Both conditions at once: b grants READ (a gain) and lacks MAKE_REG.
	{name: "link/eacces_takes_precedence_over_exdev", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer), fixture.On("b", fixture.ARefer|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: reparented("EACCES"), covers: []string{"§6.9"}},
	{name: "link/source_without_refer_exdev", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARead), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: reparented("EXDEV")},
	{name: "link/destination_without_refer_exdev", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARead), fixture.On("b", fixture.AMkReg|fixture.ARead)},
		op:    ln("a/f", "b/f"), want: reparented("EXDEV")},
	{name: "link/same_directory_without_make_reg_eacces", layout: []string{"a/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARead|fixture.ARmFile)},
		op:    ln("a/f", "a/g"), want: check.DeniedFrom(check.ABILandlock, "EACCES")},
	{name: "link/same_directory_needs_no_refer", layout: []string{"a/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARead|fixture.AMkReg)},
		op:    ln("a/f", "a/g"), want: check.Allowed},
	{name: "link/symlink_needs_make_sym", layout: []string{"a/l->f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer), fixture.On("b", fixture.ARefer|fixture.AMkReg)},
		op:    ln("a/l", "b/l"), want: reparented("EACCES")},

	// Renames.
	{name: "rename/no_gain_allowed", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    mv("a/f", "b/f"), want: check.Allowed},
	{name: "rename/losing_rights_allowed", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.ARead|fixture.AWrite), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    mv("a/f", "b/f"), want: check.Allowed},
	{name: "rename/source_without_remove_file_eacces", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)},
		op:    mv("a/f", "b/f"), want: reparented("EACCES"), covers: []string{"§6.9"}},
	// Replacing b/f removes the file there: REMOVE_FILE on b.
	{name: "rename/replacing_without_remove_file_at_destination_eacces", layout: []string{"a/f", "b/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile), fixture.On("b", fixture.ARefer|fixture.AMkReg)},
		op:    mv("a/f", "b/f"), want: reparented("EACCES")},
	{name: "rename/replacing_with_remove_file_at_destination_allowed", layout: []string{"a/f", "b/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARmFile)},
		op:    mv("a/f", "b/f"), want: check.Allowed},
	{name: "rename/same_directory_without_make_reg_eacces", layout: []string{"a/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARead|fixture.ARmFile)},
		op:    mv("a/f", "a/g"), want: check.DeniedFrom(check.ABILandlock, "EACCES")},
	{name: "rename/same_directory_without_remove_file_eacces", layout: []string{"a/f"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARead|fixture.AMkReg)},
		op:    mv("a/f", "a/g"), want: check.DeniedFrom(check.ABILandlock, "EACCES")},
	{name: "rename/fifo_needs_make_fifo", layout: []string{"a/p|", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile), fixture.On("b", fixture.ARefer|fixture.AMkReg)},
		op:    mv("a/p", "b/p"), want: reparented("EACCES")},

	// RENAME_EXCHANGE: each file moves into the other directory.
	{name: "exchange/reverse_direction_widening_exdev", layout: []string{"a/f", "b/g"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.AMkReg|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.ARmFile|fixture.AMkReg)},
		op:    rename2("a/f", "b/g", unix.RENAME_EXCHANGE), want: reparented("EXDEV"), covers: []string{"§6.9"}},
	// The companion of the row above: the same policy lets a/f move to b
	// (it loses READ_FILE); only the way back widens.
	{name: "exchange/forward_direction_alone_allowed", layout: []string{"a/f", "b/g"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.AMkReg|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.ARmFile|fixture.AMkReg)},
		op:    mv("a/f", "b/f"), want: check.Allowed},
	{name: "exchange/equal_rights_allowed", layout: []string{"a/f", "b/g"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.AMkReg|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.ARmFile|fixture.AMkReg|fixture.ARead)},
		op:    rename2("a/f", "b/g", unix.RENAME_EXCHANGE), want: check.Allowed},
	{name: "exchange/source_side_without_make_reg_eacces", layout: []string{"a/f", "b/g"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile), fixture.On("b", fixture.ARefer|fixture.ARmFile|fixture.AMkReg)},
		op:    rename2("a/f", "b/g", unix.RENAME_EXCHANGE), want: reparented("EACCES")},
	{name: "exchange/destination_side_without_remove_file_eacces", layout: []string{"a/f", "b/g"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.AMkReg), fixture.On("b", fixture.ARefer|fixture.AMkReg)},
		op:    rename2("a/f", "b/g", unix.RENAME_EXCHANGE), want: reparented("EACCES")},

	// Directories carry their whole subtree: directory rights count.
	{name: "directory/widening_exdev", layout: []string{"a/d/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmDir|fixture.AMkDir), fixture.On("b", fixture.ARefer|fixture.AMkDir|fixture.AMkReg)},
		op:    mv("a/d", "b/d"), want: reparented("EXDEV")},
	{name: "directory/no_gain_allowed", layout: []string{"a/d/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmDir|fixture.AMkDir|fixture.AMkReg), fixture.On("b", fixture.ARefer|fixture.AMkDir|fixture.AMkReg)},
		op:    mv("a/d", "b/d"), want: check.Allowed},
	{name: "directory/destination_without_make_dir_eacces", layout: []string{"a/d/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmDir), fixture.On("b", fixture.ARefer)},
		op:    mv("a/d", "b/d"), want: reparented("EACCES")},
	{name: "directory/source_without_remove_dir_eacces", layout: []string{"a/d/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.AMkDir), fixture.On("b", fixture.ARefer|fixture.AMkDir)},
		op:    mv("a/d", "b/d"), want: reparented("EACCES")},
	// The same gain of a directory-only right (MAKE_REG) does not count
	// for a regular file.
	{name: "file/directory_only_rights_do_not_count", layout: []string{"a/f", "b/"},
		rules: []fixture.Rule{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.AMkReg), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.AMkDir|fixture.AMkFifo)},
		op:    mv("a/f", "b/f"), want: check.Allowed},

	// REFER is denied by default, also by a layer that does not handle it.
	{name: "denied_by_default/rename_exdev", layout: []string{"a/f", "b/"},
		handled: fixture.ARead, rules: []fixture.Rule{fixture.On("", fixture.ARead)},
		op: mv("a/f", "b/f"), want: check.DeniedFrom(check.ABILandlock, "EXDEV")},
	{name: "denied_by_default/link_exdev", layout: []string{"a/f", "b/"},
		handled: fixture.ARead, rules: []fixture.Rule{fixture.On("", fixture.ARead)},
		op: ln("a/f", "b/f"), want: check.DeniedFrom(check.ABILandlock, "EXDEV")},
	// The same-directory companion: the same domain lets it through.
	{name: "denied_by_default/same_directory_rename_allowed", layout: []string{"a/f"},
		handled: fixture.ARead, rules: []fixture.Rule{fixture.On("", fixture.ARead)},
		op: mv("a/f", "a/g"), want: check.Allowed},

	// Layers: each one must allow the reparenting on its own.
	{name: "layers/layer_without_refer_denies", layout: []string{"a/f", "b/"},
		handled: fixture.ARead, rules: []fixture.Rule{fixture.On("", fixture.ARead)},
		layers: [][]fixture.Rule{{fixture.On("", referHandled)}},
		op:     mv("a/f", "b/f"), want: check.DeniedFrom(check.ABILandlock, "EXDEV"), covers: []string{"§3.4", "fs.6"}},
	{name: "layers/one_widening_layer_exdev", layout: []string{"a/f", "b/"},
		rules:  []fixture.Rule{fixture.On("", referHandled)},
		layers: [][]fixture.Rule{{fixture.On("a", fixture.ARefer|fixture.ARmFile), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)}},
		op:     mv("a/f", "b/f"), want: reparented("EXDEV"), covers: []string{"§3.4", "fs.6"}},
	{name: "layers/no_widening_layer_allowed", layout: []string{"a/f", "b/"},
		rules:  []fixture.Rule{fixture.On("", referHandled)},
		layers: [][]fixture.Rule{{fixture.On("a", fixture.ARefer|fixture.ARmFile|fixture.ARead), fixture.On("b", fixture.ARefer|fixture.AMkReg|fixture.ARead)}},
		op:     mv("a/f", "b/f"), want: check.Allowed, covers: []string{"§3.4", "fs.6"}},

	// RENAME_WHITEOUT leaves a whiteout (a character device 0:0) at the
	// source: it needs MAKE_REG there (erratum 4), MAKE_CHAR on kernels
	// without the fix.
	{name: "whiteout/rename_with_make_reg_allowed", layout: []string{"a/p|"},
		handled: fixture.ARmFile | fixture.AMkReg | fixture.AMkChar | fixture.AMkFifo, rules: []fixture.Rule{fixture.On("a", fixture.ARmFile|fixture.AMkFifo|fixture.AMkReg)},
		op: rename2("a/p", "a/q", unix.RENAME_WHITEOUT), want: check.Allowed,
		// Unfixed kernels answer either: some checked MAKE_CHAR, some
		// (6.18.44 with errata mask 0x7) no right at all for it.
		deviate: check.UnfixedErratum(4, "EACCES|ok"), covers: []string{"§6.4"}},
	{name: "whiteout/rename_with_only_make_char_eacces", layout: []string{"a/p|"},
		handled: fixture.ARmFile | fixture.AMkReg | fixture.AMkChar | fixture.AMkFifo, rules: []fixture.Rule{fixture.On("a", fixture.ARmFile|fixture.AMkFifo|fixture.AMkChar)},
		op: rename2("a/p", "a/q", unix.RENAME_WHITEOUT), want: check.DeniedFrom(check.ABILandlock, "EACCES"),
		deviate: check.UnfixedErratum(4, check.OK), covers: []string{"§6.4"}},
}

func init() {
	check.Build(func() {
		for _, r := range referRows {
			check.Register(mirrored(r.caseFor())...)
		}
		check.Register(mirrored(referMountCases()...)...)
		check.Register(
			// A rule granting everything above both directories: reparenting
			// within it is allowed, while the domain still denies reading
			// outside the case directory.
			check.Case{Area: "fs", Name: "refer/superset_rule_above_allows", Covers: []string{"fs.1", "§3.3"},
				Want: byLibABI(check.ABIRefer, "rename=ok outside=EACCES", "rename=ok outside=ok"),
				Run: func(t *check.T) string {
					if err := fixture.Layout(t, "a/f", "b/"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.EnforceFS(t, referHandled, fixture.On("", referHandled)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Steps(check.Did("rename", mv("a/f", "b/f")(t)), check.Did("outside", fixture.OpenRead(fixture.OutsidePath())))
				}},
		)
	})
}

// referMountCases: renames and links that meet a mount (in a private
// mount namespace). A mount point cannot be renamed (the VFS says EBUSY),
// but a domain that lacks the rights for that rename answers first, with
// its own EACCES; a rename between two mounts is EXDEV from the VFS
// whatever the domain allows; linking the root of a detached mount (a
// directory) is denied by a domain without MAKE_DIR (EACCES) before the
// VFS refuses hard links to directories (EPERM).
func referMountCases() []check.Case {
	nsRow := func(name string, want func(check.Env) string, body func(t *check.T) string) check.Case {
		return withMountNS(check.Case{Area: "fs", Name: "refer/" + name, Want: want, Covers: []string{"fs.1", "§3.3", "fs.3", "§3.5"}}, body)
	}
	return []check.Case{
		nsRow("cross_mount_rename_exdev", byLibABI(check.ABIRefer, "cross_mount=EXDEV same_mount=ok outside=EACCES", "cross_mount=EXDEV same_mount=ok outside=ok"), func(t *check.T) string {
			if err := fixture.Layout(t, "a/f", "a/g", "m/"); err != nil {
				return check.SetupFailed(err)
			}
			if err := unix.Mount(t.Path("a"), t.Path("m"), "", unix.MS_BIND, ""); err != nil {
				return check.SetupFailedf("bind mount: %s", check.Outcome(err))
			}
			if err := fixture.EnforceFS(t, referHandled, fixture.On("", referHandled)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return pairs("cross_mount", check.Outcome(mv("a/f", "m/f2")(t)), "same_mount", check.Outcome(mv("a/g", "a/g2")(t)),
				"outside", check.Outcome(fixture.OpenRead(fixture.OutsidePath())))
		}),
		nsRow("rename_mount_point_ebusy", func(check.Env) string { return "EBUSY" }, func(t *check.T) string {
			if err := mountTmpfs(t, "m"); err != nil {
				return check.SetupFailed(err)
			}
			if err := fixture.EnforceFS(t, referHandled, fixture.On("", referHandled)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(mv("m", "n")(t))
		}),
		nsRow("rename_mount_point_without_make_dir_eacces", byLibABI(check.ABILandlock, "EACCES", "EBUSY"), func(t *check.T) string {
			if err := mountTmpfs(t, "m"); err != nil {
				return check.SetupFailed(err)
			}
			h := referHandled &^ fixture.ARefer
			if err := fixture.EnforceFS(t, h, fixture.On("", h&^fixture.AMkDir)); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(mv("m", "n")(t))
		}),
		nsRow("link_detached_mount_root_eacces", func(e check.Env) string {
			switch {
			case e.LibABI() >= check.ABIRefer:
				return "EACCES"
			case e.LibABI() >= check.ABILandlock:
				return "EACCES|EXDEV" // ABI 1 denies every reparenting
			}
			return "EPERM" // no hard links to directories
		}, func(t *check.T) string {
			if err := fixture.Layout(t, "a/f"); err != nil {
				return check.SetupFailed(err)
			}
			root, err := unix.OpenTree(unix.AT_FDCWD, t.Path("a"), unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
			if err != nil {
				return check.SetupFailedf("open_tree: %s", check.Outcome(err))
			}
			defer unix.Close(root)
			if err := fixture.EnforceFS(t, referHandled); err != nil {
				return fixture.EnforceFailed(err)
			}
			return check.Outcome(unix.Linkat(root, ".", root, "x", 0))
		}),
	}
}
