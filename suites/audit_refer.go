package suites

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Audit records of reparenting (REFER: link, rename, exchange), of a
// whiteout, of a mount, and of UDP sends and autobind.

const (
	fsRemoveFile = uint64(unix.LANDLOCK_ACCESS_FS_REMOVE_FILE)
	fsMakeReg    = uint64(unix.LANDLOCK_ACCESS_FS_MAKE_REG)
	fsMakeChar   = uint64(unix.LANDLOCK_ACCESS_FS_MAKE_CHAR)
)

var (
	fsRefer    = check.FeatureNamed(check.FSRight, "refer").Value
	udpSendBit = check.FeatureNamed(check.NetRight, "connect_send_udp").Value
)

// twoDirs makes d/src (with the file f) and d/dst, and names their
// paths and inodes $src and $dst.
func twoDirs(d string, vars traceVars) (src, dst string, err error) {
	src, dst = filepath.Join(d, "src"), filepath.Join(d, "dst")
	for _, p := range []string{src, dst} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return "", "", err
		}
	}
	if err := fileIn(src); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dst, "g"), nil, 0o644); err != nil {
		return "", "", err
	}
	if err := fsVars(vars, src, "src"); err != nil {
		return "", "", err
	}
	return src, dst, fsVars(vars, dst, "dst")
}

