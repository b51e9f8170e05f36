package suites

import (
	"os"
	"path/filepath"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Quiet marks and mount points: a mark on a directory above a mount
// covers what is below the mount (the walk goes on through the mount
// point), a mark on a directory hidden under a mount is ignored (the
// walk skips hidden mount points). Renames inside a tmpfs mounted on
// d/m, in a private mount namespace.

func init() {
	check.Build(func() {
		for _, r := range []struct {
			name, mirror   string
			markMountpoint bool // else the case directory above the mount
			logged         bool
		}{
			{"rename_quiet_mark_above_mount_covers_it", "audit_quiet_rename.quiet_on_parent_mount", false, false},
			{"rename_quiet_mark_hidden_under_mount_ignored", "audit_quiet_rename.quiet_behind_mountpoint_ignored", true, true},
		} {
			r := r
			want := check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIQuiet {
					return "E2BIG"
				}
				if !r.logged {
					return "rename=EACCES records=0"
				}
				return "rename=EACCES records=2: domain=$dom blockers=fs.remove_file,fs.refer path=$src ino=$src; domain=$dom blockers=fs.make_reg,fs.refer path=$dst ino=$dst"
			})
			c := fsAuditCase(r.name, want, func(t *check.T, a *fixture.AuditSession, d string) string {
				m := filepath.Join(d, "m")
				if err := os.Mkdir(m, 0o755); err != nil {
					return check.SetupFailed(err)
				}
				mark := d
				if r.markMountpoint {
					mark = m
				}
				// The mark's object is taken before the mount hides it.
				markFD, err := unix.Open(mark, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(markFD)
				if err := unix.Mount("tmpfs", m, "tmpfs", 0, "size=1m"); err != nil {
					return check.SetupFailedf("mount tmpfs: %v", err)
				}
				vars := traceVars{}
				src, dst, err := twoDirs(m, vars)
				if err != nil {
					return check.SetupFailed(err)
				}
				all := renameRights | fsRefer
				if e := enforceAttr(t, fixture.Attr(48, all, 0, 0, all), 0, func(fd int) error {
					return fixture.AddPath(fd, 0, markFD, unix.LANDLOCK_ADD_RULE_QUIET)
				}); e != "" {
					return e
				}
				o := check.Outcome(unix.Rename(filepath.Join(src, "f"), filepath.Join(dst, "f")))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				enforcerDomain(vars, recs)
				return "rename=" + o + " " + achFS.observe(recs, under(d), vars)
			}).Mirroring("fs_test.c:"+r.mirror).Covering("§3.14", "fs.3")
			check.Register(withMountNS(c, c.Run))
		}
	})
}
