// Package fakeqemu puts a fake qemu-system-x86_64 and qemu-system-aarch64
// first on PATH for tests of what the host does when a VM misbehaves,
// without booting one. The fake reads its behaviour from the file given as
// -kernel, so each target of a matrix can fail its own way, counts its
// boots next to that file and keeps the command line of the last boot
// there.
package fakeqemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Behaviours of the fake guest, written into a kernel file by Kernel.
const (
	Complete     = "complete"      // header, three cases, done
	Truncated    = "truncated"     // header and one case, then a clean exit
	TruncateOnce = "truncate-once" // Truncated on the first boot, Complete after
	Killed       = "killed"        // header and one case, then QEMU dies by SIGKILL
	Reset        = "reset"         // exit 0 at once, nothing on either port
	Panic        = "panic"         // header, then a kernel panic on the console
	Hang         = "hang"          // header and one case, then nothing until killed
	// Halt: the whole stream and its done record, then the console line
	// of a kernel that cannot power off (x86 without ACPI), and no exit.
	Halt = "halt"
)

// Cases is how many cases a complete fake stream holds.
const Cases = 3

const script = `#!/bin/sh
# A fake qemu-system-x86_64 / qemu-system-aarch64 (llconform internal/fakeqemu).
console=; kernel=; all="$(basename "$0") $*"
while [ $# -gt 0 ]; do
	case "$1" in
	-serial) case "$2" in file:*) console="${2#file:}" ;; esac; shift ;;
	-kernel) kernel="$2"; shift ;;
	esac
	shift
done
# One line per boot, appended: two boots of one kernel at once (its two
# passes) each count.
echo boot >>"$kernel.boots"
n=$(wc -l <"$kernel.boots")
echo "$all" >"$kernel.args"
mode=$(cat "$kernel")
: >"$console"
header() {
	echo "Linux version 6.1.0-fake ($kernel) boot $n" >>"$console"
	echo '{"type":"header","env":{"release":"6.1.0-fake","landlock_status":"enabled","abi":2,"errata":0,"errata_known":true,"uid":0,"planned_cases":3}}'
}
cases() {
	i=1
	while [ $i -le $1 ]; do
		echo '{"type":"case","case":{"area":"base","name":"fake/'$i'","priv":"root","verdict":"pass","expected":"ok","observed":"ok","duration_us":1}}'
		i=$((i + 1))
	done
}
complete() { header; cases 3; echo '{"type":"done","count":3}'; }
case "$mode" in
complete) complete ;;
truncated) header; cases 1 ;;
truncate-once) if [ $n -eq 1 ]; then header; cases 1; else complete; fi ;;
killed) header; cases 1; kill -KILL $$ ;;
reset) ;;
panic) header; echo "[    1.234567] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b" >>"$console" ;;
hang) header; cases 1; exec sleep 600 ;;
halt) complete; echo "[    9.876543] reboot: Power off not available: System halted instead" >>"$console"; exec sleep 600 ;;
*) echo "fake qemu: unknown behaviour $mode" >&2; exit 1 ;;
esac
`

// Install writes the fake QEMU into a temporary directory put first on
// PATH for the rest of the test, and makes the accelerator TCG (no KVM
// probe with a fake).
func Install(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"qemu-system-x86_64", "qemu-system-aarch64"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("LLCONFORM_ACCEL", "tcg")
}

// Kernel returns a kernel file that makes the fake guest behave so.
func Kernel(t testing.TB, behaviour string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), behaviour+"-*.img")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(behaviour); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// Boots returns how often the fake booted a kernel file.
func Boots(t testing.TB, kernel string) int {
	t.Helper()
	b, err := os.ReadFile(kernel + ".boots")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// Args returns the command line of the last boot of a kernel file: the
// binary's name, then its arguments, separated by blanks.
func Args(t testing.TB, kernel string) string {
	t.Helper()
	b, err := os.ReadFile(kernel + ".args")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
