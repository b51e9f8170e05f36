package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Audit records per behaviour (Documentation/admin-guide/LSM/
// landlock.rst, "Record types"): the blocker of every filesystem right
// with the object the record names, the two records of a refused link,
// the device ioctl, network blockers, and a domain's deallocation record
// with its denial count. Expectations: from ABI 7 (audit) and the ABI of
// the right; before, the decision with no record.

// auditCheck is one record check: the records chosen, shown with the
// fields keys (a known value named by vars, as for the trace events).
// sample is a record in the documented format, for the unit test.
type auditCheck struct {
	typ    int
	keys   []string
	sample string
}

func (c auditCheck) observe(recs []fixture.AuditRecord, match func(fixture.AuditRecord) bool, vars traceVars) string {
	var out []string
	for _, r := range recs {
		if r.Type != c.typ || (match != nil && !match(r)) {
			continue
		}
		parts := []string{}
		for _, k := range c.keys {
			v, ok := r.Fields[k]
			if !ok {
				parts = append(parts, k+"?")
				continue
			}
			kv := k + "=" + v
			if s, ok := vars[kv]; ok {
				kv = s
			}
			parts = append(parts, kv)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if len(out) == 0 {
		return "records=0"
	}
	return fmt.Sprintf("records=%d: %s", len(out), strings.Join(out, "; "))
}

var (
	achFS = auditCheck{fixture.AuditLandlockAccess, []string{"domain", "blockers", "path", "ino"},
		`audit(1729738800.221:34): domain=1a6fdc679 blockers=fs.write_file path="/etc/passwd" dev="vda2" ino=143821`}
	achIoctl = auditCheck{fixture.AuditLandlockAccess, []string{"domain", "blockers", "path", "ioctlcmd"},
		`audit(1729738800.221:34): domain=1a6fdc679 blockers=fs.ioctl_dev path="/dev/zero" dev="devtmpfs" ino=4 ioctlcmd=0x541b`}
	achNet = auditCheck{fixture.AuditLandlockAccess, []string{"domain", "blockers"},
		`audit(1729738800.221:34): domain=1a6fdc679 blockers=net.bind_tcp saddr=127.0.0.1 src=4242`}
	achDealloc = auditCheck{fixture.AuditLandlockDomain, []string{"domain", "status", "denials"},
		`audit(1729738800.324:31): domain=1a6fdc66f status=deallocated denials=1`}
)

// auditChecks is every record check, for the unit test.
var auditChecks = []auditCheck{achFS, achIoctl, achNet, achDealloc}

// enforcerDomain names $dom the domain an "allocated" record says this
// process created.
func enforcerDomain(vars traceVars, recs []fixture.AuditRecord) {
	for _, r := range recs {
		if r.Type == fixture.AuditLandlockDomain && r.Fields["status"] == "allocated" && r.Fields["pid"] == strconv.Itoa(os.Getpid()) {
			vars.set("domain", r.Fields["domain"], "dom")
		}
	}
}

// fsVars names path's inode and path as $name.
func fsVars(vars traceVars, path, name string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	vars.set("ino", strconv.FormatUint(st.Ino, 10), name)
	vars.set("path", path, name)
	return nil
}

// under keeps the records about paths under root.
func under(root string) func(fixture.AuditRecord) bool {
	return func(r fixture.AuditRecord) bool { return strings.HasPrefix(r.Fields["path"], root+"/") }
}

// blockerRow is one filesystem right: its fixture, the denied action,
// and the object the record names ("" for the case directory d).
type blockerRow struct {
	right   string // the name in the ABI table
	prep    func(t *check.T, d string) error
	act     func(d string) error
	object  string // relative to d; "." for d itself
	mirrors string
}

func mknodIn(mode uint32, dev int) func(d string) error {
	return func(d string) error { return unix.Mknod(filepath.Join(d, "n"), mode|0o600, dev) }
}

// renameDirs makes the two directories of a rename case under d, src with
// a file in it, and the trace variables that name them ($src, $dst).
func renameDirs(d string) (src, dst string, vars traceVars, err error) {
	src, dst, vars = filepath.Join(d, "src"), filepath.Join(d, "dst"), traceVars{}
	for _, p := range []string{src, dst} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return "", "", nil, err
		}
	}
	if err := fileIn(src); err != nil {
		return "", "", nil, err
	}
	if err := fsVars(vars, src, "src"); err != nil {
		return "", "", nil, err
	}
	return src, dst, vars, fsVars(vars, dst, "dst")
}

// fileIn writes the file "f" in d.
func fileIn(d string) error { return os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644) }

