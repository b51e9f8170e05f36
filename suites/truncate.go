package suites

import (
	"syscall"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// TRUNCATE arrived in ABI 3; before it truncation is always allowed.
var truncateDenied = check.DeniedFrom(check.ABITruncate, "EACCES")

// truncCase enforces a policy handling every FS right and granting grant
// on the case directory (which holds file f), then runs op.
func truncCase(name string, grant landlock.AccessFS, want func(check.Env) string, op func(t *check.T) error) check.Case {
	return check.Case{Area: "truncate", Name: name, Want: want, Covers: []string{"fs.9", "§3.6", "§3.2"}, Run: func(t *check.T) string {
		t.Files("f")
		p := landlock.Policy{FS: check.AllFS}
		p.AllowPath(t.Root(), grant)
		if err := t.Enforce(p); err != nil {
			return fixture.EnforceFailed(err)
		}
		return check.Outcome(op(t))
	}}
}

func ftruncateAfterOpen(path string, flags int) error {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, 0)
}

const (
	rw  = landlock.FSReadFile | landlock.FSWriteFile
	rwt = rw | landlock.FSTruncate
)

func init() {
	check.Build(func() {
		check.Register(mirrored(
			truncCase("truncate/denied", rw, truncateDenied, func(t *check.T) error { return unix.Truncate(t.Path("f"), 0) }),
			truncCase("truncate/allowed", rwt, check.Allowed, func(t *check.T) error { return unix.Truncate(t.Path("f"), 0) }),
			truncCase("ftruncate/denied", rw, truncateDenied, func(t *check.T) error { return ftruncateAfterOpen(t.Path("f"), unix.O_WRONLY) }),
			truncCase("ftruncate/allowed", rwt, check.Allowed, func(t *check.T) error { return ftruncateAfterOpen(t.Path("f"), unix.O_WRONLY) }),
			truncCase("o_trunc/denied", rw, truncateDenied, func(t *check.T) error { return fixture.OpenClose(t.Path("f"), unix.O_WRONLY|unix.O_TRUNC) }),
			truncCase("o_trunc/allowed", rwt, check.Allowed, func(t *check.T) error { return fixture.OpenClose(t.Path("f"), unix.O_WRONLY|unix.O_TRUNC) }),
			truncCase("o_rdonly_o_trunc/denied", landlock.FSReadFile, truncateDenied, func(t *check.T) error { return fixture.OpenClose(t.Path("f"), unix.O_RDONLY|unix.O_TRUNC) }),
			truncCase("o_rdonly_o_trunc/allowed_with_read_and_truncate", landlock.FSReadFile|landlock.FSTruncate, check.Allowed, func(t *check.T) error { return fixture.OpenClose(t.Path("f"), unix.O_RDONLY|unix.O_TRUNC) }),
			truncCase("creat_existing/denied", rw|landlock.FSMakeReg, truncateDenied, func(t *check.T) error { return creat(t.Path("f")) }),
			truncCase("creat_new/allowed_without_truncate", rw|landlock.FSMakeReg, check.Allowed, func(t *check.T) error { return creat(t.Path("new")) }),
			check.Case{Area: "truncate", Name: "unhandled/truncate_allowed", Covers: []string{"fs.9", "§3.6"}, Want: check.Allowed, Run: func(t *check.T) string {
				t.Files("f")
				if err := t.Enforce(landlock.Policy{FS: landlock.FSWriteFile}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(unix.Truncate(t.Path("f"), 0))
			}},
			check.Case{Area: "truncate", Name: "fd_opened_before_enforcement/ftruncate_allowed", Covers: []string{"fs.9", "§3.6", "§6.11"}, Want: check.Allowed, Run: func(t *check.T) string {
				return withFileOpenedBefore(t, func(fd int) error { return unix.Ftruncate(fd, 0) })
			}},
			// The right is bound to the fd at open time: an unsandboxed thread
			// (here another OS thread of this process, outside the domain)
			// that receives the fd is still refused.
			check.Case{Area: "truncate", Name: "fd_passed_to_unsandboxed/ftruncate_denied", Covers: []string{"fs.9", "§3.6", "§6.11"}, Want: truncateDenied, Run: func(t *check.T) string {
				t.Files("f")
				p := landlock.Policy{FS: check.AllFS}
				p.AllowPath(t.Root(), rw)
				if err := t.Enforce(p); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open failed: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				return fixture.OnOtherThread(func() string { return check.Outcome(unix.Ftruncate(fd, 0)) })
			}},
		)...)
	})
}

func creat(path string) error {
	return fixture.OpenClose(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
}

// Group fs.9: truncation and rights bound to descriptors (landlock.rst
// "Truncating files", "Rights associated with file descriptors"). TRUNCATE
// is checked when a file is opened and stays with the descriptor: an
// unsandboxed process that receives it is refused too, a descriptor
// opened before a layer keeps what it had, and memfds (opened by no path)
// are not restricted. An O_PATH descriptor cannot be truncated at all
// (EBADF, not EACCES). fallocate(2) is not truncation.

func fdCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "truncate", Name: name, Want: want, Covers: []string{"fs.9", "§3.6", "§6.11"}, Run: run}
}

