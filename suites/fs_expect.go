package suites

import "github.com/llconform/llconform/suites/check"

// fsSys is the expectation of a raw-syscall filesystem case: errno from
// abi on, ok before it (the kernel cannot deny what it does not know), and
// ENOSYS/EOPNOTSUPP without Landlock.
func fsSys(abi int, errno string) func(check.Env) string {
	return check.Sys(func(e check.Env) string {
		if e.ABI >= abi {
			return errno
		}
		return check.OK
	})
}

// byLibABI is a library-case expectation: denied where the library's ABI
// reaches abi, allowed otherwise (also without Landlock).
func byLibABI(abi int, denied, allowed string) func(check.Env) string {
	return func(e check.Env) string {
		if e.LibABI() >= abi {
			return denied
		}
		return allowed
	}
}
