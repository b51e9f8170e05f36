package check

// Expectation builders. Each takes the ABI boundary from the case that
// uses it: the documentation is the oracle, not the landlock package.

// NoLandlock is the outcome of a raw syscall on a kernel without Landlock.
func NoLandlock(e Env) (string, bool) {
	switch e.State {
	case "absent":
		return "ENOSYS", true
	case "disabled":
		return "EOPNOTSUPP", true
	}
	return "", false
}

// Sys is the expectation of a raw syscall: ENOSYS/EOPNOTSUPP without
// Landlock, else what f says.
func Sys(f func(Env) string) func(Env) string {
	return func(e Env) string {
		if o, ok := NoLandlock(e); ok {
			return o
		}
		return f(e)
	}
}

// Always is a raw-syscall outcome that does not depend on the ABI.
func Always(o string) func(Env) string { return Sys(func(Env) string { return o }) }

// Since is a raw-syscall outcome: ok from ABI abi, before it.
func Since(abi int, before string) func(Env) string {
	return Sys(func(e Env) string {
		if e.ABI >= abi {
			return OK
		}
		return before
	})
}

// DeniedFrom is the outcome of an action under a best-effort library
// policy that handles a right introduced in ABI abi and does not grant
// it: errno when the library's ABI has the right, ok otherwise (the
// kernel cannot deny what it does not know; no Landlock means no sandbox).
func DeniedFrom(abi int, errno string) func(Env) string {
	return func(e Env) string {
		if e.LibABI() >= abi {
			return errno
		}
		return OK
	}
}

// Allowed is an outcome that must succeed on every kernel.
func Allowed(Env) string { return OK }

// NeedRoot skips cases that need capabilities only root has.
func NeedRoot(what string) func(Env) string {
	return func(e Env) string {
		if !e.Root {
			return "needs root (" + what + ")"
		}
		return ""
	}
}
