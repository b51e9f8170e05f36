package results

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
)

// demoRun is a realistic nine-kernel matrix for looking at the reports.
func demoRun() *Run {
	type kdef struct {
		name, release string
		status        landlock.State
		abi           int
		expected      int
		pkg, ver      string
	}
	kernels := []kdef{
		{"5.10", "5.10.0-35-cloud-amd64", landlock.Absent, 0, 0, "linux-image-5.10.0-35-cloud-amd64", "5.10.237-1"},
		{"6.1", "6.1.0-40-cloud-amd64", landlock.Enabled, 2, 2, "linux-image-6.1.0-40-cloud-amd64", "6.1.153-1"},
		{"6.12", "6.12.48+deb13-cloud-amd64", landlock.Enabled, 6, 6, "linux-image-6.12.48+deb13-cloud-amd64", "6.12.48-1"},
		{"6.12-lsm-off", "6.12.48+deb13-cloud-amd64", landlock.Disabled, 0, 0, "linux-image-6.12.48+deb13-cloud-amd64", "6.12.48-1"},
		{"6.16", "6.16.12+deb13-cloud-amd64", landlock.Enabled, 6, 7, "linux-image-6.16.12+deb13-cloud-amd64", "6.16.12-1~bpo13+1"},
		{"7.0", "7.0.4+deb14-cloud-amd64", landlock.Enabled, 8, 8, "linux-binary-7.0.4+deb14-cloud-amd64", "7.0.4-1"},
		{"7.1", "7.1.2+deb14-cloud-amd64", landlock.Enabled, 9, 9, "linux-binary-7.1.2+deb14-cloud-amd64", "7.1.2-1"},
		{"7.2", "7.2.1+deb14-cloud-amd64", landlock.Enabled, 10, 10, "linux-binary-7.2.1+deb14-cloud-amd64", "7.2.1-1"},
		{"7.3", "7.3.0+deb14-cloud-amd64", landlock.Enabled, 11, 11, "linux-binary-7.3.0+deb14-cloud-amd64", "7.3.0-1"},
	}
	areas := map[string][]string{
		"base":      {"create_ruleset/version", "create_ruleset/unknown_flag_einval", "restrict_self/without_no_new_privs", "probe/restrict_flag/log_same_exec_off"},
		"fs":        {"read_file_denied", "layers/any_rule_of_a_layer_allows", "layers/every_layer_must_allow", "refer/link_across_directories_without_refer", "topology/mount_denied_when_fs_handled", "topology/chroot_allowed"},
		"truncate":  {"unhandled/truncate_allowed", "fd_opened_before_enforcement/ftruncate_allowed", "fd_passed_to_unsandboxed/ftruncate_denied"},
		"ioctl":     {"dev_zero/fd_opened_before_enforcement_allowed", "dev_null/fionread_denied"},
		"tcp":       {"bind_v4_denied", "bind_v6_denied", "connect_v4_denied"},
		"udp":       {"bind_v4_denied", "sendto_v4_denied"},
		"scope":     {"abstract_unix_connect_denied", "signal_to_parent_denied"},
		"downgrade": {"best_effort/maximal_policy", "strict/newer_right_fails"},
	}
	order := []string{"base", "fs", "truncate", "ioctl", "tcp", "udp", "scope", "downgrade"}
	start := time.Date(2026, 11, 5, 2, 0, 3, 0, time.UTC)
	run := &Run{Schema: SchemaVersion, ID: "20261105T020003Z-3f9c1a", Started: start, Finished: start.Add(104 * time.Second),
		Host: Host{Hostname: "ci-runner-7", Kernel: "6.18.9-amd64", CPUs: 2, Version: "v0.3.0-12-g0dd8d37"},
		Args: []string{"llconform", "matrix", "--out", "runs"}}
	for ki, kd := range kernels {
		var exp *int
		if kd.status == landlock.Enabled {
			exp = &kd.expected
		}
		k := KernelRun{Name: kd.name, Status: StatusComplete,
			Env: Env{Kernel: kd.name, Release: kd.release, Arch: "x86_64", LandlockStatus: kd.status, ABI: kd.abi,
				Cmdline: "console=ttyS0 panic=-1 quiet", LSM: "lockdown,capability,landlock,yama,apparmor,bpf",
				Package: kd.pkg, PackageVersion: kd.ver, Accel: "tcg", ExpectedABI: exp,
				SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte(kd.pkg+kd.ver)))},
			Timings: Timings{DownloadMS: 0, BootMS: 2100 + int64(ki)*180, SuitesMS: 3400 + int64(ki)*90, WallMS: 6100 + int64(ki)*300}}
		if kd.abi >= 1 {
			k.Env.ErrataKnown = kd.abi >= 7
			k.Env.Errata = 0x3
		}
		if kd.status == landlock.Disabled {
			k.Env.LSM = "lockdown,capability,yama,apparmor"
			k.Env.Cmdline += " lsm=lockdown,capability,yama,apparmor"
		}
		if kd.status == landlock.Enabled && kd.abi != kd.expected {
			k.Flags = append(k.Flags, fmt.Sprintf("ABI mismatch: catalog expects %d, kernel reports %d", kd.expected, kd.abi))
		}
		for _, a := range order {
			for j, n := range areas[a] {
				for _, priv := range []string{"root", "unpriv"} {
					c := Case{Area: a, Name: n, Priv: priv, Verdict: Pass, Expected: "EACCES", Observed: "EACCES",
						DurationUS: int64(300 + (ki*37+j*91)%2400)}
					if kd.status != landlock.Enabled || (a == "tcp" && kd.abi < 4) || (a == "truncate" && kd.abi < 3) {
						c.Expected, c.Observed = "ok", "ok"
					}
					if priv == "unpriv" && (n == "topology/mount_denied_when_fs_handled" || n == "topology/chroot_allowed") {
						c.Verdict, c.Expected, c.Observed, c.Detail = Skip, "", "", "not root: needs CAP_SYS_ADMIN"
					}
					if n == "bind_v6_denied" && kd.name == "6.1" {
						c.Verdict, c.Expected, c.Observed, c.Detail = Skip, "", "", "no IPv6 in this kernel config"
					}
					k.Cases = append(k.Cases, c)
				}
			}
		}
		switch kd.name {
		case "6.1": // every look a cell can have: a skip-only cell and an empty one
			var kept []Case
			for _, c := range k.Cases {
				if c.Area == "udp" && c.Name == "sendto_v4_denied" {
					continue
				}
				if c.Area == "udp" {
					c.Verdict, c.Expected, c.Observed, c.Detail = Skip, "", "", "no IPv6 in this kernel config"
				}
				kept = append(kept, c)
			}
			k.Cases = append(kept, Case{Area: "ptrace", Name: "trace_sibling_denied", Priv: "root", Verdict: Pass, Expected: "EPERM", Observed: "EPERM", DurationUS: 900})
		case "6.16":
			for i := range k.Cases {
				c := &k.Cases[i]
				if c.Area == "scope" && c.Name == "signal_to_parent_denied" {
					c.Verdict, c.Observed = Fail, "ok"
					c.Detail = "kill(getppid(), SIGUSR1) succeeded inside a domain with LANDLOCK_SCOPE_SIGNAL; " +
						"the kernel reports ABI 6 but the backported scope patch is missing <sig> & co."
				}
			}
		case "7.2":
			k.Cases = append(k.Cases, Case{Area: "fs", Name: "refer/eacces_takes_precedence_over_exdev", Priv: "unpriv",
				Verdict: Broken, Expected: "EACCES", DurationUS: 10_000_000, Detail: "case timed out after 10s; child killed"})
		case "7.0":
			k.Status, k.Reason = "broken", "no done record after 37 cases: crash, hang or truncated output"
			k.Cases = k.Cases[:37]
			tail := "[    3.412871] traps: PANIC: double fault, error_code: 0x0\n[    3.412874] CPU: 0 PID: 1 Comm: init Not tainted 7.0.4+deb14-cloud-amd64 #1\n[    3.412878] RIP: 0010:kmem_cache_alloc_noprof+0x5f/0x330\n[    3.413001] Kernel panic - not syncing: Machine halted.\n[    3.413120] ---[ end Kernel panic - not syncing: Machine halted. ]---"
			k.Attempts = []Attempt{
				{Status: "broken", Reason: "no done record after 12 cases", ConsoleLog: "console/7.0-1.log", ConsoleTail: tail, BootMS: 3400, WallMS: 5200},
				{Status: "broken", Reason: "no done record after 37 cases", ConsoleLog: "console/7.0-2.log", ConsoleTail: tail, BootMS: 3350, WallMS: 6900},
			}
		}
		if k.Attempts == nil {
			k.Attempts = []Attempt{{Status: StatusComplete, ConsoleLog: "console/" + kd.name + "-1.log", BootMS: k.Timings.BootMS, WallMS: k.Timings.WallMS}}
		}
		run.Kernels = append(run.Kernels, k)
	}
	return run
}