func prepFile(_ *check.T, d string) error { return fileIn(d) }

var blockerRows = []blockerRow{
	{"execute", func(_ *check.T, d string) error { return fixture.WriteExecutable(filepath.Join(d, "f")) }, func(d string) error { return fixture.Execute(filepath.Join(d, "f")) }, "f", "audit_layout1.execute_read"},
	{"write_file", prepFile, func(d string) error { return fixture.OpenWrite(filepath.Join(d, "f")) }, "f", "audit_layout1.write_file"},
	{"read_file", prepFile, func(d string) error { return fixture.OpenRead(filepath.Join(d, "f")) }, "f", "audit_layout1.read_file"},
	{"read_dir", nil, func(d string) error { return fixture.OpenClose(d, openDirFlags) }, ".", "audit_layout1.read_dir"},
	{"remove_dir", func(_ *check.T, d string) error { return os.Mkdir(filepath.Join(d, "s"), 0o755) }, func(d string) error { return unix.Rmdir(filepath.Join(d, "s")) }, ".", "audit_layout1.remove_dir"},
	{"remove_file", prepFile, func(d string) error { return unix.Unlink(filepath.Join(d, "f")) }, ".", "audit_layout1.remove_file"},
	{"make_char", nil, mknodIn(unix.S_IFCHR, int(unix.Mkdev(1, 3))), ".", "audit_layout1.make_char"},
	{"make_dir", nil, func(d string) error { return unix.Mkdir(filepath.Join(d, "n"), 0o755) }, ".", "audit_layout1.make_dir"},
	{"make_reg", nil, mknodIn(unix.S_IFREG, 0), ".", "audit_layout1.make_reg"},
	{"make_sock", nil, mknodIn(unix.S_IFSOCK, 0), ".", "audit_layout1.make_sock"},
	{"make_fifo", nil, mknodIn(unix.S_IFIFO, 0), ".", "audit_layout1.make_fifo"},
	{"make_block", nil, mknodIn(unix.S_IFBLK, int(unix.Mkdev(7, 0))), ".", "audit_layout1.make_block"},
	{"make_sym", nil, func(d string) error { return unix.Symlink("f", filepath.Join(d, "n")) }, ".", "audit_layout1.make_sym"},
	{"truncate", prepFile, func(d string) error { return unix.Truncate(filepath.Join(d, "f"), 0) }, "f", "audit_layout1.truncate"},
	{"resolve_unix", func(t *check.T, d string) error {
		fd, err := fixture.UnixServer(filepath.Join(d, "s"), unix.SOCK_STREAM)
		if err == nil {
			t.Cleanup(func() { unix.Close(fd) })
		}
		return err
	}, func(d string) error { return fixture.UnixConnect(filepath.Join(d, "s"), unix.SOCK_STREAM) }, "s", "audit_layout1.resolve_unix"},
}

// fsAuditCase runs a case with an audit session on a fresh case
// directory d (symbolic links resolved).
func fsAuditCase(name string, want func(check.Env) string, run func(t *check.T, a *fixture.AuditSession, d string) string) check.Case {
	c := auditCase(name, nil, want, func(t *check.T, a *fixture.AuditSession) string {
		d, err := filepath.EvalSymlinks(t.Root())
		if err != nil {
			return check.SetupFailed(err)
		}
		return run(t, a, d)
	})
	c.Covers = []string{"sec.6", "obs.2"}
	return c
}

