package suites

import (
	"os"
	"sync"

	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Credentials (landlock.rst "Inheritance": a domain is part of a task's
// credentials, kept by every thread and process it creates and by
// execve; "once a thread is landlocked, there is no way to remove its
// security policy"). The domains here handle READ_DIR with no rule, so
// that opening "/" as a directory, which DAC allows to everyone, is
// refused by Landlock alone (EACCES).

var credsCovers = []string{"§3.4", "sec.1"}

var readDirDenied = landlock.Policy{FS: landlock.FSReadDir}

const openDirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC

func credsCase(name string, skip, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "creds", Name: name, Skip: skip, Want: want, Covers: credsCovers, Run: run}
}

// dirDenied is EACCES where the library's ABI has a domain, ok without.
var dirDenied = check.DeniedFrom(check.ABILandlock, "EACCES")

// keyctl constants (linux/keyctl.h).
const (
	keyctlGetKeyringID     = 0
	keyctlJoinSession      = 1
	keyctlSessionToParent  = 18
	keySpecSessionKeyring  = -3
	keyctlCreateIfMissing0 = 0
)

// noKeys is an environment skip: kernels without key management.
var keysErr = sync.OnceValue(func() error {
	_, _, e := unix.Syscall(unix.SYS_KEYCTL, keyctlGetKeyringID, uintptr(keySpecSessionKeyring&0xffffffff), keyctlCreateIfMissing0)
	if e == unix.ENOSYS || e == unix.EOPNOTSUPP {
		return e
	}
	return nil
})

func noKeys(check.Env) string {
	if err := keysErr(); err != nil {
		return "no key management in this kernel (CONFIG_KEYS; keyctl: " + check.Outcome(err) + ")"
	}
	return ""
}

// sessionToParentProgram is a single-threaded process (KEYCTL_SESSION_TO
// _PARENT refuses a multithreaded parent) in the case thread's domain: it
// joins a session keyring, opens "/", forks a child that joins another
// session keyring and installs it on its parent, waits for it, and opens
// "/" again with the credentials the child gave it. The child reports the
// keyctl result; the parent its two opens.
func sessionToParentProgram() []byte {
	p := tinyasm.New()
	root := p.Cstr("/")
	p.SysTo(2, tinyasm.SysKeyctl, tinyasm.Imm(keyctlJoinSession), tinyasm.Imm(0))
	p.SysTo(3, tinyasm.SysOpen, root, tinyasm.Imm(openDirFlags))
	p.SysTo(4, tinyasm.SysFork)
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcNe, "parent")
	p.Sys(tinyasm.SysKeyctl, tinyasm.Imm(keyctlJoinSession), tinyasm.Imm(0))
	p.SysTo(10, tinyasm.SysKeyctl, tinyasm.Imm(keyctlSessionToParent))
	p.Report(3, 10, 1)
	p.ExitGroup(tinyasm.Imm(0))
	p.Label("parent")
	p.SysTo(5, tinyasm.SysWait4, tinyasm.SlotVal(4), tinyasm.SlotAddr(6), tinyasm.Imm(0), tinyasm.Imm(0))
	// The new credentials are installed on the way back to user space
	// from wait4 (task work): this open is made with them.
	p.SysTo(7, tinyasm.SysOpen, root, tinyasm.Imm(openDirFlags))
	p.SysTo(8, tinyasm.SysKeyctl, tinyasm.Imm(keyctlGetKeyringID), tinyasm.Imm(keySpecSessionKeyring), tinyasm.Imm(0))
	p.Report(3, 2, 7)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

// openRootProgram opens "/" as a directory and reports the result.
func openRootProgram() []byte {
	p := tinyasm.New()
	p.SysTo(2, tinyasm.SysOpen, p.Cstr("/"), tinyasm.Imm(openDirFlags))
	p.Report(3, 2, 1)
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

// threadOpenRootProgram creates a thread (clone with CLONE_THREAD) that
// opens "/" as a directory, waits for it to exit and reports its result.
func threadOpenRootProgram() []byte {
	p := tinyasm.New()
	root := p.Cstr("/")
	const childStack = 1536 // slot: the thread's stack top, 12 KiB above rsp
	flags := unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD |
		unix.CLONE_SYSVSEM | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	p.SetSlot(10, 0)  // the thread's tid, cleared by the kernel when it exits
	p.SetSlot(12, -1) // its result
	p.SysTo(11, tinyasm.SysClone, tinyasm.Imm(flags), tinyasm.SlotAddr(childStack), tinyasm.SlotAddr(10), tinyasm.SlotAddr(10), tinyasm.Imm(0))
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcEq, "thread")
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcLt, "joined") // clone failed: report -1
	p.Label("wait")
	p.LoadRax(10)
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcEq, "joined")
	// FUTEX_WAIT expects the tid just compared (slot 13), not a second
	// read of slot 10: had the thread exited between the two reads, the
	// wait would expect 0, find 0 and sleep with no wake to come (seen
	// once in an arm64 soak: the case timed out after 20 s).
	p.Save(13)
	p.Sys(tinyasm.SysFutex, tinyasm.SlotAddr(10), tinyasm.Imm(0 /* FUTEX_WAIT */), tinyasm.SlotVal(13), tinyasm.Imm(0))
	p.Jump("wait")
	p.Label("joined")
	p.Report(3, 11, 2)
	p.ExitGroup(tinyasm.Imm(0))
	p.Label("thread")
	p.Frame = -8 * childStack // the same slots, seen from the thread's stack
	p.SysTo(12, tinyasm.SysOpen, root, tinyasm.Imm(openDirFlags))
	p.Sys(tinyasm.SysExit, tinyasm.Imm(0))
	p.Frame = 0
	return p.Bytes()
}

