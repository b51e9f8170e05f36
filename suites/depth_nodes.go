package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Issue 24 (enforcement depth): the kinds of files a rule may be on, the
// MAKE_* rights of special files brought in by link(2) and rename(2),
// truncation while TRUNCATE is not handled, and rules on the inodes of
// pseudo-filesystems and bind mounts (tagging and release on umount).

// fileRightsOnFile are the rights landlock.h lists as applying "only to
// files": a rule on a file may carry them. Every other right is about
// the content of a directory (or the directory itself, READ_DIR) and
// makes landlock_add_rule(2) refuse a rule on a file with EINVAL.
var fileRightsOnFile = map[string]bool{
	"execute": true, "write_file": true, "read_file": true,
	"truncate": true, "ioctl_dev": true, "resolve_unix": true,
}

// ruleOnKinds adds a rule granting access on each kind of file: a
// directory, a regular file, a named pipe and a character device (which
// is no directory either). Each right runs on a ruleset that handles
// only it.
func ruleOnKinds(t *check.T, access uint64) string {
	if err := fixture.Layout(t, "d/", "f", "p|"); err != nil {
		return check.SetupFailed(err)
	}
	return fixture.WithRuleset(fixture.Attr(8, access), func(rs int) string {
		var steps []check.Step
		for _, k := range []struct{ name, path string }{
			{"dir", t.Path("d")}, {"reg", t.Path("f")}, {"fifo", t.Path("p")}, {"chardev", "/dev/null"},
		} {
			fd, err := unix.Open(k.path, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return check.SetupFailedf("open %s: %s", k.path, check.Outcome(err))
			}
			steps = append(steps, check.Did(k.name, fixture.AddPath(rs, access, fd, 0)))
			unix.Close(fd)
		}
		return check.Steps(steps...)
	})
}

// ruleOnKindsWant: a right the kernel's ABI does not know is refused
// when the ruleset is created; a known one is accepted on the directory
// and, if it is a file right, on each kind of file.
func ruleOnKindsWant(f check.Feature) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI < f.ABI {
			return "EINVAL"
		}
		onFile := "EINVAL"
		if fileRightsOnFile[f.Name] {
			onFile = check.OK
		}
		return check.Steps(check.Saw("dir", check.OK), check.Saw("reg", onFile), check.Saw("fifo", onFile), check.Saw("chardev", onFile))
	})
}

// nodeHandled is every right of ABI 1 that creates or removes a file,
// with read and write: the make rows grant all of them but one, or only
// the one (and REMOVE_FILE where the row renames).
const nodeHandled = fixture.ARead | fixture.AWrite | fixture.ARmDir | fixture.ARmFile | fixture.AMkChar | fixture.AMkDir |
	fixture.AMkReg | fixture.AMkSock | fixture.AMkFifo | landlock.FSMakeBlock | fixture.AMkSym

// nodeKind is a kind of special file made by mknod(2).
type nodeKind struct {
	name         string
	mode         uint32
	major, minor uint32
	right        landlock.AccessFS
	root         string // the capability mknod(2) needs for it, if any
	// whiteout: the right is MAKE_REG on kernels with erratum 4 fixed,
	// MAKE_CHAR before (the documented unfixed state).
	whiteout bool
}

var nodeKinds = []nodeKind{
	{name: "char", mode: unix.S_IFCHR, major: 1, minor: 3, right: fixture.AMkChar, root: "CAP_MKNOD: no other way to make the character device the row links or renames"},
	{name: "block", mode: unix.S_IFBLK, major: 7, minor: 0, right: landlock.FSMakeBlock, root: "CAP_MKNOD: no other way to make the block device the row links or renames"},
	{name: "sock", mode: unix.S_IFSOCK, right: fixture.AMkSock},
	// A whiteout is a character device 0:0; mknod(2) makes it without
	// CAP_MKNOD. landlock.h: MAKE_REG "also guards the creation of
	// whiteout objects as used in OverlayFS".
	{name: "whiteout", mode: unix.S_IFCHR, right: fixture.AMkReg, whiteout: true},
}

// nodeOp makes a file of the kind at d/sub/dst: by mknod(2), or by
// link(2) or rename(2) of d/sub/src, made before the enforcement.
type nodeOp struct {
	name   string
	needs  landlock.AccessFS // granted with the right on the allowed row
	source bool
	op     func(t *check.T, k nodeKind) error
}

