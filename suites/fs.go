package suites

import (
	"os"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// allFS is every filesystem right of the newest ABI this suite knows,
// spelled out (not read from the library): 17 bits, ABI 1..9.
const allFS = landlock.AccessFS(0x1ffff)

// fsRight is one filesystem right, the ABI the documentation introduces it
// in, and an operation that exercises it on a fixture.
type fsRight struct {
	name      string
	right     landlock.AccessFS
	abi       int
	extra     landlock.AccessFS // other rights the operation needs
	denied    string            // errno of a denial
	allowedAs string            // outcome when allowed, default "ok"
	root      string            // capability needed, if any
	setup     func(t *T) error
	target    func(t *T) string // where the rule goes; default the case dir
	op        func(t *T) error
}

var fsRights = []fsRight{
	{name: "execute", right: landlock.FSExecute, abi: 1, extra: landlock.FSReadFile,
		setup: func(t *T) error { return writeExecutable(t.path("prog")) },
		op:    func(t *T) error { return execute(t.path("prog")) }},
	{name: "write_file", right: landlock.FSWriteFile, abi: 1,
		setup: func(t *T) error { t.files("f"); return nil },
		op:    func(t *T) error { return openWrite(t.path("f")) }},
	{name: "read_file", right: landlock.FSReadFile, abi: 1,
		setup: func(t *T) error { t.files("f"); return nil },
		op:    func(t *T) error { return openRead(t.path("f")) }},
	{name: "read_dir", right: landlock.FSReadDir, abi: 1,
		setup: func(t *T) error { t.mkdirs("d"); return nil },
		op:    func(t *T) error { return readDir(t.path("d")) }},
	{name: "remove_dir", right: landlock.FSRemoveDir, abi: 1,
		setup: func(t *T) error { t.mkdirs("d"); return nil },
		op:    func(t *T) error { return unix.Rmdir(t.path("d")) }},
	{name: "remove_file", right: landlock.FSRemoveFile, abi: 1,
		setup: func(t *T) error { t.files("f"); return nil },
		op:    func(t *T) error { return unix.Unlink(t.path("f")) }},
	{name: "make_char", right: landlock.FSMakeChar, abi: 1, root: "CAP_MKNOD",
		op: func(t *T) error { return mknod(t.path("c"), unix.S_IFCHR, 1, 3) }},
	{name: "make_dir", right: landlock.FSMakeDir, abi: 1,
		op: func(t *T) error { return unix.Mkdir(t.path("d"), 0o755) }},
	{name: "make_reg", right: landlock.FSMakeReg, abi: 1,
		op: func(t *T) error { return mknod(t.path("r"), unix.S_IFREG, 0, 0) }},
	{name: "make_sock", right: landlock.FSMakeSock, abi: 1,
		op: func(t *T) error { return mknod(t.path("s"), unix.S_IFSOCK, 0, 0) }},
	{name: "make_fifo", right: landlock.FSMakeFifo, abi: 1,
		op: func(t *T) error { return unix.Mkfifo(t.path("p"), 0o600) }},
	{name: "make_block", right: landlock.FSMakeBlock, abi: 1, root: "CAP_MKNOD",
		op: func(t *T) error { return mknod(t.path("b"), unix.S_IFBLK, 7, 0) }},
	{name: "make_sym", right: landlock.FSMakeSym, abi: 1,
		op: func(t *T) error { return unix.Symlink("target", t.path("l")) }},
	// Reparenting without REFER is EXDEV, also on ABI 1 where REFER does
	// not exist and every cross-directory rename is denied.
	{name: "refer", right: landlock.FSRefer, abi: 1, denied: "EXDEV",
		extra: landlock.FSRemoveFile | landlock.FSMakeReg,
		setup: func(t *T) error { t.mkdirs("a", "b"); t.files("a/f"); return nil },
		op:    func(t *T) error { return unix.Rename(t.path("a/f"), t.path("b/f")) }},
	{name: "truncate", right: landlock.FSTruncate, abi: 3,
		setup: func(t *T) error { t.files("f"); return nil },
		op:    func(t *T) error { return unix.Truncate(t.path("f"), 0) }},
	{name: "ioctl_dev", right: landlock.FSIoctlDev, abi: 5, extra: landlock.FSReadFile, allowedAs: notDeniedIoctl,
		target: func(*T) string { return "/dev/zero" },
		op:     func(*T) error { return ioctlFIONREAD("/dev/zero") }},
	{name: "resolve_unix", right: landlock.FSResolveUnix, abi: 9,
		setup: func(t *T) error { _, err := unixServer(t.path("sock"), unix.SOCK_STREAM); return err },
		op:    func(t *T) error { return unixConnect(t.path("sock"), unix.SOCK_STREAM) }},
}

func (r fsRight) ruleTarget(t *T) string {
	if r.target != nil {
		return r.target(t)
	}
	return t.Root()
}

// run sets up the fixture, enforces a policy handling every FS right and
// granting `grant` on the target, and performs the operation.
func (r fsRight) run(t *T, grant landlock.AccessFS) string {
	if r.setup != nil {
		if err := r.setup(t); err != nil {
			return "setup failed: " + Outcome(err)
		}
	}
	p := landlock.Policy{FS: allFS}
	p.AllowPath(r.ruleTarget(t), grant)
	if err := t.Enforce(p); err != nil {
		return enforceFailed(err)
	}
	return Outcome(r.op(t))
}

// denyingGrant grants every right but the one under test. REFER is left
// out too: single-directory operations do not need it, and a policy that
// grants REFER cannot be kept on ABI 1 (the library then leaves the
// filesystem unrestricted, which the refer cases check).
func (r fsRight) denyingGrant() landlock.AccessFS { return allFS &^ r.right &^ landlock.FSRefer }

func (r fsRight) allowedWant(Env) string {
	if r.allowedAs != "" {
		return r.allowedAs
	}
	return OK
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
func (r fsRight) deniedWant(e Env) string {
	if e.LibABI() >= r.abi {
		return r.deniedErrno()
	}
	return r.allowedWant(e)
}

func (r fsRight) skip() func(Env) string {
	if r.root != "" {
		return needRoot(r.root)
	}
	return nil
}

func init() {
	for _, r := range fsRights {
		r := r
		register(
			Case{Area: "fs", Name: r.name + "/allowed_by_rule", Skip: r.skip(), Want: r.allowedWant,
				Run: func(t *T) string { return r.run(t, r.right|r.extra) }},
			Case{Area: "fs", Name: r.name + "/denied_without_rule", Skip: r.skip(), Want: r.deniedWant,
				Run: func(t *T) string { return r.run(t, r.denyingGrant()) }},
		)
	}
	register(fsCases...)
}

// fsCases are the rule-semantics cases beyond one right at a time.
var fsCases = []Case{
	{Area: "fs", Name: "layers/any_rule_of_a_layer_allows", Want: allowed, Run: func(t *T) string {
		t.files("d/sub/f")
		p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSWriteFile}
		p.AllowPath(t.path("d"), landlock.FSReadFile).AllowPath(t.path("d/sub"), landlock.FSWriteFile)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return Outcome(openClose(t.path("d/sub/f"), unix.O_RDWR))
	}},
	{Area: "fs", Name: "layers/every_layer_must_allow", Want: deniedFrom(1, "EACCES"), Run: func(t *T) string {
		t.files("d/f", "d/sub/f")
		for _, dir := range []string{"d", "d/sub"} {
			p := landlock.Policy{FS: landlock.FSReadFile}
			p.AllowPath(t.path(dir), landlock.FSReadFile)
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
		}
		if err := openRead(t.path("d/sub/f")); err != nil {
			return "allowed-by-both read failed: " + Outcome(err)
		}
		return Outcome(openRead(t.path("d/f")))
	}},
	{Area: "fs", Name: "unhandled_right_stays_allowed", Want: allowed, Run: func(t *T) string {
		t.files("f")
		if err := t.Enforce(landlock.Policy{FS: landlock.FSReadFile}); err != nil {
			return enforceFailed(err)
		}
		return Outcome(openWrite(t.path("f")))
	}},
	{Area: "fs", Name: "fd_opened_before_enforcement_keeps_rights", Want: allowed, Run: func(t *T) string {
		return withFileOpenedBefore(t, func(fd int) error { _, err := unix.Write(fd, []byte("x")); return err })
	}},
	{Area: "fs", Name: "refer/same_directory_rename_needs_no_refer", Want: allowed, Run: func(t *T) string {
		t.files("a/f")
		p := landlock.Policy{FS: allFS}
		p.AllowPath(t.Root(), allFS&^landlock.FSRefer)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unix.Rename(t.path("a/f"), t.path("a/g")))
	}},
	{Area: "fs", Name: "refer/link_across_directories_without_refer", Want: deniedFrom(1, "EXDEV"), Run: func(t *T) string {
		t.mkdirs("b")
		t.files("a/f")
		p := landlock.Policy{FS: allFS}
		p.AllowPath(t.Root(), allFS&^landlock.FSRefer)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unix.Link(t.path("a/f"), t.path("b/f")))
	}},
	// With REFER on both sides but no MAKE_REG at the destination, the
	// documented precedence is EACCES over EXDEV (ABI ≥ 2). On ABI 1 a
	// policy granting REFER cannot be kept, so the library enforces no
	// filesystem restriction and the rename succeeds.
	{Area: "fs", Name: "refer/eacces_takes_precedence_over_exdev", Want: deniedFrom(2, "EACCES"), Run: func(t *T) string {
		t.mkdirs("b")
		t.files("a/f")
		p := landlock.Policy{FS: allFS}
		p.AllowPath(t.path("a"), landlock.FSRefer|landlock.FSRemoveFile)
		p.AllowPath(t.path("b"), landlock.FSRefer)
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return Outcome(unix.Rename(t.path("a/f"), t.path("b/f")))
	}},
	{Area: "fs", Name: "inheritance/child_process_is_restricted", Want: deniedFrom(1, "EACCES"), Run: func(t *T) string {
		t.files("f")
		self, err := os.Executable()
		if err != nil {
			return "setup failed: " + err.Error()
		}
		p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSExecute}
		p.AllowPath(self, landlock.FSReadFile|landlock.FSExecute)
		// A cgo build of the suite binary is dynamically linked: its
		// loader and libraries must stay readable for the probe to start.
		for _, lib := range []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"} {
			p.Rules = append(p.Rules, landlock.PathRule{Path: lib, Access: landlock.FSReadFile | landlock.FSExecute, IgnoreMissing: true})
		}
		if err := t.Enforce(p); err != nil {
			return enforceFailed(err)
		}
		return probe(self, "read", t.path("f"))
	}},
	{Area: "fs", Name: "topology/mount_denied_when_fs_handled", Isolation: Process, Skip: needRoot("CAP_SYS_ADMIN"),
		Want: deniedFrom(1, "EPERM"), Run: func(t *T) string {
			t.mkdirs("m")
			if err := privateMountNS(); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(landlock.Policy{FS: landlock.FSReadFile}); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Mount("none", t.path("m"), "tmpfs", 0, ""))
		}},
	{Area: "fs", Name: "topology/umount_denied_when_fs_handled", Isolation: Process, Skip: needRoot("CAP_SYS_ADMIN"),
		Want: deniedFrom(1, "EPERM"), Run: func(t *T) string {
			t.mkdirs("m")
			if err := privateMountNS(); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := unix.Mount("none", t.path("m"), "tmpfs", 0, ""); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(landlock.Policy{FS: landlock.FSReadFile}); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Unmount(t.path("m"), 0))
		}},
	{Area: "fs", Name: "topology/mount_allowed_in_net_only_domain", Isolation: Process, Skip: needRoot("CAP_SYS_ADMIN"),
		Want: allowed, Run: func(t *T) string {
			t.mkdirs("m")
			if err := privateMountNS(); err != nil {
				return "setup failed: " + Outcome(err)
			}
			if err := t.Enforce(landlock.Policy{Net: landlock.NetBindTCP}); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Mount("none", t.path("m"), "tmpfs", 0, ""))
		}},
	{Area: "fs", Name: "topology/chroot_allowed", Isolation: Process, Skip: needRoot("CAP_SYS_CHROOT"),
		Want: allowed, Run: func(t *T) string {
			t.mkdirs("root")
			p := landlock.Policy{FS: allFS}
			p.AllowPath(t.Root(), allFS)
			if err := t.Enforce(p); err != nil {
				return enforceFailed(err)
			}
			return Outcome(unix.Chroot(t.path("root")))
		}},
}

// withFileOpenedBefore opens a file for writing, then enforces a policy
// denying every filesystem right, then runs op on the fd: rights are
// checked when a file is opened, not when it is used.
func withFileOpenedBefore(t *T, op func(fd int) error) string {
	t.files("f")
	fd, err := unix.Open(t.path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "setup failed: " + Outcome(err)
	}
	defer unix.Close(fd)
	if err := t.Enforce(landlock.Policy{FS: allFS}); err != nil {
		return enforceFailed(err)
	}
	return Outcome(op(fd))
}

// privateMountNS gives the calling process its own mount namespace so
// that mount cases change nothing outside.
func privateMountNS() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return err
	}
	return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
}

func ioctlFIONREAD(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.IoctlGetInt(fd, fionreadCmd)
	return err
}