// forkOpenRootProgram forks a child that opens "/" as a directory and
// reports the result.
func forkOpenRootProgram() []byte {
	p := tinyasm.New()
	p.SysTo(4, tinyasm.SysFork)
	p.CmpRax(0)
	p.JumpIf(tinyasm.CcNe, "parent")
	p.SysTo(2, tinyasm.SysOpen, p.Cstr("/"), tinyasm.Imm(openDirFlags))
	p.Report(3, 2, 1)
	p.ExitGroup(tinyasm.Imm(0))
	p.Label("parent")
	p.Sys(tinyasm.SysWait4, tinyasm.SlotVal(4), tinyasm.Imm(0), tinyasm.Imm(0), tinyasm.Imm(0))
	p.ExitGroup(tinyasm.Imm(0))
	return p.Bytes()
}

// runReporting starts prog from the calling thread and reads n results,
// the first of which is read as the program's first report.
func runReporting(dir string, prog []byte, n int) ([]int64, error) {
	p, err := fixture.StartProgram(dir, prog, false)
	if err != nil {
		return nil, err
	}
	defer p.Kill() // a child of this thread, in its domain or not
	rest := []int64{}
	if n > 1 {
		if rest, err = p.Read(n - 1); err != nil {
			return nil, err
		}
	}
	return append([]int64{p.Layer}, rest...), nil
}

func openDirOutcome() string { return check.Outcome(fixture.OpenClose("/", openDirFlags)) }