// truncPair is the compound outcome pair of a truncate row with a
// companion: the first form from the TRUNCATE ABI, the second before it.
func truncPair(denied, unrestricted string) func(check.Env) string {
	return byLibABI(check.ABITruncate, denied, unrestricted)
}

func init() {
	check.Build(func() {
		ftrunc := func(fd int) string { return check.Outcome(unix.Ftruncate(fd, 0)) }
		check.Register(mirrored(
			fdCase("memfd/ftruncate_not_restricted", truncPair("memfd=ok file=EACCES", "memfd=ok file=ok"), func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, check.AllFS&^fixture.ARefer, fixture.On("", rw)); err != nil {
					return fixture.EnforceFailed(err)
				}
				m, err := unix.MemfdCreate("llconform", unix.MFD_CLOEXEC)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(m)
				return pairs("memfd", ftrunc(m), "file", check.Outcome(unix.Truncate(t.Path("f"), 0)))
			}),
			fdCase("o_path/ftruncate_ebadf", truncPair("o_path=EBADF truncate=EACCES", "o_path=EBADF truncate=ok"), func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, check.AllFS&^fixture.ARefer, fixture.On("", rw)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("f"), unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				return pairs("o_path", ftrunc(fd), "truncate", check.Outcome(unix.Truncate(t.Path("f"), 0)))
			}),
			// Descriptors opened at three stages: before any layer, after a
			// layer granting TRUNCATE, after a second layer denying it. Each
			// keeps what its open allowed.
			fdCase("layer_stages/ftruncate_as_allowed_at_open", truncPair("before=ok layer1=ok layer2=EACCES", "before=ok layer1=ok layer2=ok"), func(t *check.T) string {
				t.Files("f")
				var fds []int
				defer func() {
					for _, fd := range fds {
						unix.Close(fd)
					}
				}()
				open := func() error {
					fd, err := unix.Open(t.Path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
					if err == nil {
						fds = append(fds, fd)
					}
					return err
				}
				if err := open(); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, rwt, fixture.On("", rwt)); err != nil {
					return fixture.EnforceFailed(err)
				}
				if err := open(); err != nil {
					return "open after layer 1: " + check.Outcome(err)
				}
				if err := fixture.EnforceFS(t, rwt, fixture.On("", rw)); err != nil {
					return fixture.EnforceFailed(err)
				}
				if err := open(); err != nil {
					return "open after layer 2: " + check.Outcome(err)
				}
				return pairs("before", ftrunc(fds[0]), "layer1", ftrunc(fds[1]), "layer2", ftrunc(fds[2]))
			}),
			// A later layer granting TRUNCATE does not undo an earlier denial.
			fdCase("layer_stages/later_grant_does_not_undo_denial", truncateDenied, func(t *check.T) string {
				t.Files("f")
				if err := enforceLayers(t, fsLayerSpec{rwt, []fixture.Rule{fixture.On("", rw)}}, fsLayerSpec{rwt, []fixture.Rule{fixture.On("", rwt)}}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return check.Outcome(ftruncateAfterOpen(t.Path("f"), unix.O_WRONLY))
			}),
			// fallocate on a descriptor opened for writing without TRUNCATE:
			// allocation and hole punching are not truncation; the companion
			// ftruncate on the same descriptor is.
			fdCase("fallocate/extend_and_punch_hole_not_truncation", truncPair("extend=ok punch_hole=ok ftruncate=EACCES", "extend=ok punch_hole=ok ftruncate=ok"), func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, rwt, fixture.On("", rw)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("f"), unix.O_RDWR|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				return pairs("extend", check.Outcome(unix.Fallocate(fd, 0, 0, 8192)),
					"punch_hole", check.Outcome(unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 4096)),
					"ftruncate", ftrunc(fd))
			}),
			// FALLOC_FL_COLLAPSE_RANGE shortens a file on the filesystems that
			// support it (landlock.rst: it sidesteps TRUNCATE); tmpfs does not
			// (EOPNOTSUPP). Either way it is never Landlock's EACCES.
			fdCase("fallocate/collapse_range_not_checked", func(e check.Env) string {
				if e.LibABI() >= check.ABITruncate {
					return "collapse=ok ftruncate=EACCES|collapse=EOPNOTSUPP ftruncate=EACCES"
				}
				return "collapse=ok ftruncate=ok|collapse=EOPNOTSUPP ftruncate=ok"
			}, func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, rwt, fixture.On("", rw)); err != nil {
					return fixture.EnforceFailed(err)
				}
				fd, err := unix.Open(t.Path("f"), unix.O_RDWR|unix.O_CLOEXEC, 0)
				if err != nil {
					return "open: " + check.Outcome(err)
				}
				defer unix.Close(fd)
				if err := unix.Fallocate(fd, 0, 0, 1<<20); err != nil {
					return check.SetupFailedf("fallocate: %s", check.Outcome(err))
				}
				var st unix.Statfs_t
				unix.Fstatfs(fd, &st)
				block := int64(st.Bsize)
				if block <= 0 {
					block = 4096
				}
				return pairs("collapse", check.Outcome(unix.Fallocate(fd, unix.FALLOC_FL_COLLAPSE_RANGE, 0, block)), "ftruncate", ftrunc(fd))
			}),
			check.Case{Area: "truncate", Name: "truncate/rule_on_the_file_grants_it", Covers: []string{"fs.9", "§3.6"},
				Want: truncPair("f=ok g=EACCES", "f=ok g=ok"), Run: func(t *check.T) string {
					t.Files("f", "g")
					if err := fixture.EnforceFS(t, rwt, fixture.On("", rw), fixture.On("f", fixture.ATrunc)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return pairs("f", check.Outcome(unix.Truncate(t.Path("f"), 0)), "g", check.Outcome(unix.Truncate(t.Path("g"), 0)))
				}},
			// The file reached decides, not the symbolic link.
			check.Case{Area: "truncate", Name: "truncate/through_symlink_to_denied_target", Covers: []string{"fs.9", "fs.4", "§3.6"},
				Want: truncateDenied, Run: func(t *check.T) string {
					if err := fixture.Layout(t, "b/f", "a/l->../b/f"); err != nil {
						return check.SetupFailed(err)
					}
					if err := fixture.EnforceFS(t, rwt, fixture.On("a", rwt), fixture.On("b", rw)); err != nil {
						return fixture.EnforceFailed(err)
					}
					return check.Outcome(unix.Truncate(t.Path("a/l"), 0))
				}},
		)...)

		// The right is bound to the descriptor: a process outside every domain
		// (started before the enforcement) that receives it over SCM_RIGHTS
		// gets the same answer.
		for _, granted := range []bool{false, true} {
			granted := granted
			name, want, grant := "fd_passed_to_unsandboxed_process/ftruncate_denied", truncateDenied, rw
			if granted {
				name, want, grant = "fd_passed_to_unsandboxed_process/ftruncate_allowed_with_truncate", check.Allowed, rwt
			}
			check.Register(mirrored(fdCase(name, want, func(t *check.T) string {
				t.Files("f")
				return withReceiver(t, "ftruncate", func() error { return fixture.EnforceFS(t, rwt, fixture.On("", grant)) }, func() (int, error) {
					return unix.Open(t.Path("f"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
				})
			}))...)
		}
	})
}