// TestDemoReport renders the demo run for a person to look at:
// LLCONFORM_REPORT_DEMO=/tmp/llconform-report-demo go test -run TestDemoReport ./results/
func TestDemoReport(t *testing.T) {
	dir := os.Getenv("LLCONFORM_REPORT_DEMO")
	if dir == "" {
		t.Skip("set LLCONFORM_REPORT_DEMO to a directory to render the demo reports into")
	}
	run := demoRun()
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, "console"), 0o755))
	for _, k := range run.Kernels {
		for _, a := range k.Attempts {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, a.ConsoleLog), []byte("SeaBIOS\nBooting from ROM...\n"+a.ConsoleTail+"\n"), 0o644))
		}
	}
	assert.NilError(t, WriteAll(dir, run))
	f, err := os.Create(filepath.Join(dir, "terminal.txt"))
	assert.NilError(t, err)
	defer f.Close()
	assert.NilError(t, Terminal(f, run, false))
	assert.NilError(t, Terminal(os.Stdout, run, true))
}

func TestDemoRunRenders(t *testing.T) {
	run := demoRun()
	for _, k := range run.Kernels {
		assert.NilError(t, JUnit(discard{}, k))
	}
	assert.NilError(t, HTML(discard{}, run))
	assert.NilError(t, Markdown(discard{}, run))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