func init() {
	check.Build(func() {
		rows := []struct {
			name, mirror string
			handled      uint64
			grantSrc     uint64 // a rule on the source directory
			op           func(src, dst string) error
			opName       string
			want         string // from ABI 7
		}{
			{"refer_link_records_both_directories", "audit_layout1.refer_handled", fsRefer, 0,
				func(s, d string) error { return unix.Link(filepath.Join(s, "f"), filepath.Join(d, "f")) }, "link",
				"link=EXDEV records=2: domain=$dom blockers=fs.refer path=$src ino=$src; domain=$dom blockers=fs.refer path=$dst ino=$dst"},
			{"refer_rename_records_both_directories", "audit_layout1.refer_rename", fsRefer | fsRemoveFile | fsMakeReg, 0,
				func(s, d string) error { return unix.Rename(filepath.Join(s, "f"), filepath.Join(d, "f")) }, "rename",
				"rename=EACCES records=2: domain=$dom blockers=fs.remove_file,fs.refer path=$src ino=$src; domain=$dom blockers=fs.make_reg,fs.refer path=$dst ino=$dst"},
			{"refer_exchange_records_both_directories", "audit_layout1.refer_exchange", fsRefer | fsRemoveFile | fsMakeReg, 0,
				func(s, d string) error {
					return unix.Renameat2(unix.AT_FDCWD, filepath.Join(s, "f"), unix.AT_FDCWD, filepath.Join(d, "g"), unix.RENAME_EXCHANGE)
				}, "exchange",
				"exchange=EACCES records=2: domain=$dom blockers=fs.remove_file,fs.make_reg,fs.refer path=$src ino=$src; domain=$dom blockers=fs.remove_file,fs.make_reg,fs.refer path=$dst ino=$dst"},
			{"refer_rename_half_denied_one_record", "audit_layout1.refer_rename_half", fsRefer | fsRemoveFile | fsMakeReg, fsRefer | fsRemoveFile | fsMakeReg,
				func(s, d string) error { return unix.Rename(filepath.Join(s, "f"), filepath.Join(d, "f")) }, "rename",
				"rename=EACCES records=1: domain=$dom blockers=fs.make_reg,fs.refer path=$dst ino=$dst"},
		}
		for _, r := range rows {
			r := r
			want := check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIRefer {
					return "EINVAL"
				}
				if e.ABI < check.ABILogFlags {
					op, _, _ := cutSpace(r.want)
					return op + " records=0"
				}
				return r.want
			})
			check.Register(fsAuditCase(r.name, want, func(t *check.T, a *fixture.AuditSession, d string) string {
				vars := traceVars{}
				src, dst, err := twoDirs(d, vars)
				if err != nil {
					return check.SetupFailed(err)
				}
				var rules func(fd int) error
				if r.grantSrc != 0 {
					rules = pathRule(r.grantSrc, src)
				}
				if e := enforceAttr(t, fixture.Attr(8, r.handled), 0, rules); e != "" {
					return e
				}
				o := check.Outcome(r.op(src, dst))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				enforcerDomain(vars, recs)
				return r.opName + "=" + o + " " + achFS.observe(recs, under(d), vars)
			}).Mirroring("fs_test.c:" + r.mirror).Covering("fs.1"))
		}

		// A whiteout (a character device 0:0) is guarded by MAKE_REG
		// (landlock.h, with erratum 4 fixed; MAKE_CHAR before): the
		// record names the right the kernel's errata say it checks.
		check.Register(fsAuditCase("whiteout_records_make_reg", check.Sys(func(e check.Env) string {
			if e.ABI < check.ABILogFlags {
				return "mknod=EACCES records=0"
			}
			blocker := "fs.make_char"
			if e.HasFix(4) {
				blocker = "fs.make_reg"
			}
			return "mknod=EACCES records=1: domain=$dom blockers=" + blocker + " path=$src ino=$src"
		}), func(t *check.T, a *fixture.AuditSession, d string) string {
			vars := traceVars{}
			src, _, err := twoDirs(d, vars)
			if err != nil {
				return check.SetupFailed(err)
			}
			if e := enforceAttr(t, fixture.Attr(8, fsMakeChar|fsMakeReg), 0, nil); e != "" {
				return e
			}
			o := check.Outcome(fixture.Mknod(filepath.Join(src, "wh"), unix.S_IFCHR, 0, 0))
			recs, err := a.Mark()
			if err != nil {
				return check.SetupFailedf("audit records: %v", err)
			}
			enforcerDomain(vars, recs)
			return "mknod=" + o + " " + achFS.observe(recs, under(d), vars)
		}).Mirroring("fs_test.c:audit_layout1.make_whiteout"))

		// A mount under a domain handling filesystem access: the record's
		// blocker is the change_topology request (the name the trace
		// events document for it; the admin guide's list of blockers
		// does not name it), prefixed fs. like every filesystem blocker.
		c := fsAuditCase("mount_records_change_topology", check.Sys(func(e check.Env) string {
			if e.ABI < check.ABILogFlags {
				return "mount=EPERM records=0"
			}
			return "mount=EPERM records=1: domain=$dom blockers=fs.change_topology path=$m ino=$m"
		}), func(t *check.T, a *fixture.AuditSession, d string) string {
			m := filepath.Join(d, "m")
			if err := os.Mkdir(m, 0o755); err != nil {
				return check.SetupFailed(err)
			}
			vars := traceVars{}
			if err := fsVars(vars, m, "m"); err != nil {
				return check.SetupFailed(err)
			}
			if e := enforceAttr(t, fixture.Attr(8, fsMakeDir), 0, nil); e != "" {
				return e
			}
			err := unix.Mount("tmpfs", m, "tmpfs", 0, "size=1m")
			if err == nil {
				unix.Unmount(m, unix.MNT_DETACH)
			}
			o := check.Outcome(err)
			recs, err := a.Mark()
			if err != nil {
				return check.SetupFailedf("audit records: %v", err)
			}
			enforcerDomain(vars, recs)
			match := func(r fixture.AuditRecord) bool { return r.Fields["path"] == m || under(d)(r) }
			return "mount=" + o + " " + achFS.observe(recs, match, vars)
		}).Mirroring("fs_test.c:audit_layout1.mount")
		check.Register(withMountNS(c, c.Run))

		// UDP: a send to a port without CONNECT_SEND_UDP, and the
		// autobind of an unbound socket counted as a bind denial.
		for _, r := range []struct {
			name, mirror string
			handled      uint64
			sendRule     bool
			blocker      string
		}{
			{"udp_sendto_record", "net_test.c:audit.sendmsg", udpSendBit, false, "net.connect_send_udp"},
			{"udp_autobind_recorded_as_bind", "", netBindUDPBit | udpSendBit, true, "net.bind_udp"},
		} {
			r := r
			c := fsAuditCase(r.name, check.Sys(func(e check.Env) string {
				if o, ok := attrRefusal(e, 16, check.ABIUDP); ok {
					return o
				}
				return fmt.Sprintf("sendto=EACCES records=1: domain=$dom blockers=%s", r.blocker)
			}), func(t *check.T, a *fixture.AuditSession, _ string) string {
				srv, port, err := fixture.Server(fixture.IPv4, unix.SOCK_DGRAM, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(srv)
				var rules func(fd int) error
				if r.sendRule {
					rules = func(fd int) error { return fixture.AddPort(fd, udpSendBit, uint64(port), 0) }
				}
				if e := enforceAttr(t, fixture.Attr(16, 0, r.handled), 0, rules); e != "" {
					return e
				}
				o := check.Outcome(fixture.WithSocket(fixture.IPv4, unix.SOCK_DGRAM, 0, func(fd int) error {
					return unix.Sendto(fd, []byte("x"), 0, fixture.IPv4.Addr(port))
				}))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				vars := traceVars{}
				enforcerDomain(vars, recs)
				mine := func(rec fixture.AuditRecord) bool { return rec.Fields["blockers"] == r.blocker }
				return "sendto=" + o + " " + achNet.observe(recs, mine, vars)
			}).Covering("§3.9")
			if r.mirror != "" {
				c = c.Mirroring(r.mirror)
			}
			check.Register(c)
		}
	})
}

// cutSpace splits s at its first space.
func cutSpace(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