// withReceiver forks an unsandboxed helper process (a tiny program, see
// receiverProgram) before enforcing, then opens a descriptor in the domain
// and passes it to the helper over SCM_RIGHTS; the helper runs op on it
// and exits with the errno.
func withReceiver(t *check.T, op string, enforce func() error, open func() (int, error)) string {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return check.SetupFailed(err)
	}
	defer unix.Close(sp[0])
	prog := t.Path("receiver")
	if err := writeProgram(prog, tinyasm.ReceiverProgram(op)); err != nil {
		unix.Close(sp[1])
		return check.SetupFailed(err)
	}
	// Forked from this thread before the enforcement: outside the domain.
	// The socket is the helper's descriptor 3 (and 0-2).
	peer := uintptr(sp[1])
	pid, err := syscall.ForkExec(prog, []string{prog}, &syscall.ProcAttr{Env: []string{}, Files: []uintptr{peer, peer, peer, peer}})
	unix.Close(sp[1])
	if err != nil {
		return check.SetupFailedf("helper: %s", check.Outcome(err))
	}
	done := false
	defer func() {
		if !done {
			unix.Kill(pid, unix.SIGKILL)
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
	}()
	if err := enforce(); err != nil {
		return fixture.EnforceFailed(err)
	}
	fd, err := open()
	if err != nil {
		return "open: " + check.Outcome(err)
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(sp[0], []byte{1}, unix.UnixRights(fd), nil, 0); err != nil {
		return "sendmsg: " + check.Outcome(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return "wait: " + check.Outcome(err)
	}
	done = true
	if !ws.Exited() {
		return "helper: " + ws.Signal().String()
	}
	t.Logf("the helper process received the descriptor")
	if ws.ExitStatus() == 0 {
		return check.OK
	}
	return check.Outcome(unix.Errno(ws.ExitStatus()))
}