var nodeOps = []nodeOp{
	{name: "mknod", op: func(t *check.T, k nodeKind) error {
		return fixture.Mknod(t.Path("d/sub/dst"), k.mode, k.major, k.minor)
	}},
	{name: "link", source: true, op: func(t *check.T, k nodeKind) error {
		return unix.Link(t.Path("d/sub/src"), t.Path("d/sub/dst"))
	}},
	// The source's removal needs REMOVE_FILE: granted on both rows.
	{name: "rename", needs: fixture.ARmFile, source: true, op: func(t *check.T, k nodeKind) error {
		return unix.Rename(t.Path("d/sub/src"), t.Path("d/sub/dst"))
	}},
}

// run makes the fixture, enforces a layer whose rule on d grants grant,
// and makes the node in d/sub: beneath the rule.
func (o nodeOp) run(t *check.T, k nodeKind, grant landlock.AccessFS) string {
	if err := fixture.Layout(t, "d/sub/"); err != nil {
		return check.SetupFailed(err)
	}
	if o.source {
		if err := fixture.Mknod(t.Path("d/sub/src"), k.mode, k.major, k.minor); err != nil {
			return check.SetupFailedf("mknod source: %s", check.Outcome(err))
		}
	}
	if err := fixture.EnforceFS(t, nodeHandled, fixture.On("d", grant)); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Outcome(o.op(t, k))
}

// makeNodeCases are the allowed and denied rows of one kind and way in:
// allowed with only the kind's right (and what the call needs besides),
// denied with every other right, so that a kernel checking another
// right than the kind's fails one of the two.
func makeNodeCases(k nodeKind, o nodeOp) []check.Case {
	var skip func(check.Env) string
	if k.root != "" {
		skip = check.NeedRoot(k.root)
	}
	mirror := "fs_test.c:layout1.make_" + k.name
	base := check.Case{Area: "fs", Skip: skip, Covers: []string{"fs.8", "§3.2"}}
	allowed, denied := base, base
	allowed.Name = fmt.Sprintf("make/%s_by_%s_allowed_with_make_%s", k.name, o.name, rightName(k.right))
	allowed.Want = check.Allowed
	allowed.Run = func(t *check.T) string { return o.run(t, k, k.right|o.needs) }
	denied.Name = fmt.Sprintf("make/%s_by_%s_denied_without_make_%s", k.name, o.name, rightName(k.right))
	denied.Want = check.DeniedFrom(check.ABILandlock, "EACCES")
	denied.Run = func(t *check.T) string { return o.run(t, k, nodeHandled&^k.right) }
	if k.whiteout {
		// Unfixed kernels check MAKE_CHAR instead: the allowed row (no
		// MAKE_CHAR) is denied there, the denied row (MAKE_CHAR granted)
		// allowed.
		allowed.Deviate = check.UnfixedErratum(4, "EACCES")
		denied.Deviate = check.UnfixedErratum(4, check.OK)
		allowed.Covers = append(allowed.Covers, "§6.4")
		denied.Covers = append(denied.Covers, "§6.4")
	}
	return []check.Case{allowed.Mirroring(mirror), denied.Mirroring(mirror)}
}

// rightName is the ABI table's name of one filesystem right, without
// its make_ prefix.
func rightName(a landlock.AccessFS) string {
	for _, f := range check.Features {
		if f.Kind == check.FSRight && f.Value == uint64(a) {
			return strings.TrimPrefix(f.Name, "make_")
		}
	}
	panic(fmt.Sprintf("suites: no filesystem right %#x", uint64(a)))
}

// truncateUnhandled: with READ_FILE and WRITE_FILE handled and TRUNCATE
// not, truncate(2) is never denied (as before ABI 3), while the opens
// that truncate are still checked for their read or write right.
// creat(2) is open(O_WRONLY|O_CREAT|O_TRUNC) of the existing file.
var truncateUnhandledRows = []struct {
	name  string
	grant landlock.AccessFS
	want  string
}{
	{"rule_read", fixture.ARead, "truncate=ok ftruncate=ok rdonly_trunc=ok wronly_trunc=EACCES creat=EACCES"},
	{"rule_write", fixture.AWrite, "truncate=ok ftruncate=ok rdonly_trunc=EACCES wronly_trunc=ok creat=ok"},
	{"no_rule", 0, "truncate=ok ftruncate=ok rdonly_trunc=EACCES wronly_trunc=EACCES creat=EACCES"},
}

