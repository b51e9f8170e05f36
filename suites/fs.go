package suites

import (
	"os"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// fsRight is one filesystem right of the ABI table (by name) and an
// operation that exercises it on a fixture.
type fsRight struct {
	name string
	// deniedSince is the first ABI where the operation is denied without
	// the right; default the right's own ABI.
	deniedSince int
	extra       landlock.AccessFS // other rights the operation needs
	denied      string            // errno of a denial
	allowedAs   string            // outcome when allowed, default "ok"
	root        string            // capability needed, if any
	setup       func(t *check.T) error
	target      func(t *check.T) string // where the rule goes; default the case dir
	op          func(t *check.T) error
}

var fsRights = []fsRight{
	{name: "execute", extra: landlock.FSReadFile,
		setup: func(t *check.T) error { return fixture.WriteExecutable(t.Path("prog")) },
		op:    func(t *check.T) error { return fixture.Execute(t.Path("prog")) }},
	{name: "write_file",
		setup: func(t *check.T) error { t.Files("f"); return nil },
		op:    func(t *check.T) error { return fixture.OpenWrite(t.Path("f")) }},
	{name: "read_file",
		setup: func(t *check.T) error { t.Files("f"); return nil },
		op:    func(t *check.T) error { return fixture.OpenRead(t.Path("f")) }},
	{name: "read_dir",
		setup: func(t *check.T) error { t.Mkdirs("d"); return nil },
		op:    func(t *check.T) error { return fixture.ReadDir(t.Path("d")) }},
	{name: "remove_dir",
		setup: func(t *check.T) error { t.Mkdirs("d"); return nil },
		op:    func(t *check.T) error { return unix.Rmdir(t.Path("d")) }},
	{name: "remove_file",
		setup: func(t *check.T) error { t.Files("f"); return nil },
		op:    func(t *check.T) error { return unix.Unlink(t.Path("f")) }},
	{name: "make_char", root: "CAP_MKNOD",
		op: func(t *check.T) error { return fixture.Mknod(t.Path("c"), unix.S_IFCHR, 1, 3) }},
	{name: "make_dir",
		op: func(t *check.T) error { return unix.Mkdir(t.Path("d"), 0o755) }},
	{name: "make_reg",
		op: func(t *check.T) error { return fixture.Mknod(t.Path("r"), unix.S_IFREG, 0, 0) }},
	{name: "make_sock",
		op: func(t *check.T) error { return fixture.Mknod(t.Path("s"), unix.S_IFSOCK, 0, 0) }},
	{name: "make_fifo",
		op: func(t *check.T) error { return unix.Mkfifo(t.Path("p"), 0o600) }},
	{name: "make_block", root: "CAP_MKNOD",
		op: func(t *check.T) error { return fixture.Mknod(t.Path("b"), unix.S_IFBLK, 7, 0) }},
	{name: "make_sym",
		op: func(t *check.T) error { return unix.Symlink("target", t.Path("l")) }},
	// Reparenting without REFER is EXDEV, also on the first ABI where REFER
	// does not exist and every cross-directory rename is denied.
	{name: "refer", deniedSince: check.ABILandlock, denied: "EXDEV",
		extra: landlock.FSRemoveFile | landlock.FSMakeReg,
		setup: func(t *check.T) error { t.Mkdirs("a", "b"); t.Files("a/f"); return nil },
		op:    func(t *check.T) error { return unix.Rename(t.Path("a/f"), t.Path("b/f")) }},
	{name: "truncate",
		setup: func(t *check.T) error { t.Files("f"); return nil },
		op:    func(t *check.T) error { return unix.Truncate(t.Path("f"), 0) }},
	{name: "ioctl_dev", extra: landlock.FSReadFile, allowedAs: notDeniedIoctl,
		target: func(*check.T) string { return "/dev/zero" },
		op:     func(*check.T) error { return ioctlFIONREAD("/dev/zero") }},
	{name: "resolve_unix",
		setup: func(t *check.T) error { _, err := fixture.UnixServer(t.Path("sock"), unix.SOCK_STREAM); return err },
		op:    func(t *check.T) error { return fixture.UnixConnect(t.Path("sock"), unix.SOCK_STREAM) }},
}

// right is the right's bit, from this suite's table.
func (r fsRight) right() landlock.AccessFS {
	return landlock.AccessFS(check.FeatureNamed(check.FSRight, r.name).Value)
}

// since is the first ABI where the operation is denied without the right.
func (r fsRight) since() int {
	if r.deniedSince != 0 {
		return r.deniedSince
	}
	return check.ABIOf(check.FSRight, r.name)
}

func (r fsRight) ruleTarget(t *check.T) string {
	if r.target != nil {
		return r.target(t)
	}
	return t.Root()
}

// run sets up the fixture, enforces a policy handling every FS right and
// granting `grant` on the target, and performs the operation.
func (r fsRight) run(t *check.T, grant landlock.AccessFS) string {
	if r.setup != nil {
		if err := r.setup(t); err != nil {
			return check.SetupFailed(err)
		}
	}
	p := landlock.Policy{FS: check.AllFS}
	p.AllowPath(r.ruleTarget(t), grant)
	if err := t.Enforce(p); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(r.op(t))
}

// denyingGrant grants every right but the one under test. REFER is left
// out too: single-directory operations do not need it, and a policy that
// grants REFER cannot be kept on ABI 1 (the library then leaves the
// filesystem unrestricted, which the refer cases check).
func (r fsRight) denyingGrant() landlock.AccessFS {
	return check.AllFS &^ r.right() &^ landlock.FSRefer
}

func (r fsRight) allowedWant(check.Env) string {
	if r.allowedAs != "" {
		return r.allowedAs
	}
	return check.OK
}

func (r fsRight) deniedErrno() string {
	if r.denied != "" {
		return r.denied
	}
	return "EACCES"
}

// deniedWant is the outcome of the operation without its right under a
// best-effort policy: denied where the library's ABI has the right,
// otherwise whatever the operation does unsandboxed.
func (r fsRight) deniedWant(e check.Env) string {
	if e.LibABI() >= r.since() {
		return r.deniedErrno()
	}
	return r.allowedWant(e)
}

// covers names the coverage items of the right's two cases: its
// operation and errno (§3.2, §6.9), and its behaviour group.
func (r fsRight) covers() []string {
	out := []string{"§3.2", "§6.9"}
	switch r.name {
	case "execute":
		out = append(out, "fs.7")
	case "make_sock", "make_fifo", "make_sym", "make_reg", "make_dir", "make_char", "make_block", "remove_dir", "remove_file":
		out = append(out, "fs.8")
	case "refer":
		out = append(out, "fs.1", "§3.3")
	case "truncate":
		out = append(out, "fs.9", "§3.6")
	case "ioctl_dev":
		out = append(out, "fs.10", "§3.7")
	case "resolve_unix":
		out = append(out, "§3.10")
	}
	return out
}

func (r fsRight) skip() func(check.Env) string {
	if r.root != "" {
		return check.NeedRoot(r.root)
	}
	return nil
}

func init() {
	check.Build(func() {
		for _, r := range fsRights {
			r := r
			check.Register(mirrored(
				check.Case{Area: "fs", Name: r.name + "/allowed_by_rule", Skip: r.skip(), Want: r.allowedWant,
					Feature: "fs/" + r.name, Shows: check.ShowsAllowed, Covers: r.covers(),
					Run: func(t *check.T) string { return r.run(t, r.right()|r.extra) }},
				check.Case{Area: "fs", Name: r.name + "/denied_without_rule", Skip: r.skip(), Want: r.deniedWant,
					Feature: "fs/" + r.name, Shows: check.ShowsDenied, Covers: r.covers(),
					Run: func(t *check.T) string { return r.run(t, r.denyingGrant()) }},
			)...)
		}
		check.Register(mirrored(fsCases...)...)
	})
}

// fsCases are the rule-semantics cases beyond one right at a time.
var fsCases = []check.Case{
	{Area: "fs", Name: "layers/any_rule_of_a_layer_allows", Covers: []string{"fs.6", "§3.4"}, Want: check.Allowed, Run: func(t *check.T) string {
		t.Files("d/sub/f")
		p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSWriteFile}
		p.AllowPath(t.Path("d"), landlock.FSReadFile).AllowPath(t.Path("d/sub"), landlock.FSWriteFile)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(fixture.OpenClose(t.Path("d/sub/f"), unix.O_RDWR))
	}},
	{Area: "fs", Name: "layers/every_layer_must_allow", Covers: []string{"fs.6", "§3.4"}, Want: check.DeniedFrom(check.ABILandlock, "EACCES"), Run: func(t *check.T) string {
		t.Files("d/f", "d/sub/f")
		for _, dir := range []string{"d", "d/sub"} {
			p := landlock.Policy{FS: landlock.FSReadFile}
			p.AllowPath(t.Path(dir), landlock.FSReadFile)
			if err := t.Enforce(p); err != nil {
				return fixture.EnforceFailed(err)
			}
		}
		if err := fixture.OpenRead(t.Path("d/sub/f")); err != nil {
			return "allowed-by-both read failed: " + check.Outcome(err)
		}
		return check.Outcome(fixture.OpenRead(t.Path("d/f")))
	}},
	{Area: "fs", Name: "unhandled_right_stays_allowed", Covers: []string{"§3.2"}, Want: check.Allowed, Run: func(t *check.T) string {
		t.Files("f")
		if err := t.Enforce(landlock.Policy{FS: landlock.FSReadFile}); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(fixture.OpenWrite(t.Path("f")))
	}},
	{Area: "fs", Name: "fd_opened_before_enforcement_keeps_rights", Covers: []string{"fs.9", "§3.6", "§6.11"}, Want: check.Allowed, Run: func(t *check.T) string {
		return withFileOpenedBefore(t, func(fd int) error { _, err := unix.Write(fd, []byte("x")); return err })
	}},
	{Area: "fs", Name: "refer/same_directory_rename_needs_no_refer", Covers: []string{"fs.1", "§3.3"}, Want: check.Allowed, Run: func(t *check.T) string {
		t.Files("a/f")
		p := landlock.Policy{FS: check.AllFS}
		p.AllowPath(t.Root(), check.AllFS&^landlock.FSRefer)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(unix.Rename(t.Path("a/f"), t.Path("a/g")))
	}},
	{Area: "fs", Name: "refer/link_across_directories_without_refer", Covers: []string{"fs.1", "§3.3"}, Want: check.DeniedFrom(check.ABILandlock, "EXDEV"), Run: func(t *check.T) string {
		t.Mkdirs("b")
		t.Files("a/f")
		p := landlock.Policy{FS: check.AllFS}
		p.AllowPath(t.Root(), check.AllFS&^landlock.FSRefer)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(unix.Link(t.Path("a/f"), t.Path("b/f")))
	}},
	// Moving a/f to b with REFER on both sides: EXDEV when the file would
	// gain a right at b (READ_FILE here), EACCES when b lacks MAKE_REG;
	// with both conditions the documented precedence is EACCES. Each
	// condition alone is shown too, so that both really exist. Below the
	// REFER ABI a policy granting REFER cannot be kept: the library
	// enforces no filesystem restriction and the rename succeeds.
	referCase("refer/eacces_takes_precedence_over_exdev", "EACCES", landlock.FSReadFile),
	referCase("refer/exdev_when_the_file_would_gain_rights", "EXDEV", landlock.FSReadFile|landlock.FSMakeReg),
	referCase("refer/eacces_when_destination_lacks_make_reg", "EACCES", 0),
	{Area: "fs", Name: "inheritance/child_process_is_restricted", Covers: []string{"fs.6", "§3.4"}, Want: check.DeniedFrom(check.ABILandlock, "EACCES"), Run: func(t *check.T) string {
		t.Files("f")
		self, err := os.Executable()
		if err != nil {
			return check.SetupFailedf("%v", err)
		}
		p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSExecute}
		p.AllowPath(self, landlock.FSReadFile|landlock.FSExecute)
		// A cgo build of the suite binary is dynamically linked: its
		// loader and libraries must stay readable for the probe to start.
		for _, lib := range []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"} {
			p.Rules = append(p.Rules, landlock.PathRule{Path: lib, Access: landlock.FSReadFile | landlock.FSExecute, IgnoreMissing: true})
		}
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return fixture.Probe(self, "read", t.Path("f"))
	}},
}

