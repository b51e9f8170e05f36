package nightly

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// TestNightlyReplay plays the nightly workflow on this machine: the shard
// jobs (each in its own workspace, its reports uploaded as an artifact),
// then the merge job on four nights against the same cache:
//
//  1. the first night: "no baseline yet", the merged results become it;
//  2. the same results again: no regression, the job passes;
//  3. one case planted as a regression in shard 2: compare and the job
//     fail, the baseline stays;
//  4. shard 3 reported nothing and shard 1 exited 1: the job fails.
//
// With LLCONFORM_E2E=1 (make test) the shard jobs boot kernels in QEMU.
// To keep make test short (harness/matrix/e2e_test.go already boots every catalog
// kernel with every case), the replay appends replayNarrow to their
// `llconform matrix` line: one cloud kernel per shard, five cases each, about
// half a minute on this machine when it is idle. LLCONFORM_REPLAY_FULL=1
// runs the line as written: the whole catalog, every case, minutes more.
// Without LLCONFORM_E2E made-up shard artifacts stand in.
var replayNarrow = []string{"--kernels", "5.10,6.1,6.12", "--flavour", "cloud", "--run", "^base/abi/"}

func TestNightlyReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds llconform in fresh workspaces")
	}
	start := time.Now()
	r := newReplay(t)
	shards := r.wf.Jobs["shard"].Strategy.Matrix["shard"]
	shardRun := r.newRun()
	if os.Getenv("LLCONFORM_E2E") == "1" {
		if os.Getenv("LLCONFORM_REPLAY_FULL") != "1" {
			r.narrow = replayNarrow
		}
		for _, s := range shards {
			res := r.runJob("shard", s, shardRun)
			assert.Assert(t, res.ok, jobLog(res))
			run := res.step(t, "Run one kernel shard")
			assert.Equal(t, run.outcome, "success", run.output)
			for _, l := range strings.Split(run.output, "\n") {
				if strings.HasPrefix(l, "mirror: ") {
					t.Logf("shard %s: %s", s, l)
				}
			}
			// The mirror is chosen at first contact with the archive: a
			// shard served from the cache has nothing to name.
			downloaded := strings.Contains(run.output, "  downloaded ")
			if os.Getenv("LLCONFORM_MIRROR") == "" && downloaded {
				assert.Assert(t, strings.HasPrefix(run.output, "mirror: ") || strings.Contains(run.output, "\nmirror: "),
					"the shard downloaded from the archive, its log should say which mirror and why:\n%s", run.output)
			}
		}
	} else {
		t.Log("LLCONFORM_E2E is not 1: the shard jobs (VMs) do not run, made-up shard artifacts stand in (make test runs them)")
		fixtureShards(t, r, shardRun, shards)
	}
	kernels := 0
	for _, s := range shards {
		// upload-artifact v4 of out/shard-N: its files at the artifact's root.
		a, ok := shardRun.artifacts["shard-"+s]
		assert.Assert(t, ok, "no artifact shard-%s", s)
		run, err := results.Load(filepath.Join(a, "results.json"))
		assert.NilError(t, err)
		kernels += len(run.Kernels)
		b, err := os.ReadFile(filepath.Join(a, "exit-status"))
		assert.NilError(t, err)
		assert.Equal(t, string(b), "0\n", "shard %s", s)
	}

	// 1. The first night.
	n1, run1 := r.night(shardRun.artifacts)
	assert.Assert(t, n1.ok, jobLog(n1))
	cmp := n1.step(t, "Compare with the baseline")
	assert.Equal(t, strings.TrimSpace(cmp.output), "no baseline yet: tonight's results become the baseline")
	md, err := os.ReadFile(filepath.Join(n1.workspace, "out/nightly/matrix.md"))
	assert.NilError(t, err)
	assert.Assert(t, strings.Contains(n1.summary, string(md)), "the summary has matrix.md:\n%s", n1.summary)
	for _, s := range shards {
		line := fmt.Sprintf("- shard %s/%d: exit status 0\n", s, len(shards))
		assert.Assert(t, strings.Contains(n1.summary, line), "the summary has %q:\n%s", line, n1.summary)
	}
	assert.Assert(t, strings.Contains(n1.summary, "no baseline yet"))
	merged, err := results.Load(filepath.Join(run1.artifacts["nightly"], "results.json"))
	assert.NilError(t, err)
	assert.Equal(t, len(merged.Kernels), kernels, "the merged artifact has every shard's kernels")
	junit, err := filepath.Glob(filepath.Join(run1.artifacts["junit"], "*.xml"))
	assert.NilError(t, err)
	assert.Equal(t, len(junit), kernels, "the junit artifact has one file per kernel at its root")
	assert.DeepEqual(t, r.cacheKeys(), []string{"llconform-baseline-" + run1.id + "-1"})

	// 2. The same results against that baseline.
	n2, run2 := r.night(shardRun.artifacts)
	assert.Assert(t, n2.ok, jobLog(n2))
	assert.Equal(t, n2.step(t, "Restore the baseline").output, "cache restored from key: llconform-baseline-"+run1.id+"-1")
	cmp = n2.step(t, "Compare with the baseline")
	assert.Assert(t, strings.Contains(cmp.output, ": 0 regressions, 0 fixes"), cmp.output)
	assert.Assert(t, strings.Contains(n2.summary, "### Compared with the last night without a regression"), n2.summary)
	assert.Equal(t, n2.step(t, "Verdict of the shards and the merged matrix").outcome, "success")
	assert.DeepEqual(t, r.cacheKeys(), []string{"llconform-baseline-" + run1.id + "-1", "llconform-baseline-" + run2.id + "-1"})
	t.Logf("without a regression: the merge job passed; compare said %q", firstLine(cmp.output))

	// 3. One case of shard 2 regresses.
	planted := maps(shardRun.artifacts)
	var kernel, id string
	planted["shard-2"], kernel, id = plantRegression(t, r.dir, shardRun.artifacts["shard-2"])
	n3, _ := r.night(planted)
	assert.Assert(t, !n3.ok, "a regression must fail the merge job:\n%s", jobLog(n3))
	assert.Equal(t, n3.step(t, "Restore the baseline").output, "cache restored from key: llconform-baseline-"+run2.id+"-1")
	cmp = n3.step(t, "Compare with the baseline")
	assert.Equal(t, cmp.outcome, "failure", cmp.output)
	assert.Assert(t, strings.HasSuffix(cmp.output, "\nexit status 1"), "compare's exit status is the step's: %s", cmp.output)
	assert.Assert(t, strings.Contains(cmp.output, ": 1 regression, 0 fixes"), cmp.output)
	line := kernel + " " + id + ": pass -> fail"
	assert.Assert(t, strings.Contains(cmp.output, line), "compare names %q:\n%s", line, cmp.output)
	assert.Assert(t, strings.Contains(n3.summary, line), n3.summary)
	assert.Equal(t, n3.step(t, "Keep tonight's results as the baseline").outcome, "skipped")
	assert.Equal(t, n3.step(t, "Save the baseline").outcome, "skipped")
	assert.Equal(t, n3.step(t, "Verdict of the shards and the merged matrix").outcome, "failure", "the failing cell fails the verdict too")
	assert.Equal(t, len(r.cacheKeys()), 2, "a night with a regression keeps the baseline: %v", r.cacheKeys())
	t.Logf("with the planted regression: the merge job failed; the compare step exited 1 and said %q, then %q", firstLine(cmp.output), regressionLine(cmp.output))
	t.Logf("the summary page of that night:\n%s", n3.summary)

	// 4. Shard 3 reported nothing, shard 1 exited 1.
	partial := maps(shardRun.artifacts)
	delete(partial, "shard-3")
	partial["shard-1"] = copyArtifact(t, r.dir, "exit-1", shardRun.artifacts["shard-1"])
	assert.NilError(t, os.WriteFile(filepath.Join(partial["shard-1"], "exit-status"), []byte("1\n"), 0o644))
	n4, _ := r.night(partial)
	assert.Assert(t, !n4.ok, jobLog(n4))
	check := n4.step(t, "Check that every shard reported")
	assert.Equal(t, check.outcome, "failure")
	assert.Assert(t, strings.Contains(check.output, fmt.Sprintf("shard 3/%d: no results.json", len(shards))), check.output)
	assert.Equal(t, n4.step(t, "Merge the shards").outcome, "success", "what there is is merged and shown")
	assert.Equal(t, n4.step(t, "Compare with the baseline").outcome, "skipped")
	verdict := n4.step(t, "Verdict of the shards and the merged matrix")
	assert.Equal(t, verdict.outcome, "failure")
	assert.Assert(t, strings.Contains(verdict.output, "shards/shard-1: exit status 1"), verdict.output)
	assert.Equal(t, len(r.cacheKeys()), 2, "an incomplete night keeps the baseline: %v", r.cacheKeys())

	t.Logf("the replay took %s", time.Since(start).Round(time.Second))
}

