package agent

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites/check"
	"golang.org/x/sys/unix"
)

// DetectEnv reads the running kernel's Landlock facts: the environment the
// expectations are computed for, and the header record of the stream.
func DetectEnv(ceiling int) (check.Env, results.Env, error) {
	st, err := landlock.Probe()
	if err != nil {
		return check.Env{}, results.Env{}, err
	}
	mask, known, err := landlock.Errata()
	if err != nil {
		return check.Env{}, results.Env{}, err
	}
	var u unix.Utsname
	_ = unix.Uname(&u) // on failure the release stays "": unreadable
	env := check.Env{State: st.State, ABI: st.ABI, Errata: mask, ErrataKnown: known, Root: os.Geteuid() == 0, Ceiling: ceiling,
		Release: unix.ByteSliceToString(u.Release[:])}
	hdr := results.Env{
		Release:        unix.ByteSliceToString(u.Release[:]),
		Arch:           unix.ByteSliceToString(u.Machine[:]),
		Cmdline:        readTrim("/proc/cmdline"),
		LandlockStatus: st.State,
		ABI:            st.ABI,
		Errata:         mask,
		ErrataKnown:    known,
		LSM:            readTrim("/sys/kernel/security/lsm"),
		UID:            os.Geteuid(),
		ABICeiling:     ceiling,
		UptimeMS:       uptime().Milliseconds(),
		KnownConsole:   check.KnownConsole(env),
		Modules:        loadedModules,
	}
	return env, hdr, nil
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// uptime is the time since boot, from /proc/uptime.
func uptime() time.Duration {
	f := strings.Fields(readTrim("/proc/uptime"))
	if len(f) == 0 {
		return 0
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
