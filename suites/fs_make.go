package suites

import (
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.8: creating files of each kind by every call that creates one
// (landlock.h: MAKE_SOCK "Create (or rename or link) a UNIX domain socket",
// MAKE_FIFO, MAKE_SYM, MAKE_REG, MAKE_DIR; REMOVE_DIR). The rights rows
// (fs.go) create each kind with mknod(2), mkdir(2) and symlink(2); these
// rows use the other ways in: bind(2) of a pathname socket, open(O_CREAT),
// the *at(2) calls relative to a directory opened before the enforcement
// (still checked: the rights are on the directory reached, not on the
// descriptor), and links of special files.

// makeHandled is every creation and removal right of ABI 1, with read and
// write.
const makeHandled = fixture.ARead | fixture.AWrite | fixture.ARmDir | fixture.ARmFile | fixture.AMkChar | fixture.AMkDir | fixture.AMkReg | fixture.AMkSock | fixture.AMkFifo | fixture.AMkSym

type makeRow struct {
	name   string
	layout []string
	grant  landlock.AccessFS
	op     func(t *check.T, dirfd int) error
	denied bool
}

var makeRows = []makeRow{
	{name: "sock_by_bind_allowed", grant: fixture.AMkSock, op: bindSocket("s")},
	{name: "sock_by_bind_denied", grant: makeHandled &^ fixture.AMkSock, op: bindSocket("s"), denied: true},
	{name: "reg_by_open_creat_allowed", grant: fixture.AWrite | fixture.AMkReg, op: creatNew("new")},
	{name: "reg_by_open_creat_denied", grant: fixture.AWrite, op: creatNew("new"), denied: true},
	// O_CREAT on an existing file creates nothing.
	{name: "reg_open_creat_of_existing_file_needs_no_make_reg", layout: []string{"f"}, grant: fixture.AWrite, op: creatNew("f")},
	{name: "reg_by_mknod_file_type_zero_denied", grant: makeHandled &^ fixture.AMkReg, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Mknodat(dirfd, "r", 0o600, 0) }},
	{name: "fifo_by_mkfifoat_below_dir_fd_denied", grant: makeHandled &^ fixture.AMkFifo, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Mkfifoat(dirfd, "p", 0o600) }},
	{name: "sym_by_symlinkat_below_dir_fd_denied", grant: makeHandled &^ fixture.AMkSym, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Symlinkat("target", dirfd, "l") }},
	{name: "dir_by_mkdirat_below_dir_fd_denied", grant: makeHandled &^ fixture.AMkDir, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Mkdirat(dirfd, "d", 0o755) }},
	{name: "dir_removal_by_unlinkat_denied", layout: []string{"d/"}, grant: makeHandled &^ fixture.ARmDir, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Unlinkat(dirfd, "d", unix.AT_REMOVEDIR) }},
	{name: "file_removal_by_unlinkat_below_dir_fd_denied", layout: []string{"f"}, grant: makeHandled &^ fixture.ARmFile, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Unlinkat(dirfd, "f", 0) }},
	// A hard link of a special file needs the MAKE_* right of its kind.
	{name: "sym_by_link_of_a_symlink_denied", layout: []string{"l->f"}, grant: makeHandled &^ fixture.AMkSym, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Linkat(dirfd, "l", dirfd, "l2", 0) }},
	{name: "sym_by_link_of_a_symlink_allowed", layout: []string{"l->f"}, grant: fixture.AMkSym,
		op: func(t *check.T, dirfd int) error { return unix.Linkat(dirfd, "l", dirfd, "l2", 0) }},
	{name: "fifo_by_link_of_a_fifo_denied", layout: []string{"p|"}, grant: makeHandled &^ fixture.AMkFifo, denied: true,
		op: func(t *check.T, dirfd int) error { return unix.Linkat(dirfd, "p", dirfd, "p2", 0) }},
}

// bindSocket binds a pathname UNIX socket named name in the directory.
func bindSocket(name string) func(t *check.T, dirfd int) error {
	return func(t *check.T, dirfd int) error {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Bind(fd, &unix.SockaddrUnix{Name: t.Path("d0", name)})
	}
}

func creatNew(name string) func(t *check.T, dirfd int) error {
	return func(t *check.T, dirfd int) error { return fixture.OpenAt(dirfd, name, unix.O_WRONLY|unix.O_CREAT) }
}

func init() {
	check.Build(func() {
		for _, r := range makeRows {
			r := r
			want := check.Allowed
			if r.denied {
				want = check.DeniedFrom(check.ABILandlock, "EACCES")
			}
			check.Register(mirrored(check.Case{Area: "fs", Name: "make/" + r.name, Want: want, Covers: []string{"fs.8", "§3.2"}, Run: func(t *check.T) string {
				// Everything happens in d0, opened (O_PATH) before the
				// enforcement.
				specs := []string{"d0/"}
				for _, s := range r.layout {
					specs = append(specs, "d0/"+s)
				}
				if err := fixture.Layout(t, specs...); err != nil {
					return check.SetupFailed(err)
				}
				dirfd, err := unix.Open(t.Path("d0"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(dirfd)
				if err := fixture.EnforceFS(t, makeHandled, fixture.On("d0", r.grant)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(r.op(t, dirfd))
			}})...)
		}
	})
}
