// Package landlock drives the Linux Landlock LSM for ABI 1 to 11: the raw
// syscalls, an ABI table as data (Features), a policy builder, best-effort,
// soft-requirement and strict compatibility modes with an enforcement
// Report, enforcement on all threads, and an ABI ceiling for testing the
// downgrade path on a newer kernel.
//
// A program states what it wants once, for the newest ABI:
//
//	p := landlock.Policy{FS: landlock.FSRights(landlock.NewestABI)}
//	p.AllowPath("/usr", landlock.FSReadFile|landlock.FSReadDir|landlock.FSExecute)
//	report, err := p.Enforce(landlock.Config{Mode: landlock.BestEffort})
//
// and the package keeps exactly the part the running kernel supports (the
// documentation's compatibility switch), says what it dropped in the
// report, and restricts every thread of the process.
package landlock
