package results

import (
	"time"

	"github.com/llconform/llconform/landlock"
)

func intp(n int) *int { return &n }

func pass(area, name, priv, want string) Case {
	return Case{Area: area, Name: name, Priv: priv, Verdict: Pass, Expected: want, Observed: want, DurationUS: 850}
}

// fixture is a small run: 6.1 complete with a skip, 6.12 complete with one
// failing case and an ABI flag, 7.0 broken after a few cases.
func fixture() *Run {
	start := time.Date(2026, 11, 5, 14, 30, 0, 0, time.UTC)
	return &Run{
		Schema:   SchemaVersion,
		ID:       "20261105T143000Z-fixture",
		Started:  start,
		Finished: start.Add(95 * time.Second),
		Host:     Host{Hostname: "ci-1", Kernel: "6.18.0", CPUs: 2, Version: "v0.1.0"},
		Kernels: []KernelRun{
			{
				Name:   "6.1",
				Env:    Env{Kernel: "6.1", Release: "6.1.0-40-cloud-amd64", LandlockStatus: landlock.Enabled, ABI: 2, Accel: "tcg"},
				Status: StatusComplete,
				Cases: []Case{
					pass("base", "create_ruleset/version", "root", "ok"),
					pass("fs", "read_file_denied", "root", "EACCES"),
					pass("fs", "read_file_denied", "unpriv", "EACCES"),
					{Area: "tcp", Name: "bind_v6_denied", Priv: "root", Verdict: Skip, Detail: "no IPv6"},
				},
				Attempts: []Attempt{{Status: StatusComplete, ConsoleLog: "console/6.1-1.log", BootMS: 2100, WallMS: 4000}},
				Timings:  Timings{BootMS: 2100, SuitesMS: 1800, WallMS: 4000},
			},
			{
				Name:   "6.12",
				Env:    Env{Kernel: "6.12", Release: "6.12.48-cloud-amd64", LandlockStatus: landlock.Enabled, ABI: 6, ExpectedABI: intp(7), Accel: "tcg"},
				Status: StatusComplete,
				Flags:  []string{"ABI mismatch: catalog expects 7, kernel reports 6"},
				Cases: []Case{
					pass("base", "create_ruleset/version", "root", "ok"),
					pass("fs", "read_file_denied", "root", "EACCES"),
					{Area: "fs", Name: "read_file_denied", Priv: "unpriv", Verdict: Fail, Expected: "EACCES", Observed: "ok",
						Detail: `read <policy> & "quotes" succeeded`},
					{Area: "tcp", Name: "bind_v6_denied", Priv: "root", Verdict: Pass, Expected: "EACCES", Observed: "EACCES"},
				},
				Attempts: []Attempt{{Status: StatusComplete, ConsoleLog: "console/6.12-1.log"}},
			},
			{
				Name:   "7.0",
				Env:    Env{Kernel: "7.0", Release: "7.0.1-cloud-amd64", LandlockStatus: landlock.Enabled, ABI: 8},
				Status: "broken",
				Reason: "no done record after 2 cases: crash, hang or truncated output",
				Cases: []Case{
					pass("base", "create_ruleset/version", "root", "ok"),
					pass("fs", "read_file_denied", "root", "EACCES"),
				},
				Attempts: []Attempt{
					{Status: "broken", Reason: "no done record", ConsoleLog: "console/7.0-1.log", ConsoleTail: "[  3.1] Kernel panic - not syncing: <oops>"},
					{Status: "broken", Reason: "no done record", ConsoleLog: "console/7.0-2.log", ConsoleTail: "[  3.2] Kernel panic - not syncing: double fault"},
				},
			},
		},
	}
}
