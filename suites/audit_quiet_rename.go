package suites

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Quiet marks on renames (ABI 10). A refused rename writes a record per
// directory that denies (the source loses an entry, the destination gets
// one; within one directory, one record). landlock.h, LANDLOCK_ADD_RULE_
// QUIET: a record is suppressed when the innermost layer that denies it
// denies only rights of its quiet mask and marks the record's object (or
// a parent) quiet. The expectation of each row is computed from that
// rule, per directory and layer.

const renameRights = fsRemoveFile | fsMakeReg // plus REFER across directories

// qrLayer is one layer of a quiet rename row: the rights it grants on
// "src" and "dst", what it marks quiet ("src", "dst", "src/f"), and its
// quiet mask (all handled rights unless set).
type qrLayer struct {
	grantSrc, grantDst uint64
	quiet              []string
	quietMask          uint64
}

type qrRow struct {
	name, mirror string
	sameDir      bool
	exchange     bool // RENAME_EXCHANGE of src/f and dst/g: each side needs every right
	layers       []qrLayer
}

// objects of a rename: the directories and what each needs.
func (r qrRow) objects() []struct {
	name string
	need uint64
} {
	if r.sameDir {
		return []struct {
			name string
			need uint64
		}{{"src", renameRights}}
	}
	if r.exchange {
		return []struct {
			name string
			need uint64
		}{{"src", renameRights | fsRefer}, {"dst", renameRights | fsRefer}}
	}
	return []struct {
		name string
		need uint64
	}{{"src", fsRemoveFile | fsRefer}, {"dst", fsMakeReg | fsRefer}}
}

func (r qrRow) handled() uint64 {
	if r.sameDir {
		return renameRights
	}
	return renameRights | fsRefer
}