func truncateUnhandledRun(t *check.T, grant landlock.AccessFS) string {
	if err := fixture.Layout(t, "f", "other"); err != nil {
		return check.SetupFailed(err)
	}
	// A descriptor opened for writing before the enforcement: ftruncate(2)
	// on it is not checked against WRITE_FILE again, and TRUNCATE is not
	// handled.
	fd, err := unix.Open(t.Path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(fd)
	var rules []fixture.Rule
	if grant != 0 {
		rules = append(rules, fixture.On("f", grant))
	}
	if err := fixture.EnforceFS(t, fixture.ARead|fixture.AWrite, rules...); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Steps(
		check.Did("truncate", unix.Truncate(t.Path("f"), 0)),
		check.Did("ftruncate", unix.Ftruncate(fd, 0)),
		check.Did("rdonly_trunc", fixture.OpenClose(t.Path("f"), unix.O_RDONLY|unix.O_TRUNC)),
		check.Did("wronly_trunc", fixture.OpenClose(t.Path("f"), unix.O_WRONLY|unix.O_TRUNC)),
		check.Did("creat", creat(t.Path("f"))),
	)
}

// truncateUnhandledUnrestricted is the observation without Landlock.
const truncateUnhandledUnrestricted = "truncate=ok ftruncate=ok rdonly_trunc=ok wronly_trunc=ok creat=ok"

func init() {
	check.Build(func() {
		for _, f := range check.Features {
			if f.Kind != check.FSRight {
				continue
			}
			f := f
			check.Register(check.Case{Area: "base", Name: "add_rule/on_each_kind_of_file/" + f.Name, Want: ruleOnKindsWant(f),
				Covers: []string{"§3.1"},
				Run:    func(t *check.T) string { return ruleOnKinds(t, f.Value) }}.
				Mirroring("fs_test.c:layout1.file_and_dir_access_rights"))
		}
		for _, k := range nodeKinds {
			for _, o := range nodeOps {
				// mknod(2) of the device and socket kinds has its rows in
				// fs.go (fs/make_char/*, ...); the whiteout's are here.
				if o.name == "mknod" && !k.whiteout {
					continue
				}
				check.Register(makeNodeCases(k, o)...)
			}
		}
		for _, r := range truncateUnhandledRows {
			r := r
			check.Register(check.Case{Area: "truncate", Name: "unhandled/" + r.name,
				Want:   byLibABI(check.ABILandlock, r.want, truncateUnhandledUnrestricted),
				Covers: []string{"fs.9", "§3.6"},
				Run:    func(t *check.T) string { return truncateUnhandledRun(t, r.grant) }}.
				Mirroring("fs_test.c:layout1.truncate_unhandled"))
		}
		registerTagInode()
	})
}

// tagFS is a filesystem the tagging rows mount at p/m (p is the parent
// directory of the mount point, under the case directory).
type tagFS struct {
	name  string // the fs variant
	typ   string // "" for a bind mount of src
	flags uintptr
	// file is the file the rows read, relative to the mount; "" makes
	// dir/file. Symbolic links in it are resolved (proc's self).
	file string
	// child is a directory to make in the mount for the child row, with
	// childFile in it, when the file's own directory is the mount root.
	child, childFile string
	childSkip        func(check.Env) string
}

var tagFSes = []tagFS{
	{name: "tmpfs", typ: "tmpfs"},
	{name: "ramfs", typ: "ramfs"},
	{name: "proc", typ: "proc", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "self/status"},
	{name: "sysfs", typ: "sysfs", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "kernel/uevent_seqnum"},
	// A cgroup2 child directory is a new cgroup of the whole hierarchy,
	// which belongs to the initial user namespace: only root makes one.
	{name: "cgroup2", typ: "cgroup2", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "cgroup.controllers",
		child: "llconform-tag", childFile: "cgroup.procs",
		childSkip: check.NeedRoot("a new cgroup: the cgroup2 hierarchy is owned by the initial user namespace's root")},
	{name: "bind_mount"},
}

// mount mounts the filesystem at p/m and returns the file the rows read.
// The bind mount's source, src/dir/file, is outside p: only the path
// through the mount is beneath p.
func (s tagFS) mount(t *check.T) (string, error) {
	if err := fixture.Layout(t, "p/m/", "o/f"); err != nil {
		return "", err
	}
	m := t.Path("p/m")
	if s.typ == "" {
		if err := fixture.Layout(t, "src/dir/file"); err != nil {
			return "", err
		}
		if err := unix.Mount(t.Path("src"), m, "", unix.MS_BIND, ""); err != nil {
			return "", opErr("bind mount", err)
		}
	} else if err := unix.Mount(s.typ, m, s.typ, s.flags, ""); err != nil {
		return "", opErr("mount "+s.typ, err)
	}
	if s.file == "" {
		if s.typ != "" {
			if err := fixture.Layout(t, "p/m/dir/file"); err != nil {
				return "", err
			}
		}
		return filepath.Join(m, "dir/file"), nil
	}
	return filepath.EvalSymlinks(filepath.Join(m, s.file))
}

// tagRun mounts s, puts the rule where ruleOn says (given the file the
// rows read), enforces it, and reads: the file, a file outside the rule,
// and the file again under a second layer without rules. The child row
// of a filesystem with a child to make reads childFile in it.
func tagRun(t *check.T, s tagFS, child bool, ruleOn func(file string) string) string {
	file, err := s.mount(t)
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	if child && s.child != "" {
		dir := t.Path("p/m", s.child)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return check.SetupFailed(err)
		}
		// Removing a directory is not handled by the layers.
		defer os.Remove(dir)
		file = filepath.Join(dir, s.childFile)
	}
	rule := ruleOn(file)
	if err := fixture.EnforceFS(t, fixture.ARead, fixture.On(rule, fixture.ARead)); err != nil {
		return fixture.EnforceFailed(err)
	}
	read := check.Did("file", fixture.OpenRead(file))
	outside := check.Did("outside", fixture.OpenRead(t.Path("o/f")))
	if err := fixture.EnforceFS(t, fixture.ARead); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Steps(read, outside, check.Did("empty_layer", fixture.OpenRead(file)))
}

