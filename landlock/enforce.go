package landlock

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Threads says which threads of the process Enforce restricts.
type Threads int

const (
	// AllThreads restricts every thread: TSYNC on ABI ≥ 8, otherwise
	// syscall.AllThreadsSyscall (needs a binary built with CGO_ENABLED=0).
	AllThreads Threads = iota
	// CurrentThread restricts only the calling OS thread (and the threads
	// and processes it later creates). The caller must hold
	// runtime.LockOSThread, or the Go scheduler moves it to other threads.
	CurrentThread
)

// Config says how to enforce a policy.
type Config struct {
	Mode    Mode
	Threads Threads
	// MaxABI is an ABI ceiling: act as if the kernel had at most this ABI.
	// 0 means no ceiling, unless the LLCONFORM_MAX_ABI variable sets one.
	MaxABI int
}

// ErrCgoThreads is returned when all threads must be restricted on a
// kernel without TSYNC and the binary uses cgo (AllThreadsSyscall refuses).
var ErrCgoThreads = errors.New("landlock: cannot restrict all threads: the kernel has no TSYNC (ABI < 8) and syscall.AllThreadsSyscall is unavailable with cgo; build with CGO_ENABLED=0, or use Config{Threads: CurrentThread} from a single-threaded point")

// effectiveABI combines the kernel status and the ceiling.
func (c Config) effectiveABI(s Status) (abi, ceiling int, err error) {
	ceiling = c.MaxABI
	if ceiling == 0 {
		if ceiling, err = ceilingFromEnv(); err != nil {
			return 0, 0, err
		}
	}
	abi = s.ABI
	if ceiling > 0 && ceiling < abi {
		abi = ceiling
	}
	return abi, ceiling, nil
}

// Enforce applies the policy to the running process as cfg says and
// returns the report. In BestEffort mode a kernel without Landlock is not
// an error: the report says "not enforced".
func (p Policy) Enforce(cfg Config) (Report, error) {
	st, err := Probe()
	if err != nil {
		return Report{}, err
	}
	abi, ceiling, err := cfg.effectiveABI(st)
	if err != nil {
		return Report{}, err
	}
	plan, err := p.Plan(abi, cfg.Mode)
	plan.Report.Kernel, plan.Report.Ceiling = st, ceiling
	if err != nil {
		return plan.Report, err
	}
	if !plan.Enforce {
		return plan.Report, nil
	}
	err = plan.apply(abi, cfg.Threads, !p.KeepPrivileges)
	return plan.Report, err
}

// plantedCurrentThreadOnly is set only in a build with the tag
// llconform_plant_current_thread: a defect planted on purpose (the library
// restricts only the calling thread, whatever it is asked), which the
// all-thread cases of the suites must catch.
var plantedCurrentThreadOnly bool

// apply creates the ruleset, adds the rules and restricts the threads.
func (pl *Plan) apply(abi int, threads Threads, nnp bool) error {
	if plantedCurrentThreadOnly {
		threads = CurrentThread
	}
	fd, err := createRuleset(pl.Attr)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, pr := range pl.rules {
		if err := pl.addRule(fd, pr); err != nil {
			return err
		}
	}

	flags := pl.Flags
	useNNPFlag := nnp && abi >= FeatureABI("LANDLOCK_RESTRICT_SELF_NO_NEW_PRIVS")
	if useNNPFlag {
		flags |= RestrictNoNewPrivs
	}
	switch {
	case !nnp:
		pl.Report.NoNewPrivs = "not set"
	case useNNPFlag:
		pl.Report.NoNewPrivs = "flag"
	default:
		pl.Report.NoNewPrivs = "prctl"
	}

	switch {
	case threads == CurrentThread:
		pl.Report.Threads = "current thread only"
		return restrictCurrent(fd, flags, nnp && !useNNPFlag)
	case abi >= FeatureABI("LANDLOCK_RESTRICT_SELF_TSYNC"):
		pl.Report.Threads = "all threads (TSYNC)"
		return restrictCurrent(fd, flags|RestrictTSync, nnp && !useNNPFlag)
	default:
		pl.Report.Threads = "all threads (AllThreadsSyscall)"
		if nnp {
			if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
				if e == unix.ENOTSUP {
					return ErrCgoThreads
				}
				return fmt.Errorf("landlock: prctl(PR_SET_NO_NEW_PRIVS) on all threads: %w", e)
			}
		}
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(fd), uintptr(flags), 0); e != 0 {
			if e == unix.ENOTSUP {
				return ErrCgoThreads
			}
			return fmt.Errorf("landlock_restrict_self on all threads: %w", e)
		}
		return nil
	}
}

// restrictCurrent sets no_new_privs (when asked) and restricts the calling
// thread, both on the same OS thread: TSYNC then propagates both.
func restrictCurrent(fd int, flags RestrictFlags, prctlNNP bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if prctlNNP {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("landlock: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
	}
	if err := SysRestrictSelf(fd, uint32(flags)); err != nil {
		return fmt.Errorf("landlock_restrict_self(flags %v): %w", flags, err)
	}
	return nil
}

// addRule opens path rules with O_PATH and narrows a rule on a
// non-directory to the rights a file can carry.
func (pl *Plan) addRule(fd int, pr plannedRule) error {
	switch r := pr.rule.(type) {
	case PortRule:
		if err := addPortRule(fd, pr.net, r.Port, pr.flags); err != nil {
			return fmt.Errorf("landlock_add_rule(%v): %w", r, err)
		}
	case PathRule:
		pfd, err := unix.Open(r.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if r.IgnoreMissing && errors.Is(err, unix.ENOENT) {
				pl.Report.Skipped = append(pl.Report.Skipped, r.String()+": path does not exist")
				return nil
			}
			return fmt.Errorf("landlock: opening %s for a rule: %w", r.Path, err)
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err != nil {
			return fmt.Errorf("landlock: stat %s: %w", r.Path, err)
		}
		access := pr.fs
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= FileRights
		}
		if access == 0 && pr.flags == 0 {
			pl.Report.Skipped = append(pl.Report.Skipped, r.String()+": a file carries none of these rights")
			return nil
		}
		if err := addPathRule(fd, access, pfd, pr.flags); err != nil {
			return fmt.Errorf("landlock_add_rule(%v): %w", r, err)
		}
	}
	return nil
}
