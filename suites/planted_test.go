package suites_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites"
	"gotest.tools/v3/assert"
)

// The expectations must not mirror the library's ABI table: a wrong row
// planted there has to make cases fail on a kernel that has the feature.
func TestPlantedTableErrorIsCaught(t *testing.T) {
	env, _, err := agent.DetectEnv(0)
	assert.NilError(t, err)
	if env.ABI < 5 {
		t.Skipf("a kernel with Landlock ABI ≥ 5 is needed to observe IOCTL_DEV (this one: %s, ABI %d)", env.State, env.ABI)
	}
	for i, f := range landlock.Features {
		if f.Name == "LANDLOCK_ACCESS_FS_IOCTL_DEV" {
			saved := f
			landlock.Features[i].ABI = env.ABI + 1 // wrong: IOCTL_DEV arrived in ABI 5
			defer func() { landlock.Features[i] = saved }()
		}
	}
	failed := 0
	for _, id := range []string{"fs/ioctl_dev/denied_without_rule", "ioctl/dev_zero/fionread_denied", "downgrade/ceiling_11/fs/ioctl_dev"} {
		c, ok := suites.Lookup(id)
		assert.Assert(t, ok, id)
		r := agent.RunCase(c, env, 20*time.Second)
		assert.Equal(t, r.Verdict, results.Fail, "%s: expected %s observed %s", id, r.Expected, r.Observed)
		assert.Equal(t, r.Expected, "EACCES")
		t.Logf("%s fails as it must: expected %s, observed %s", id, r.Expected, r.Observed)
		failed++
	}
	assert.Equal(t, failed, 3)
}

// A library that restricts only the calling thread (or drops TSYNC) must
// fail the all-thread cases: the suite is rebuilt with the planted defect
// (landlock/plant_current_thread.go) and those cases run natively.
func TestPlantedCurrentThreadOnlyLibraryIsCaught(t *testing.T) {
	env, _, err := agent.DetectEnv(0)
	assert.NilError(t, err)
	if env.ABI < 1 {
		t.Skipf("a kernel with Landlock is needed (this one: %s)", env.State)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go toolchain is needed to rebuild the suite with the planted defect")
	}
	cmd := exec.Command(goTool, "test", "-count=1", "-tags", "llconform_plant_current_thread",
		"-run", "^TestCases$/^downgrade/all_threads/", ".")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	assert.Assert(t, err != nil, "the all-thread cases passed against a library that restricts only the calling thread")
	for _, c := range []string{"downgrade/all_threads/default", "downgrade/all_threads/below_tsync_abi"} {
		assert.Assert(t, strings.Contains(string(out), "fail "+c), "%s did not fail", c)
	}
	assert.Assert(t, strings.Contains(string(out), "goroutines: read=ok") || strings.Contains(string(out), "read=ok"))
}