func init() {
	check.Build(func() { // CVE-2024-42318: KEYCTL_SESSION_TO_PARENT installs credentials on
		// the parent that are copied by the cred_transfer hook, not by
		// cred_prepare; a kernel whose Landlock lacked that hook gave the
		// parent credentials without a domain. The parent must still be
		// denied after the transfer. A kernel without the fix fails.
		check.Register(mirrored(credsCase("keyctl_session_to_parent_keeps_parent_domain", noKeys, func(e check.Env) string {
			d := dirDenied(e)
			return check.Steps(check.Saw("before", d), check.Saw("transfer", check.OK), check.Saw("after", d))
		}, func(t *check.T) string {
			dir := t.Root()
			if err := t.Enforce(readDirDenied); err != nil {
				return fixture.EnforceFailed(err)
			}
			r, err := runReporting(dir, sessionToParentProgram(), 8)
			if err != nil {
				return check.SetupFailedf("%v", err)
			}
			// r[0]: the child's SESSION_TO_PARENT; r[1..6]: the parent's
			// slots 2..8 (join, open before, fork, wait4, status, open
			// after, session keyring after).
			t.Logf("parent join %s, fork %s, wait4 %s", fixture.OkOrErr(r[1]), fixture.OkOrErr(r[3]), fixture.OkOrErr(r[4]))
			transfer := fixture.Result(r[0])
			if r[0] == 0 && r[7] == r[1] {
				transfer = "not applied (the parent's session keyring is unchanged)"
			}
			after := fixture.OkOrErr(r[6])
			if after == check.OK && dirDenied(t.Env) != check.OK {
				t.Logf("the parent lost its domain: %s (%s)", check.FixCredTransfer.What, check.FixCredTransfer.Ref)
			}
			return check.Steps(check.Saw("before", fixture.OkOrErr(r[2])), check.Saw("transfer", transfer), check.Saw("after", after))
		}).Deviating(check.FixCredTransfer.Without("before=EACCES transfer=ok after=ok")).Covering("§6.10"))...)

		check.Register(
			// A program executed from the domain is in it; before the domain
			// the same program may open "/".
			credsCase("domain_survives_exec", nil, func(e check.Env) string {
				return "before=ok after=" + dirDenied(e)
			}, func(t *check.T) string {
				dir := t.Root()
				before, err := runReporting(dir, openRootProgram(), 1)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				if err := t.Enforce(readDirDenied); err != nil {
					return fixture.EnforceFailed(err)
				}
				after, err := runReporting(dir, openRootProgram(), 1)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				return check.Steps(check.Saw("before", fixture.OkOrErr(before[0])), check.Saw("after", fixture.OkOrErr(after[0])))
			}),
			credsCase("domain_inherited_by_forked_child", nil, dirDenied, func(t *check.T) string {
				dir := t.Root()
				if err := t.Enforce(readDirDenied); err != nil {
					return fixture.EnforceFailed(err)
				}
				r, err := runReporting(dir, forkOpenRootProgram(), 1)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				return fixture.OkOrErr(r[0])
			}),
			credsCase("domain_inherited_by_new_thread", nil, func(e check.Env) string { return "clone=ok thread=" + dirDenied(e) }, func(t *check.T) string {
				dir := t.Root()
				if err := t.Enforce(readDirDenied); err != nil {
					return fixture.EnforceFailed(err)
				}
				r, err := runReporting(dir, threadOpenRootProgram(), 2)
				if err != nil {
					return check.SetupFailedf("%v", err)
				}
				return check.Steps(check.Saw("clone", fixture.OkOrErr(r[0])), check.Saw("thread", fixture.OkOrErr(r[1])))
			}),
			// Credential changes the user is allowed (root: to nobody;
			// others: to their own ids) make new credentials that keep the
			// domain. Raw calls change the case thread only.
			credsCase("domain_survives_setresuid_and_setresgid", nil, func(e check.Env) string {
				return "setresgid=ok setresuid=ok open=" + dirDenied(e)
			}, func(t *check.T) string {
				if err := t.Enforce(readDirDenied); err != nil {
					return fixture.EnforceFailed(err)
				}
				uid, gid := os.Getuid(), os.Getgid()
				if t.Env.Root {
					uid, gid = 65534, 65534
				}
				_, _, eg := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid))
				_, _, eu := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid))
				return check.Steps(check.Did("setresgid", fixture.RawErr(eg)), check.Did("setresuid", fixture.RawErr(eu)), check.Saw("open", openDirOutcome()))
			}),
			credsCase("domain_survives_dropping_capabilities", nil, func(e check.Env) string {
				return "capset=ok open=" + dirDenied(e)
			}, func(t *check.T) string {
				if err := t.Enforce(readDirDenied); err != nil {
					return fixture.EnforceFailed(err)
				}
				hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
				var data [2]unix.CapUserData // no capability at all
				err := unix.Capset(&hdr, &data[0])
				return check.Steps(check.Did("capset", err), check.Saw("open", openDirOutcome()))
			}),
			// The companion of the cases above: without a domain the same
			// open succeeds, so their EACCES is Landlock's.
			credsCase("open_root_directory_unsandboxed_allowed", nil, check.Allowed, func(t *check.T) string { return openDirOutcome() }),
		)
	})
}
