package suites

// The tiny programs of this machine's architecture (tinyArch): x86-64's
// are written by hand next to their cases, arm64's in asm_aarch64.go.

// exitProgram exits with 0.
func exitProgram() []byte {
	if tinyArch == "arm64" {
		return a64ExitProgram()
	}
	return tinyELF(exitCode)
}

// pauseProgram waits for a signal, then exits with 0.
func pauseProgram() []byte {
	if tinyArch == "arm64" {
		return a64PauseProgram()
	}
	return tinyELF(pauseCode)
}

// readProgram reads one byte from its standard input, then exits with 0.
func readProgram() []byte {
	if tinyArch == "arm64" {
		return a64ReadProgram()
	}
	return tinyELF(readCode)
}