// want computes the outcome and the records from the documented rule.
func (r qrRow) want() string {
	var recs []string
	denied := false
	onlyRefer := true
	for _, o := range r.objects() {
		var missing uint64
		innermost := -1
		for i, l := range r.layers {
			grant := l.grantSrc
			if o.name == "dst" {
				grant = l.grantDst
			}
			if m := o.need & r.handled() &^ grant; m != 0 {
				missing |= m
				innermost = i
			}
		}
		if innermost < 0 {
			continue
		}
		denied = true
		if missing&^fsRefer != 0 {
			onlyRefer = false
		}
		l := r.layers[innermost]
		mask := l.quietMask
		if mask == 0 {
			mask = r.handled()
		}
		grant := l.grantSrc
		if o.name == "dst" {
			grant = l.grantDst
		}
		layerDenied := o.need & r.handled() &^ grant
		quiet := layerDenied&^mask == 0 && contains(l.quiet, o.name)
		if !quiet {
			recs = append(recs, fmt.Sprintf("domain=$dom blockers=%s path=$%s ino=$%s", blockerNames(missing), o.name, o.name))
		}
	}
	outcome := "rename=ok"
	if denied {
		outcome = "rename=EACCES"
		if onlyRefer {
			outcome = "rename=EXDEV"
		}
	}
	if len(recs) == 0 {
		return outcome + " records=0"
	}
	return fmt.Sprintf("%s records=%d: %s", outcome, len(recs), strings.Join(recs, "; "))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// blockerNames names the rights of m as the records do, in bit order.
func blockerNames(m uint64) string {
	var out []string
	for _, f := range check.FeaturesOf(check.FSRight) {
		if m&f.Value != 0 {
			out = append(out, "fs."+f.Name)
		}
	}
	return strings.Join(out, ",")
}

func init() {
	check.Build(func() {
		all := renameRights | fsRefer
		rows := []qrRow{
			{name: "rename_allowed_no_record", mirror: "audit_quiet_rename.rename_ok",
				layers: []qrLayer{{grantSrc: all, grantDst: all, quiet: []string{"src", "dst"}}}},
			{name: "rename_quiet_mask_refer_only_logs_both", mirror: "audit_quiet_rename.only_quiet_refer",
				layers: []qrLayer{{quiet: []string{"src", "dst"}, quietMask: fsRefer}}},
			{name: "rename_source_allowed_destination_quiet", mirror: "audit_quiet_rename.source_allow_dest_quiet",
				layers: []qrLayer{{grantSrc: all, quiet: []string{"dst"}}}},
			{name: "rename_source_quiet_destination_allowed", mirror: "audit_quiet_rename.source_quiet_dest_allow",
				layers: []qrLayer{{grantDst: all, quiet: []string{"src"}}}},
			{name: "rename_same_directory_quiet", mirror: "audit_quiet_rename.quiet_same_dir", sameDir: true,
				layers: []qrLayer{{quiet: []string{"src"}}}},
			{name: "rename_quiet_mark_on_file_ignored", mirror: "audit_quiet_rename.quiet_flag_on_file_ignored",
				layers: []qrLayer{{quiet: []string{"src/f"}}}},
			{name: "rename_same_directory_quiet_mark_on_file_ignored", mirror: "audit_quiet_rename.quiet_flag_on_file_ignored_same_dir", sameDir: true,
				layers: []qrLayer{{quiet: []string{"src/f"}}}},
			// Two layers marking different directories quiet: the inner
			// layer, denying too, decides for each directory.
			{name: "rename_two_layers_outer_quiet_source_inner_quiet_destination", mirror: "audit_quiet_rename.two_layers_different_quiet1",
				layers: []qrLayer{{quiet: []string{"src"}}, {quiet: []string{"dst"}}}},
			{name: "rename_two_layers_outer_quiet_destination_inner_quiet_source", mirror: "audit_quiet_rename.two_layers_different_quiet2",
				layers: []qrLayer{{quiet: []string{"dst"}}, {quiet: []string{"src"}}}},
			{name: "rename_two_layers_inner_quiet_mask_refer_only", mirror: "audit_quiet_rename.two_layers_different_quiet3",
				layers: []qrLayer{{quiet: []string{"src", "dst"}}, {quiet: []string{"src", "dst"}, quietMask: fsRefer}}},
			{name: "exchange_quiet_source_only", mirror: "audit_quiet_rename.rename_xchg", exchange: true,
				layers: []qrLayer{{quiet: []string{"src"}}}},
			{name: "rename_quiet_outer_layer_plain_inner_layer_logs", mirror: "audit_quiet_rename.first_layer_quiet_deny_all_second_layer_not_quiet_deny_all",
				layers: []qrLayer{{quiet: []string{"src", "dst"}}, {}}},
			{name: "rename_quiet_outer_layer_inner_quiet_source_only", mirror: "audit_quiet_rename.first_layer_quiet_deny_all_second_layer_dest_not_quiet",
				layers: []qrLayer{{quiet: []string{"src", "dst"}}, {quiet: []string{"src"}}}},
		}
		for _, r := range rows {
			r := r
			want := check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIQuiet {
					return "E2BIG"
				}
				return r.want()
			})
			check.Register(fsAuditCase(r.name, want, func(t *check.T, a *fixture.AuditSession, d string) string {
				vars := traceVars{}
				src, dst, err := twoDirs(d, vars)
				if err != nil {
					return check.SetupFailed(err)
				}
				paths := map[string]string{"src": src, "dst": dst, "src/f": filepath.Join(src, "f")}
				for _, l := range r.layers {
					mask := l.quietMask
					if mask == 0 {
						mask = r.handled()
					}
					e := enforceAttr(t, fixture.Attr(48, r.handled(), 0, 0, mask), 0, func(fd int) error {
						for _, q := range l.quiet {
							if err := quietOn(fd, paths[q]); err != nil {
								return err
							}
						}
						if l.grantSrc != 0 {
							if err := pathRule(l.grantSrc&r.handled(), src)(fd); err != nil {
								return err
							}
						}
						if l.grantDst != 0 {
							return pathRule(l.grantDst&r.handled(), dst)(fd)
						}
						return nil
					})
					if e != "" {
						return e
					}
				}
				to := filepath.Join(dst, "f")
				if r.sameDir {
					to = filepath.Join(src, "g")
				}
				var err2 error
				if r.exchange {
					err2 = unix.Renameat2(unix.AT_FDCWD, filepath.Join(src, "f"), unix.AT_FDCWD, filepath.Join(dst, "g"), unix.RENAME_EXCHANGE)
				} else {
					err2 = unix.Rename(filepath.Join(src, "f"), to)
				}
				o := check.Outcome(err2)
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				enforcerDomain(vars, recs)
				return "rename=" + o + " " + achFS.observe(recs, under(d), vars)
			}).Mirroring("fs_test.c:" + r.mirror).Covering("§3.14"))
		}
	})
}

// quietOn marks path quiet in the ruleset fd.
func quietOn(fd int, path string) error {
	p, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(p)
	return fixture.AddPath(fd, 0, p, unix.LANDLOCK_ADD_RULE_QUIET)
}
