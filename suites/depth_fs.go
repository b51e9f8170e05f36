package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Depth of the filesystem layers and of REFER across layers (landlock.rst
// "Layers of file path access rights", "Inheritance" and "File renaming
// and linking"; landlock.h, LANDLOCK_ACCESS_FS_REFER).
//
// - A domain is immutable: rules added to a ruleset after it was enforced
//   only reach the layer a later enforcement of that ruleset adds, and that
//   layer can only narrow what the earlier one allows.
// - Within one ruleset, rules on the same object are merged: their rights
//   are OR-ed.
// - A rule on the root directory reaches everything beneath it; a later
//   layer still narrows it, and a right the rule does not grant stays
//   denied on the root itself.
// - Every layer must allow a reparenting on its own: REFER is denied by a
//   layer that does not grant it (also one that does not handle it), a
//   missing MAKE_* or REMOVE_* of any layer is EACCES, and EACCES takes
//   precedence over EXDEV whichever layer answers which.

// pathRules adds one path_beneath rule per (path, access) to a ruleset,
// each through its own O_PATH descriptor, and names the first failure.
func pathRules(t *check.T, rs int, rules ...fixture.Rule) string {
	for _, r := range rules {
		openErr, err := fixture.AddPathOf(rs, uint64(r.Access), t.Abs(r.Path), 0)
		if openErr != nil {
			return check.SetupFailedf("open %s: %s", r.Path, check.Outcome(openErr))
		}
		if err != nil {
			return "add_rule " + r.Path + ": " + check.Outcome(err)
		}
	}
	return ""
}

func depthFSCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "fs", Name: name, Want: want, Covers: []string{"fs.6", "§3.4"}, Run: run}
}

// layeredMove is a reparenting under several layers, each with its own
// handled rights, observed by named operations run in order.
type layeredMove struct {
	name   string
	layout []string
	layers []fsLayerSpec
	ops    []string // name, then the operation's key in moveOps
	want   func(check.Env) string
	mirror []string
}

func (m layeredMove) caseFor(ops map[string]func(*check.T) error) check.Case {
	for i := 1; i < len(m.ops); i += 2 {
		if ops[m.ops[i]] == nil {
			panic("suites: row " + m.name + " names no operation " + m.ops[i])
		}
	}
	return check.Case{Area: "fs", Name: "refer/layers/" + m.name, Want: m.want,
		Covers: []string{"fs.1", "§3.3", "fs.6", "§3.4", "§6.9"},
		Run: func(t *check.T) string {
			if err := fixture.Layout(t, m.layout...); err != nil {
				return check.SetupFailed(err)
			}
			if err := enforceLayers(t, m.layers...); err != nil {
				return fixture.EnforceFailed(err)
			}
			var kv []string
			for i := 0; i+1 < len(m.ops); i += 2 {
				kv = append(kv, m.ops[i], check.Outcome(ops[m.ops[i+1]](t)))
			}
			return pairs(kv...)
		}}.Mirroring(m.mirror...)
}

// moveRights is what a directory needs for a file and a directory to move
// in and out of it.
const moveRights = fixture.ARefer | fixture.ARmFile | fixture.ARmDir | fixture.AMkReg | fixture.AMkDir

// referOr is a compound expectation of a row whose every layer grants
// REFER: the library cannot keep such a layer below the REFER ABI and
// enforces nothing, so everything is allowed there.
func referOr(denied, allowed string) func(check.Env) string {
	return byLibABI(check.ABIRefer, denied, allowed)
}

// deniesReparenting is the expectation of a row whose second layer grants
// no REFER (and so is kept on ABI 1): the same answer wherever Landlock
// enforces a filesystem layer, since ABI 1 denies every reparenting.
func deniesReparenting(denied, abi1, allowed string) func(check.Env) string {
	return func(e check.Env) string {
		switch {
		case e.LibABI() >= check.ABIRefer:
			return denied
		case e.LibABI() >= check.ABILandlock:
			return abi1
		}
		return allowed
	}
}

// constant is an expectation that holds on every kernel.
func constant(o string) func(check.Env) string { return func(check.Env) string { return o } }