var tagWant = byLibABI(check.ABILandlock, "file=ok outside=EACCES empty_layer=EACCES", "file=ok outside=ok empty_layer=ok")

func tagCase(s tagFS, name string, skip func(check.Env) string, mirror string, body func(t *check.T) string) check.Case {
	c := check.Case{Area: "fs", Name: "special/" + s.name + "/" + name, Skip: skip, Want: tagWant, Covers: []string{"fs.5", "§3.11"}}
	return withMountNS(c.Varying(check.Variant{Dim: check.DimFS, Value: s.name}).Mirroring(mirror), body)
}

// releaseRun: a ruleset holding a READ_DIR rule on the mount's root; the
// unmount must succeed, the enforcement too, and the directory the
// mount covered is not granted by the rule. A bind mount's root is its
// source directory, which outlives the mount: the rule still grants it.
func releaseRun(t *check.T, s tagFS, umount bool) string {
	if _, err := s.mount(t); err != nil {
		return check.SetupFailedf("%v", err)
	}
	const rd = uint64(unix.LANDLOCK_ACCESS_FS_READ_DIR)
	return fixture.WithRuleset(fixture.Attr(8, rd), func(rs int) string {
		openErr, err := fixture.AddPathOf(rs, rd, t.Path("p/m"), 0)
		if openErr != nil {
			return check.SetupFailed(openErr)
		}
		if err != nil {
			return "add_rule: " + check.Outcome(err)
		}
		var steps []check.Step
		if umount {
			steps = append(steps, check.Did("umount", unix.Unmount(t.Path("p/m"), 0)))
		}
		steps = append(steps, check.Did("restrict", fixture.Restrict(t, rs, 0)), check.Did("read_dir", fixture.ReadDir(t.Path("p/m"))))
		if s.typ == "" {
			steps = append(steps, check.Did("source", fixture.ReadDir(t.Path("src"))))
		}
		return check.Steps(append(steps, check.Did("outside", fixture.ReadDir(t.Path("o"))))...)
	})
}

func releaseWant(s tagFS, umount bool) func(check.Env) string {
	return check.Sys(func(check.Env) string {
		var steps []check.Step
		readDir := check.OK
		if umount {
			steps = append(steps, check.Saw("umount", check.OK))
			readDir = "EACCES"
		}
		steps = append(steps, check.Saw("restrict", check.OK), check.Saw("read_dir", readDir))
		if s.typ == "" {
			steps = append(steps, check.Saw("source", check.OK))
		}
		return check.Steps(append(steps, check.Saw("outside", "EACCES"))...)
	})
}