// night runs the merge job in a new run that has the given artifacts.
func (r *replay) night(artifacts map[string]string) (jobResult, *wfRun) {
	r.t.Helper()
	run := r.newRun()
	run.artifacts = maps(artifacts)
	return r.runJob("merge", "", run), run
}

// fixtureShards stands in for the shard jobs without VMs: per shard, one
// kernel with a few passing cases, as results.WriteAll and the shard step
// would leave them.
func fixtureShards(t *testing.T, r *replay, run *wfRun, shards []string) {
	now := time.Now().UTC()
	for _, s := range shards {
		k := results.KernelRun{Name: "fixture-" + s, Status: results.StatusComplete,
			Env: results.Env{Release: "6." + s + ".0", LandlockStatus: landlock.Enabled, ABI: 2}}
		for _, c := range []string{"abi/version", "add_rule/bad_ruleset_fd_ebadf"} {
			for _, priv := range []string{"root", "unpriv"} {
				k.Cases = append(k.Cases, results.Case{Area: "base", Name: c, Priv: priv, Verdict: results.Pass, Expected: "ok", Observed: "ok"})
			}
		}
		dir := filepath.Join(r.dir, "fixture", "shard-"+s)
		assert.NilError(t, results.WriteAll(dir, &results.Run{Schema: results.SchemaVersion, ID: "fixture-" + s,
			Started: now, Finished: now, Host: results.Host{Hostname: "fixture"}, Kernels: []results.KernelRun{k}}))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, "exit-status"), []byte("0\n"), 0o644))
		run.artifacts["shard-"+s] = dir
	}
}