func init() {
	check.Build(func() {
		read := func(t *check.T, p string) string { return check.Outcome(fixture.OpenRead(t.Path(p))) }
		write := func(t *check.T, p string) string { return check.Outcome(fixture.OpenWrite(t.Path(p))) }
		check.Register(
			// Enforce a ruleset, add rules to it (a new one on b, and WRITE
			// on a), enforce it again: the second layer has the new rules,
			// the first still denies what it denied.
			depthFSCase("layers/rules_added_after_enforcement_cannot_widen", check.Always("a_read=ok a_write=EACCES b_read=EACCES"), func(t *check.T) string {
				t.Files("a/f", "b/f")
				return fixture.WithRuleset(fixture.Attr(8, fsRead|fsWrite), func(rs int) string {
					if o := pathRules(t, rs, fixture.On("a", fixture.ARead)); o != "" {
						return o
					}
					if err := fixture.Restrict(t, rs, 0); err != nil {
						return "restrict: " + check.Outcome(err)
					}
					if o := pathRules(t, rs, fixture.On("a", fixture.AWrite), fixture.On("b", fixture.ARead|fixture.AWrite)); o != "" {
						return o
					}
					if err := fixture.Restrict(t, rs, 0); err != nil {
						return "restrict again: " + check.Outcome(err)
					}
					return pairs("a_read", read(t, "a/f"), "a_write", write(t, "a/f"), "b_read", read(t, "b/f"))
				})
			}).Mirroring("fs_test.c:layout1.inherit_subset"),
		)
		check.Register(
			// Two rules on the same directory in one ruleset: READ from one,
			// WRITE from the other; both apply. A sibling stays denied.
			depthFSCase("layers/two_rules_on_one_directory_are_merged", check.Always("read=ok write=ok other_read=EACCES"), func(t *check.T) string {
				t.Files("a/f", "b/f")
				return fixture.WithRuleset(fixture.Attr(8, fsRead|fsWrite), func(rs int) string {
					if o := pathRules(t, rs, fixture.On("a", fixture.ARead), fixture.On("a", fixture.AWrite)); o != "" {
						return o
					}
					if err := fixture.Restrict(t, rs, 0); err != nil {
						return "restrict: " + check.Outcome(err)
					}
					return pairs("read", read(t, "a/f"), "write", write(t, "a/f"), "other_read", read(t, "b/f"))
				})
			}).Mirroring("fs_test.c:layout1.ruleset_overlap"),
			// The same on one file: the rights of both rules apply to it,
			// a file next to it has none.
			depthFSCase("layers/two_rules_on_one_file_are_merged", check.Always("read=ok write=ok other_read=EACCES"), func(t *check.T) string {
				t.Files("a/f", "a/g")
				return fixture.WithRuleset(fixture.Attr(8, fsRead|fsWrite), func(rs int) string {
					if o := pathRules(t, rs, fixture.On("a/f", fixture.AWrite), fixture.On("a/f", fixture.ARead)); o != "" {
						return o
					}
					if err := fixture.Restrict(t, rs, 0); err != nil {
						return "restrict: " + check.Outcome(err)
					}
					return pairs("read", read(t, "a/f"), "write", write(t, "a/f"), "other_read", read(t, "a/g"))
				})
			}).Mirroring("fs_test.c:layout1.ruleset_overlap"),
			// A rule on "/" allows reading anywhere; a second layer granting
			// only the case directory narrows it.
			depthFSCase("layers/rule_over_root_then_narrower_layer",
				byLibABI(check.ABILandlock, "first_outside=ok first_case=ok second_outside=EACCES second_case=ok", "first_outside=ok first_case=ok second_outside=ok second_case=ok"),
				func(t *check.T) string {
					t.Files("f")
					if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("/", fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					fo, fc := check.Outcome(fixture.OpenRead(fixture.OutsidePath())), read(t, "f")
					if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("", fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return pairs("first_outside", fo, "first_case", fc, "second_outside", check.Outcome(fixture.OpenRead(fixture.OutsidePath())), "second_case", read(t, "f"))
				}).Mirroring("fs_test.c:layout1.rule_over_root_allow_then_deny"),
			// A rule on "/" granting READ_FILE only: listing the root
			// directory itself (READ_DIR, handled) stays denied.
			depthFSCase("layers/rule_over_root_denies_what_it_does_not_grant",
				byLibABI(check.ABILandlock, "read_file=ok list_root=EACCES list_case=EACCES", "read_file=ok list_root=ok list_case=ok"),
				func(t *check.T) string {
					t.Files("f")
					if err := fixture.EnforceFS(t, fixture.ARead|fixture.AReadDir, fixture.On("/", fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return pairs("read_file", read(t, "f"), "list_root", check.Outcome(fixture.ReadDir("/")), "list_case", check.Outcome(fixture.ReadDir(t.Root())))
				}).Mirroring("fs_test.c:layout1.rule_over_root_deny"),
		)

		ops := map[string]func(*check.T) error{
			"mv a/d b/d":   mv("a/d", "b/d"),
			"mv a/e a/e2":  mv("a/e", "a/e2"),
			"mv a/f b/f":   mv("a/f", "b/f"),
			"mv a/f b/d":   mv("a/f", "b/d"),
			"mv a/g a/h":   mv("a/g", "a/h"),
			"xchg a/f b/d": rename2("a/f", "b/d", unix.RENAME_EXCHANGE),
			"xchg b/d a/f": rename2("b/d", "a/f", unix.RENAME_EXCHANGE),
			"xchg a/f a/f": rename2("a/f", "a/f", unix.RENAME_EXCHANGE),
			"read a/f":     func(t *check.T) error { return fixture.OpenRead(t.Path("a/f")) },
		}
		all := fsLayerSpec{referHandled, []fixture.Rule{fixture.On("", referHandled)}}
		rows := []layeredMove{
			// A file and a directory swap places across two directories:
			// under two layers that grant the same on both, allowed, in
			// either order of the arguments.
			{name: "file_directory_exchange_equal_rights_allowed", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights), fixture.On("b", moveRights)}}},
				ops:    []string{"exchange", "xchg a/f b/d", "exchange_back", "xchg a/f b/d"},
				want:   constant("exchange=ok exchange_back=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_exdev_layers_exchange2", "fs_test.c:layout1.reparent_exdev_layers_exchange3"}},
			// The second layer grants READ_FILE on b only: the file moving
			// into b would gain it (EXDEV); the directory moving into a
			// loses it, which alone would be allowed. Both argument orders.
			{name: "file_directory_exchange_widening_exdev", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights), fixture.On("b", moveRights|fixture.ARead)}}},
				ops:    []string{"exchange", "xchg a/f b/d", "inverted", "xchg b/d a/f"},
				want:   referOr("exchange=EXDEV inverted=EXDEV", "exchange=ok inverted=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_exdev_layers_exchange2", "fs_test.c:layout1.reparent_exdev_layers_exchange3", "fs_test.c:layout1.reparent_exdev_layers_exchange1"}},
			// The second layer lacks MAKE_DIR on a, where the directory
			// would land: EACCES, in both argument orders.
			{name: "file_directory_exchange_without_make_dir_eacces", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights&^fixture.AMkDir), fixture.On("b", moveRights)}}},
				ops:    []string{"exchange", "xchg a/f b/d", "inverted", "xchg b/d a/f"},
				want:   referOr("exchange=EACCES inverted=EACCES", "exchange=ok inverted=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_exdev_layers_exchange2", "fs_test.c:layout1.reparent_exdev_layers_exchange3"}},
			// The file leaving a needs REMOVE_FILE there, the directory
			// leaving b REMOVE_DIR there: the other one does not stand in.
			{name: "file_directory_exchange_remove_dir_for_the_file_eacces", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights&^fixture.ARmFile), fixture.On("b", moveRights)}}},
				ops:    []string{"exchange", "xchg a/f b/d", "inverted", "xchg b/d a/f"},
				want:   referOr("exchange=EACCES inverted=EACCES", "exchange=ok inverted=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_remove"}},
			{name: "file_directory_exchange_remove_file_for_the_directory_eacces", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights), fixture.On("b", moveRights&^fixture.ARmDir)}}},
				ops:    []string{"exchange", "xchg a/f b/d", "inverted", "xchg b/d a/f"},
				want:   referOr("exchange=EACCES inverted=EACCES", "exchange=ok inverted=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_remove"}},
			// A file renamed onto a directory: the domain's EACCES (no
			// MAKE_REG in b) comes before the VFS's EISDIR, which the same
			// rename gets where the domain allows it.
			{name: "file_onto_directory_eacces_before_eisdir", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights), fixture.On("b", moveRights&^fixture.AMkReg)}}},
				ops:    []string{"rename", "mv a/f b/d"},
				want:   referOr("rename=EACCES", "rename=EISDIR"),
				mirror: []string{"fs_test.c:layout1.rename_file"}},
			{name: "file_onto_directory_with_rights_eisdir", layout: []string{"a/f", "b/d/g"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", moveRights), fixture.On("b", moveRights)}}},
				ops:    []string{"rename", "mv a/f b/d"},
				want:   constant("rename=EISDIR"),
				mirror: []string{"fs_test.c:layout1.rename_file"}},
			// A second layer that handles MAKE_DIR (not REFER) and grants it
			// on both directories: a directory move across them is EXDEV
			// (that layer cannot grant REFER), one within a is allowed.
			{name: "second_layer_make_dir_without_refer_exdev", layout: []string{"a/d/f", "a/e/", "b/"},
				layers: []fsLayerSpec{all, {fixture.AMkDir, []fixture.Rule{fixture.On("a", fixture.AMkDir), fixture.On("b", fixture.AMkDir)}}},
				ops:    []string{"cross", "mv a/d b/d", "same_dir", "mv a/e a/e2"},
				want:   deniesReparenting("cross=EXDEV same_dir=ok", "cross=EXDEV same_dir=ok", "cross=ok same_dir=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_exdev_layers_rename1"}},
			// The second layer grants MAKE_DIR on a only: the move into b
			// lacks both REFER and MAKE_DIR there, and EACCES wins over
			// EXDEV although the two come from different layers' rules.
			{name: "second_layer_eacces_over_exdev", layout: []string{"a/d/f", "a/e/", "b/"},
				layers: []fsLayerSpec{all, {fixture.AMkDir, []fixture.Rule{fixture.On("a", fixture.AMkDir)}}},
				ops:    []string{"cross", "mv a/d b/d", "same_dir", "mv a/e a/e2"},
				want:   deniesReparenting("cross=EACCES same_dir=ok", "cross=EACCES|EXDEV same_dir=ok", "cross=ok same_dir=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_exdev_layers_rename2"}},
			// The REFER layer first, then a layer that neither handles nor
			// grants REFER: the reparenting is denied (EXDEV), the rename
			// within a directory is not.
			{name: "refer_layer_first_then_layer_without_refer_exdev", layout: []string{"a/f", "a/g", "b/"},
				layers: []fsLayerSpec{{referHandled, []fixture.Rule{fixture.On("a", referHandled), fixture.On("b", referHandled)}}, {fixture.ARead, []fixture.Rule{fixture.On("", fixture.ARead)}}},
				ops:    []string{"cross", "mv a/f b/f", "same_dir", "mv a/g a/h"},
				want:   deniesReparenting("cross=EXDEV same_dir=ok", "cross=EXDEV same_dir=ok", "cross=ok same_dir=ok"),
				mirror: []string{"fs_test.c:layout1.refer_denied_by_default1", "fs_test.c:layout1.refer_denied_by_default3"}},
			// Exchanging a file with itself still needs what an exchange in
			// its directory needs: without REMOVE_FILE, EACCES; with it, ok.
			{name: "same_file_exchange_without_remove_file_eacces", layout: []string{"a/f"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", fixture.ARead|fixture.AMkReg)}}},
				ops:    []string{"exchange", "xchg a/f a/f"},
				want:   byLibABI(check.ABILandlock, "exchange=EACCES", "exchange=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_rename", "fs_test.c:layout1.rename_file"}},
			{name: "same_file_exchange_with_remove_file_allowed", layout: []string{"a/f"},
				layers: []fsLayerSpec{all, {referHandled, []fixture.Rule{fixture.On("a", fixture.ARead|fixture.AMkReg|fixture.ARmFile)}}},
				ops:    []string{"exchange", "xchg a/f a/f", "read", "read a/f"},
				want:   constant("exchange=ok read=ok"),
				mirror: []string{"fs_test.c:layout1.reparent_rename"}},
		}
		for _, r := range rows {
			check.Register(r.caseFor(ops))
		}
	})
}
