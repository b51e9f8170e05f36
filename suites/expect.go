package suites

// Expectation builders. Each takes the ABI boundary from the case that
// uses it: the documentation is the oracle, not the landlock package.

// noLandlock is the outcome of a raw syscall on a kernel without Landlock.
func noLandlock(e Env) (string, bool) {
	switch e.State {
	case "absent":
		return "ENOSYS", true
	case "disabled":
		return "EOPNOTSUPP", true
	}
	return "", false
}

// sys is the expectation of a raw syscall: ENOSYS/EOPNOTSUPP without
// Landlock, else what f says.
func sys(f func(Env) string) func(Env) string {
	return func(e Env) string {
		if o, ok := noLandlock(e); ok {
			return o
		}
		return f(e)
	}
}

// always is a raw-syscall outcome that does not depend on the ABI.
func always(o string) func(Env) string { return sys(func(Env) string { return o }) }

// since is a raw-syscall outcome: ok from ABI abi, before it.
func since(abi int, before string) func(Env) string {
	return sys(func(e Env) string {
		if e.ABI >= abi {
			return OK
		}
		return before
	})
}

// deniedFrom is the outcome of an action under a best-effort library
// policy that handles a right introduced in ABI abi and does not grant
// it: errno when the library's ABI has the right, ok otherwise (the
// kernel cannot deny what it does not know; no Landlock means no sandbox).
func deniedFrom(abi int, errno string) func(Env) string {
	return func(e Env) string {
		if e.LibABI() >= abi {
			return errno
		}
		return OK
	}
}

// allowed is an outcome that must succeed on every kernel.
func allowed(Env) string { return OK }

// needRoot skips cases that need capabilities only root has.
func needRoot(what string) func(Env) string {
	return func(e Env) string {
		if !e.Root {
			return "needs root (" + what + ")"
		}
		return ""
	}
}