// copyArtifact copies an artifact to change it.
func copyArtifact(t *testing.T, dir, why, src string) string {
	dst := filepath.Join(dir, why, filepath.Base(src))
	assert.NilError(t, copyTree(src, dst, false))
	return dst
}

// plantRegression copies a shard's artifact and turns its first passing
// case into a failing one; it returns the copy, the kernel and the case.
func plantRegression(t *testing.T, dir, src string) (string, string, string) {
	dst := copyArtifact(t, dir, "planted", src)
	p := filepath.Join(dst, "results.json")
	run, err := results.Load(p)
	assert.NilError(t, err)
	for i := range run.Kernels {
		k := &run.Kernels[i]
		for j := range k.Cases {
			c := &k.Cases[j]
			if c.Verdict != results.Pass {
				continue
			}
			c.Verdict, c.Observed, c.Detail = results.Fail, "EPERM", "planted by the nightly replay"
			b, err := json.MarshalIndent(run, "", "  ")
			assert.NilError(t, err)
			assert.NilError(t, os.WriteFile(p, b, 0o644))
			return dst, k.Key(), c.ID()
		}
	}
	t.Fatalf("%s has no passing case to plant a regression in", p)
	return "", "", ""
}

func jobLog(j jobResult) string {
	var b strings.Builder
	for _, s := range j.steps {
		fmt.Fprintf(&b, "--- %s: %s\n%s\n", s.title, s.outcome, strings.TrimSpace(s.output))
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// regressionLine is the first line under "Regressions" in compare's output.
func regressionLine(s string) string {
	_, after, ok := strings.Cut(s, "Regressions (")
	if !ok {
		return ""
	}
	lines := strings.Split(after, "\n")
	if len(lines) < 2 {
		return ""
	}
	return strings.TrimSpace(lines[1])
}

// TestWorkflowShape checks, without running anything, what keeps the
// workflow, its replay and the README in step.
func TestWorkflowShape(t *testing.T) {
	wf := loadWorkflow(t)
	names := make([]string, 0, len(wf.Jobs))
	for n := range wf.Jobs {
		names = append(names, n)
	}
	slices.Sort(names)
	assert.DeepEqual(t, names, []string{"merge", "shard"})

	// Every expression is one the replay plays; run: scripts have none
	// (values reach them through env:, as GitHub advises against script
	// injection, and the replay runs the scripts as written).
	for _, name := range names {
		j := wf.Jobs[name]
		v := vars{runID: "1"}
		if name == "shard" {
			v.shard = "1"
		}
		_, err := v.cond(j.If, false)
		assert.NilError(t, err, "job %s", name)
		for _, m := range []map[string]string{wf.Env, j.Env} {
			for k, val := range m {
				_, err := v.interpolate(val)
				assert.NilError(t, err, "job %s env %s", name, k)
			}
		}
		for _, s := range j.Steps {
			_, err := v.cond(s.If, false)
			assert.NilError(t, err, "job %s step %q", name, s.title())
			for _, val := range append(append([]string{s.Name}, values(s.With)...), values(s.Env)...) {
				_, err := v.interpolate(val)
				assert.NilError(t, err, "job %s step %q", name, s.title())
			}
			assert.Assert(t, !strings.Contains(s.Run, "${{"), "job %s step %q: pass values to run: through env:", name, s.title())
			if s.Uses != "" {
				_, ok := actionInputs[s.Uses]
				assert.Assert(t, ok, "job %s uses %s, which the replay does not play", name, s.Uses)
			}
		}
	}

	// SHARDS is the length of the shard list 1..SHARDS.
	n, err := strconv.Atoi(wf.Env["SHARDS"])
	assert.NilError(t, err)
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	assert.DeepEqual(t, wf.Jobs["shard"].Strategy.Matrix["shard"], want)

	// The merge job waits for the shards and runs when one failed.
	m := wf.Jobs["merge"]
	assert.Equal(t, m.Needs, "shard")
	ok, err := vars{}.cond(m.If, true)
	assert.NilError(t, err)
	assert.Assert(t, ok, "the merge job must run when a shard job failed")
	assert.Equal(t, wf.On.WorkflowDispatch.Inputs["strict"].Type, "boolean")

	// The README's Nightly CI section names every step.
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	assert.NilError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Nightly CI\n")
	assert.Assert(t, ok, "README.md has no '## Nightly CI' section")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, name := range names {
		for _, s := range wf.Jobs[name].Steps {
			if s.Name != "" {
				assert.Assert(t, strings.Contains(section, s.Name), "README's Nightly CI section does not name the %s step %q", name, s.Name)
			}
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
