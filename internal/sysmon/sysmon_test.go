package sysmon

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// report is what the helper process saw after Quiet.
type report struct {
	Pid           int   `json:"pid"`
	Sysmon        int   `json:"sysmon"`         // the thread Quiet demoted
	Idle          []int `json:"idle"`           // threads at SCHED_IDLE after Quiet
	IdleAfterCase []int `json:"idle_after_set"` // after a thread inherited SCHED_IDLE and settle ran
	NormalWorked  bool  `json:"normal_worked"`  // Normal set an inherited SCHED_IDLE thread back
}

const helperEnv = "SYSMON_TEST_HELPER"

// TestMain lets the test binary be the helper: a fresh process, so that
// its sysmon is the first thread after main's.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helper()
		return
	}
	os.Exit(m.Run())
}

func helper() {
	if os.Getenv(helperEnv) == "may-restore" {
		// What RLIMIT_NICE ≥ NiceLimit grants the VM's processes, the
		// test's CAP_SYS_NICE grants here.
		mayRestore = func() bool { return true }
	}
	Quiet()
	var r report
	r.Pid, r.Sysmon = os.Getpid(), int(tid.Load())
	r.Idle = idleThreads()
	// A thread that inherited SCHED_IDLE (as one the runtime clones from
	// sysmon would): Normal on it, then settle for one left behind.
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		setPolicy(0, schedIdle)
		Normal()
		a, err := unix.SchedGetAttr(0, 0)
		r.NormalWorked = err == nil && a.Policy == schedOther
		setPolicy(0, schedIdle)
		done <- true
		<-done
	}()
	<-done
	settle()
	r.IdleAfterCase = idleThreads()
	done <- true
	json.NewEncoder(os.Stdout).Encode(r)
}

func idleThreads() []int {
	var out []int
	for _, t := range threads() {
		if a, err := unix.SchedGetAttr(t, 0); err == nil && a.Policy == schedIdle {
			out = append(out, t)
		}
	}
	return out
}

func runHelper(t *testing.T, procs, mode string) report {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "GOMAXPROCS="+procs)
	out, err := cmd.Output()
	assert.NilError(t, err)
	var r report
	assert.NilError(t, json.Unmarshal(out, &r))
	return r
}

// needsSysNice skips where the test cannot set threads back itself.
func needsSysNice(t *testing.T) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil || data[0].Effective&(1<<unix.CAP_SYS_NICE) == 0 {
		t.Skip("setting a thread back from SCHED_IDLE here needs CAP_SYS_NICE")
	}
}

func TestQuietDemotesSysmonAloneOnOneCPU(t *testing.T) {
	needsSysNice(t)
	r := runHelper(t, "1", "may-restore")
	assert.Assert(t, r.Sysmon != 0, "Quiet did not act on one CPU")
	assert.Assert(t, r.Sysmon != r.Pid, "Quiet demoted the main thread")
	assert.DeepEqual(t, r.Idle, []int{r.Sysmon})
	assert.Assert(t, r.NormalWorked, "Normal left the thread at SCHED_IDLE")
	assert.DeepEqual(t, r.IdleAfterCase, []int{r.Sysmon})
}

// The real gate: RLIMIT_NICE below NiceLimit (0 by default) leaves every
// thread as it is.
func TestQuietLeavesThreadsWhereTheyCannotComeBack(t *testing.T) {
	var lim unix.Rlimit
	assert.NilError(t, unix.Getrlimit(unix.RLIMIT_NICE, &lim))
	if lim.Cur >= NiceLimit {
		t.Skipf("RLIMIT_NICE is %d here: the gate is open", lim.Cur)
	}
	r := runHelper(t, "1", "rlimit")
	assert.Equal(t, r.Sysmon, 0)
	assert.Assert(t, len(r.Idle) == 0, "threads at SCHED_IDLE: %v", r.Idle)
}

func TestQuietLeavesSeveralCPUsAlone(t *testing.T) {
	r := runHelper(t, "2", "may-restore")
	assert.Equal(t, r.Sysmon, 0)
	assert.Assert(t, len(r.Idle) == 0, "threads at SCHED_IDLE: %v", r.Idle)
}
