package suites

import (
	"fmt"
	"os"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.5: special filesystems and /proc (landlock.rst "Special
// filesystems"). Rules and denials work on any filesystem that is mounted
// where user space sees it: tmpfs, ramfs, proc, sysfs, cgroup2 (each
// mounted afresh in a private mount namespace). Files that come from no
// user-visible filesystem (pipes, sockets, nsfs behind /proc/<pid>/ns/*,
// memfd) cannot be restricted, also when reached through /proc. Reopening
// a descriptor through /proc/self/fd/N is a new open of the file it names:
// it is checked like any other and cannot gain a right.

type specialFS struct {
	typ   string
	flags uintptr
	data  string
	file  string // a readable file of the fresh mount; "" makes one
}

var specialFSes = []specialFS{
	{typ: "tmpfs"},
	{typ: "ramfs"},
	{typ: "proc", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "self/status"},
	{typ: "sysfs", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "kernel/uevent_seqnum"},
	{typ: "cgroup2", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, file: "cgroup.controllers"},
}

func (s specialFS) mount(t *check.T) (string, error) {
	if err := fixture.Layout(t, "m/", "other/"); err != nil {
		return "", err
	}
	if err := unix.Mount(s.typ, t.Path("m"), s.typ, s.flags, s.data); err != nil {
		return "", opErr("mount "+s.typ, err)
	}
	if s.file == "" {
		if err := os.WriteFile(t.Path("m/f"), []byte("x"), 0o644); err != nil {
			return "", err
		}
		return t.Path("m/f"), nil
	}
	return t.Path("m", s.file), nil
}

// procFD is the /proc path of one of this process's descriptors.
func procFD(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }

func specialCase(name string, want func(check.Env) string, covers []string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "fs", Name: "special/" + name, Want: want, Covers: append([]string{"fs.5"}, covers...), Run: run}
}

func init() {
	check.Build(func() {
		for _, s := range specialFSes {
			s := s
			for _, granted := range []bool{true, false} {
				granted := granted
				name, want, ruleOn := "rule_on_mount_allows", check.Allowed, "m"
				if !granted {
					name, want, ruleOn = "denied_without_rule", check.DeniedFrom(check.ABILandlock, "EACCES"), "other"
				}
				check.Register(mirrored(withMountNS(specialCase(s.typ+"/"+name, want, []string{"§3.11"}, nil), func(t *check.T) string {
					p, err := s.mount(t)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					if err := fixture.EnforceFS(t, fixture.ARead|fixture.AWrite, fixture.On(ruleOn, fixture.ARead)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(fixture.OpenRead(p))
				}))...)
			}
		}

		denyAll := func(t *check.T) error { return fixture.EnforceFS(t, check.AllFS&^fixture.ARefer) }
		check.Register(mirrored(
			// The system's own /proc and /dev are filesystems like any other.
			specialCase("proc/self_status_denied_without_rule", check.DeniedFrom(check.ABILandlock, "EACCES"), []string{"§3.11"}, func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.OpenRead("/proc/self/status"))
			}),
			specialCase("proc/self_status_allowed_by_rule_on_proc", check.Allowed, []string{"§3.11"}, func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.ARead, fixture.On("/proc", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.OpenRead("/proc/self/status"))
			}),
			specialCase("dev/null_write_denied_without_rule", check.DeniedFrom(check.ABILandlock, "EACCES"), nil, func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.AWrite, fixture.On("", fixture.AWrite)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.OpenWrite("/dev/null"))
			}),
			specialCase("dev/null_write_allowed_by_rule_on_the_device", check.Allowed, nil, func(t *check.T) string {
				if err := fixture.EnforceFS(t, fixture.AWrite, fixture.On("/dev/null", fixture.AWrite)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(fixture.OpenWrite("/dev/null"))
			}),
			// nsfs is internal: its files stay openable under a domain that
			// denies everything, while /proc itself is restricted.
			specialCase("nsfs/open_not_restricted", byLibABI(check.ABILandlock, "nsfs=ok status=EACCES", "nsfs=ok status=ok"), []string{"§3.11"}, func(t *check.T) string {
				if err := denyAll(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("nsfs", check.Outcome(fixture.OpenRead("/proc/thread-self/ns/mnt")), "status", check.Outcome(fixture.OpenRead("/proc/self/status")))
			}),
			// Pipes, sockets and memfds reached through /proc/self/fd.
			specialCase("proc_fd/pipe_not_restricted", byLibABI(check.ABILandlock, "pipe=ok file=EACCES", "pipe=ok file=ok"), []string{"§3.11"}, func(t *check.T) string {
				t.Files("f")
				if err := denyAll(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				var p [2]int
				if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(p[0])
				defer unix.Close(p[1])
				return pairs("pipe", check.Outcome(fixture.OpenWrite(procFD(p[1]))), "file", check.Outcome(fixture.OpenRead(t.Path("f"))))
			}),
			specialCase("proc_fd/socket_enxio_not_eacces", byLibABI(check.ABILandlock, "socket=ENXIO file=EACCES", "socket=ENXIO file=ok"), []string{"§3.11"}, func(t *check.T) string {
				t.Files("f")
				if err := denyAll(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(sp[0])
				defer unix.Close(sp[1])
				return pairs("socket", check.Outcome(fixture.OpenRead(procFD(sp[0]))), "file", check.Outcome(fixture.OpenRead(t.Path("f"))))
			}),
			specialCase("proc_fd/memfd_not_restricted", byLibABI(check.ABILandlock, "memfd=ok file=EACCES", "memfd=ok file=ok"), []string{"§3.6", "fs.9"}, func(t *check.T) string {
				t.Files("f")
				if err := denyAll(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				m, err := unix.MemfdCreate("llconform", unix.MFD_CLOEXEC)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(m)
				return pairs("memfd", check.Outcome(fixture.OpenClose(procFD(m), unix.O_RDWR)), "file", check.Outcome(fixture.OpenRead(t.Path("f"))))
			}),
			// Reopening cannot upgrade: a read-only descriptor reopened for
			// writing is checked against the file's rules.
			specialCase("proc_fd/reopen_cannot_upgrade_read_only_fd", byLibABI(check.ABILandlock, "read=ok write=EACCES", "read=ok write=ok"), []string{"§3.11", "§6.11"}, func(t *check.T) string {
				t.Files("a/f")
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AWrite, fixture.On("a", fixture.ARead)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("a/f"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				return pairs("read", check.Outcome(fixture.OpenRead(procFD(fd))), "write", check.Outcome(fixture.OpenWrite(procFD(fd))))
			}),
			specialCase("proc_fd/reopen_of_unlinked_file_cannot_upgrade", byLibABI(check.ABILandlock, "read=ok write=EACCES", "read=ok write=ok"), []string{"§3.11", "§6.11"}, func(t *check.T) string {
				t.Files("a/f")
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AWrite|fixture.ARmFile, fixture.On("a", fixture.ARead|fixture.ARmFile)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("a/f"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				if err := unix.Unlink(t.Path("a/f")); err != nil {
					return "unlink: " + check.Outcome(err)
				}
				return pairs("read", check.Outcome(fixture.OpenRead(procFD(fd))), "write", check.Outcome(fixture.OpenWrite(procFD(fd))))
			}),
			// A descriptor opened before the enforcement keeps its rights, but
			// a reopen is a new open, checked now.
			specialCase("proc_fd/reopen_of_fd_opened_before_enforcement_checked", byLibABI(check.ABILandlock, "fd=ok reopen=EACCES", "fd=ok reopen=ok"), []string{"§3.11", "§6.11"}, func(t *check.T) string {
				t.Files("f")
				fd, err := unix.Open(t.Path("f"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(fd)
				if err := denyAll(t); err != nil {
					return fixture.EnforceFailed(err)
				}
				_, rerr := unix.Pread(fd, make([]byte, 1), 0)
				return pairs("fd", check.Outcome(rerr), "reopen", check.Outcome(fixture.OpenRead(procFD(fd))))
			}),
		)...)

		// Descriptors of internal filesystems cannot be rule parents
		// (landlock_add_rule(2): EBADFD for a member of rule_attr that is not
		// the expected descriptor).
		for _, p := range []struct {
			name string
			open func() (int, error)
		}{
			{"nsfs", func() (int, error) { return unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0) }},
			{"pipe", func() (int, error) {
				var p [2]int
				if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
					return -1, err
				}
				unix.Close(p[1])
				return p[0], nil
			}},
			{"socket", func() (int, error) { return unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) }},
			{"memfd", func() (int, error) { return unix.MemfdCreate("llconform", unix.MFD_CLOEXEC) }},
		} {
			p := p
			check.Register(mirrored(specialCase("rule_parent/"+p.name+"_ebadfd", check.Always("EBADFD"), []string{"§6.16"}, func(t *check.T) string {
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(rs int) string {
					fd, err := p.open()
					if err != nil {
						return check.SetupFailed(err)
					}
					defer unix.Close(fd)
					return check.Outcome(fixture.AddPath(rs, fsRead, fd, 0))
				})
			}))...)
		}
	})
}