func registerTagInode() {
	for _, s := range tagFSes {
		s := s
		check.Register(
			// The rule on the directory that holds the mount point covers
			// the mount.
			tagCase(s, "tag_inode/rule_on_parent_of_mount_point", nil, "fs_test.c:layout3_fs.tag_inode_dir_parent", func(t *check.T) string {
				return tagRun(t, s, false, func(string) string { return "p" })
			}),
			tagCase(s, "tag_inode/rule_on_file", nil, "fs_test.c:layout3_fs.tag_inode_file", func(t *check.T) string {
				return tagRun(t, s, false, func(file string) string { return file })
			}),
		)
		check.Register(tagCase(s, "tag_inode/rule_on_child_directory", s.childSkip, "fs_test.c:layout3_fs.tag_inode_dir_child", func(t *check.T) string {
			return tagRun(t, s, true, filepath.Dir)
		}))
		for _, umount := range []bool{true, false} {
			umount := umount
			name := "release/rule_on_mount_kept_while_mounted"
			if umount {
				name = "release/umount_while_a_ruleset_holds_a_rule_on_it"
			}
			c := check.Case{Area: "fs", Name: "special/" + s.name + "/" + name, Want: releaseWant(s, umount), Covers: []string{"fs.5", "fs.3", "§3.11"}}
			check.Register(withMountNS(c.Varying(check.Variant{Dim: check.DimFS, Value: s.name}).Mirroring("fs_test.c:layout3_fs.release_inodes"), func(t *check.T) string {
				return releaseRun(t, s, umount)
			}))
		}
	}
}

// umountSandboxerRun: a program started from the tmpfs m adds its own
// Landlock layer, then executes a program outside m and stays in its
// domain. While it runs from m, m is busy (the companion that shows the
// program really ran from it); once it runs the outside program, the
// domain it created must not keep m busy: the unsandboxed case thread
// unmounts it.
func umountSandboxerRun(t *check.T) string {
	if err := mountTmpfs(t, "m"); err != nil {
		return check.SetupFailed(err)
	}
	outside := t.Path("outside")
	if err := os.WriteFile(outside, fixture.TargetSpec{}.Program(), 0o755); err != nil {
		return check.SetupFailed(err)
	}
	const argv, envp = 40, 41
	spec := fixture.TargetSpec{Layer: fixture.OwnLayer, WaitGo: true, Results: 1, Action: func(p *tinyasm.Program) {
		p.StoreAddr(argv, p.Cstr("outside"))
		p.SetSlot(argv+1, 0)
		p.SetSlot(envp, 0)
		// Only a failed execve returns and reports its error; the outside
		// program reports its own start (0) instead.
		p.SysTo(2, tinyasm.SysExecve, p.Cstr(outside), tinyasm.SlotAddr(argv), tinyasm.SlotAddr(envp))
	}}
	proc, err := fixture.StartProgram(t.Path("m"), spec.Program(), false)
	if err != nil {
		return check.SetupFailedf("start the sandboxer in m: %v", err)
	}
	defer proc.Kill()
	restrict := check.Saw("restrict", fixture.Result(proc.Layer))
	busy := check.Did("umount_while_running_from_it", unix.Unmount(t.Path("m"), 0))
	if err := proc.GoAhead(); err != nil {
		return check.SetupFailed(err)
	}
	v, err := proc.Read(1)
	if err != nil {
		return check.SetupFailedf("the sandboxer's exec: %v", err)
	}
	return check.Steps(restrict, busy, check.Saw("exec", fixture.Result(v[0])), check.Did("umount_after_exec", unix.Unmount(t.Path("m"), 0)))
}

func umountSandboxerWant(e check.Env) string {
	restrict := check.OK
	if o, ok := check.NoLandlock(e); ok {
		restrict = o
	}
	return check.Steps(check.Saw("restrict", restrict), check.Saw("umount_while_running_from_it", "EBUSY"),
		check.Saw("exec", check.OK), check.Saw("umount_after_exec", check.OK))
}

func init() {
	check.Build(func() {
		check.Register(topoCase("mount/domain_does_not_pin_its_creators_mount", umountSandboxerWant, umountSandboxerRun).
			Mirroring("fs_test.c:layout1.umount_sandboxer"))
	})
}