// referCase moves a/f to b under a policy handling READ_FILE, REFER,
// REMOVE_FILE and MAKE_REG that grants REFER|REMOVE_FILE on a and
// REFER|extra on b.
func referCase(name, errno string, extra landlock.AccessFS) check.Case {
	return check.Case{Area: "fs", Name: name, Want: check.DeniedFrom(check.ABIRefer, errno), Covers: []string{"fs.1", "§3.3", "§6.9"}, Run: func(t *check.T) string {
		t.Mkdirs("b")
		t.Files("a/f")
		p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSRefer | landlock.FSRemoveFile | landlock.FSMakeReg}
		p.AllowPath(t.Path("a"), landlock.FSRefer|landlock.FSRemoveFile)
		p.AllowPath(t.Path("b"), landlock.FSRefer|extra)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(unix.Rename(t.Path("a/f"), t.Path("b/f")))
	}}
}

// withFileOpenedBefore opens a file for writing, then enforces a policy
// denying every filesystem right, then runs op on the fd: rights are
// checked when a file is opened, not when it is used.
func withFileOpenedBefore(t *check.T, op func(fd int) error) string {
	t.Files("f")
	fd, err := unix.Open(t.Path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(fd)
	if err := t.Enforce(landlock.Policy{FS: check.AllFS}); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(op(fd))
}

// ioctlFIONREAD opens path and runs FIONREAD on it. An open failure is
// named as such ("error: open: EACCES"): it must not pass for an ioctl
// denial.
func ioctlFIONREAD(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return opErr("open", err)
	}
	defer unix.Close(fd)
	_, err = unix.IoctlGetInt(fd, fionreadCmd)
	return err
}