func init() {
	check.Build(func() {
		for _, r := range blockerRows {
			r := r
			f := check.FeatureNamed(check.FSRight, r.right)
			want := check.Sys(func(e check.Env) string {
				if e.ABI < f.ABI {
					return "EINVAL" // an unknown handled right
				}
				if e.ABI < check.ABILogFlags {
					return "act=EACCES records=0"
				}
				return "act=EACCES records=1: domain=$dom blockers=fs." + r.right + " path=$obj ino=$obj"
			})
			c := fsAuditCase("fs_blocker_"+r.right, want, func(t *check.T, a *fixture.AuditSession, d string) string {
				if r.prep != nil {
					if err := r.prep(t, d); err != nil {
						return check.SetupFailed(err)
					}
				}
				obj := filepath.Join(d, r.object)
				if r.object == "." {
					obj = d
				}
				vars := traceVars{}
				if err := fsVars(vars, obj, "obj"); err != nil {
					return check.SetupFailed(err)
				}
				fd, err := fixture.Create(fixture.Attr(8, f.Value), 0)
				if err != nil {
					return check.Outcome(err)
				}
				err = fixture.Restrict(t, fd, 0)
				unix.Close(fd)
				if err != nil {
					return "restrict=" + check.Outcome(err)
				}
				o := check.Outcome(r.act(d))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				enforcerDomain(vars, recs)
				match := func(rec fixture.AuditRecord) bool { p := rec.Fields["path"]; return p == d || under(d)(rec) }
				return "act=" + o + " " + achFS.observe(recs, match, vars)
			}).Mirroring("fs_test.c:"+r.mirrors).Showing(f.ID(), check.ShowsDenied)
			if r.right == "read_dir" {
				// Run on a case thread, not the main one: $dom needs the
				// allocated record to name the process (TGID).
				c = c.Mirroring("audit_test.c:audit.thread")
			}
			check.Register(c)
		}

		// A link refused for REFER and MAKE_REG: two records, the source
		// directory's (refer) and the destination's (make_reg, refer).
		check.Register(fsAuditCase("fs_blockers_of_a_refused_link", check.Sys(func(e check.Env) string {
			if e.ABI < check.ABIRefer {
				return "EINVAL"
			}
			if e.ABI < check.ABILogFlags {
				return "link=EACCES records=0"
			}
			return "link=EACCES records=2: domain=$dom blockers=fs.refer path=$src ino=$src; domain=$dom blockers=fs.make_reg,fs.refer path=$dst ino=$dst"
		}), func(t *check.T, a *fixture.AuditSession, d string) string {
			src, dst, vars, err := renameDirs(d)
			if err != nil {
				return check.SetupFailed(err)
			}
			refer := check.FeatureNamed(check.FSRight, "refer").Value
			if e := enforceAttr(t, fixture.Attr(8, refer|uint64(unix.LANDLOCK_ACCESS_FS_MAKE_REG)), 0, nil); e != "" {
				return e
			}
			o := check.Outcome(unix.Link(filepath.Join(src, "f"), filepath.Join(dst, "f")))
			recs, err := a.Mark()
			if err != nil {
				return check.SetupFailedf("audit records: %v", err)
			}
			enforcerDomain(vars, recs)
			return "link=" + o + " " + achFS.observe(recs, under(d), vars)
		}).Mirroring("fs_test.c:audit_layout1.refer_make"))

		// A device ioctl: the record names the command.
		check.Register(fsAuditCase("fs_blocker_ioctl_dev_names_command", check.Sys(func(e check.Env) string {
			if o, ok := attrRefusal(e, 8, check.ABIIoctlDev); ok {
				return o
			}
			if e.ABI < check.ABILogFlags {
				return "ioctl=EACCES records=0"
			}
			return "ioctl=EACCES records=1: domain=$dom blockers=fs.ioctl_dev path=/dev/zero ioctlcmd=0x541b"
		}), func(t *check.T, a *fixture.AuditSession, d string) string {
			fd, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailed(err)
			}
			unix.Close(fd)
			ioctlDev := check.FeatureNamed(check.FSRight, "ioctl_dev").Value
			if e := enforceAttr(t, fixture.Attr(8, ioctlDev), 0, nil); e != "" {
				return e
			}
			// Opened after the enforcement: IOCTL_DEV is checked on the
			// file opened in the domain.
			fd, err = unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return "open=" + check.Outcome(err)
			}
			o := check.Outcome(fionread(fd))
			unix.Close(fd)
			recs, err := a.Mark()
			if err != nil {
				return check.SetupFailedf("audit records: %v", err)
			}
			vars := traceVars{}
			enforcerDomain(vars, recs)
			return "ioctl=" + o + " " + achIoctl.observe(recs, func(r fixture.AuditRecord) bool { return r.Fields["path"] == "/dev/zero" }, vars)
		}).Mirroring("fs_test.c:audit_layout1.ioctl_dev"))

		// Network records: the blocker, and the port and address the
		// denied call named (the field names are those of the kernel's
		// common network audit data; any field holding them counts).
		for _, op := range []string{"bind", "connect"} {
			op := op
			check.Register(fsAuditCase("net_"+op+"_record", check.Sys(func(e check.Env) string {
				if o, ok := attrRefusal(e, 16, check.ABINet); ok {
					return o
				}
				if e.ABI < check.ABILogFlags {
					return op + "=EACCES records=0"
				}
				return fmt.Sprintf("%s=EACCES records=1: domain=$dom blockers=net.%s_tcp names port=yes address=yes", op, op)
			}), func(t *check.T, a *fixture.AuditSession, _ string) string {
				var port int
				var err error
				var right uint64
				if op == "bind" {
					port, err = fixture.FreePort(fixture.IPv4, unix.SOCK_STREAM, 0)
					right = netBindTCP
				} else {
					var srv int
					srv, port, err = fixture.Server(fixture.IPv4, unix.SOCK_STREAM, 0)
					if err == nil {
						defer unix.Close(srv)
					}
					right = netConnTCP
				}
				if err != nil {
					return check.SetupFailed(err)
				}
				if e := enforceAttr(t, fixture.Attr(16, 0, right), 0, nil); e != "" {
					return e
				}
				var o string
				if op == "bind" {
					o = check.Outcome(fixture.BindOn(fixture.IPv4, unix.SOCK_STREAM, 0, port))
				} else {
					o = check.Outcome(fixture.ConnectTo(fixture.IPv4, unix.SOCK_STREAM, 0, port))
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				vars := traceVars{}
				enforcerDomain(vars, recs)
				return op + "=" + o + " " + netRecords(recs, port, "127.0.0.1", vars)
			}).Mirroring("net_test.c:audit." + op).Covering("§3.8"))
		}

		// Deallocation: when the last thread of a domain is gone, a
		// "deallocated" record counts every denial of the domain, logged
		// or not (a quiet rule keeps some out of the log). Waited for
		// with a bounded poll: it comes after an RCU grace period.
		for _, r := range []struct {
			name            string
			need            int
			quiet           bool
			records, denies int
		}{
			{"deallocation_record_counts_denials", check.ABILogFlags, false, 3, 3},
			{"deallocation_record_counts_quiet_denials", check.ABIQuiet, true, 1, 3},
		} {
			r := r
			check.Register(fsAuditCase(r.name, check.Sys(func(e check.Env) string {
				if r.quiet && e.ABI < r.need {
					return "E2BIG" // the quiet fields
				}
				if e.ABI < r.need {
					return "open=EACCES,EACCES,EACCES access records=0 no deallocation record"
				}
				return fmt.Sprintf("open=EACCES,EACCES,EACCES access records=%d records=1: domain=$dom status=deallocated denials=%d", r.records, r.denies)
			}), func(t *check.T, a *fixture.AuditSession, d string) string {
				loud, quiet := filepath.Join(d, "loud"), filepath.Join(d, "quiet")
				for _, p := range []string{loud, quiet} {
					if err := os.Mkdir(p, 0o755); err != nil {
						return check.SetupFailed(err)
					}
				}
				l := rawLayer{fs: fsReadDir}
				targets := []string{loud, loud, loud}
				if r.quiet {
					l = rawLayer{fs: fsReadDir, quietFS: fsReadDir, quietOn: []string{quiet}}
					targets = []string{loud, quiet, quiet}
				}
				o, _ := inThrowawayThread(func() string {
					if e := enforceLayer(t, l); e != "" {
						return e
					}
					var outs []string
					for _, p := range targets {
						outs = append(outs, check.Outcome(fixture.OpenClose(p, openDirFlags)))
					}
					return "open=" + strings.Join(outs, ",")
				})
				if !strings.HasPrefix(o, "open=") {
					return o
				}
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				vars := traceVars{}
				enforcerDomain(vars, recs)
				access := 0
				var dom string
				for _, rec := range recs {
					if rec.Type == fixture.AuditLandlockAccess && under(d)(rec) {
						access++
						dom = rec.Fields["domain"]
					}
				}
				if dom == "" {
					return fmt.Sprintf("%s access records=0 no deallocation record", o)
				}
				mine := func(rec fixture.AuditRecord) bool {
					return rec.Type == fixture.AuditLandlockDomain && rec.Fields["domain"] == dom && rec.Fields["status"] == "deallocated"
				}
				// The first read may hold the record already: the thread
				// exits as soon as it has handed its outcome over, and a
				// uniprocessor kernel often frees its domain (RCU, then a
				// work item) before this thread reads. A record dropped
				// there would never come again.
				seen := recs
				deadline := time.Now().Add(freeWait)
				for !containsRecord(seen, mine) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
					more, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					seen = append(seen, more...)
				}
				return fmt.Sprintf("%s access records=%d %s", o, access, achDealloc.observe(seen, mine, vars))
			}))
		}
	})
}

func hasValue(r fixture.AuditRecord, v string) bool {
	for _, x := range r.Fields {
		if x == v {
			return true
		}
	}
	return false
}

func containsRecord(recs []fixture.AuditRecord, match func(fixture.AuditRecord) bool) bool {
	for _, r := range recs {
		if match(r) {
			return true
		}
	}
	return false
}

// attrRefusal is the refusal of a ruleset attribute of size bytes whose
// bits come with ABI bitABI: E2BIG where the kernel does not know the
// fields (non-zero bytes past its struct), EINVAL where it knows them
// but not the bits.
func attrRefusal(e check.Env, size, bitABI int) (string, bool) {
	fieldABI := map[int]int{8: check.ABILandlock, 16: check.ABINet, 24: check.ABIScoped, 48: check.ABIQuiet}[size]
	if e.ABI < fieldABI {
		return "E2BIG", true
	}
	if e.ABI < bitABI {
		return "EINVAL", true
	}
	return "", false
}

// netRecords shows the network records naming port (in any field) and
// whether they name the address too.
func netRecords(recs []fixture.AuditRecord, port int, addr string, vars traceVars) string {
	p := strconv.Itoa(port)
	mine := func(r fixture.AuditRecord) bool {
		return strings.HasPrefix(r.Fields["blockers"], "net.") && hasValue(r, p)
	}
	obs := achNet.observe(recs, mine, vars)
	if obs == "records=0" {
		return obs
	}
	named := "no"
	for _, r := range recs {
		if mine(r) && hasValue(r, addr) {
			named = "yes"
		}
	}
	return obs + " names port=yes address=" + named
}
