package nightly

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"gotest.tools/v3/assert"
)

// This file is a small stand-in for GitHub Actions, just large enough for
// .github/workflows/nightly.yml: it runs each job in a fresh workspace,
// runs the run: steps as written, and plays the actions the workflow uses
// with directories laid out as those actions lay them out. Anything else
// in the workflow (an unknown key, expression or action) fails the test:
// the workflow cannot change without its replay noticing.

const workflowFile = ".github/workflows/nightly.yml"

// workflow is the part of the workflow syntax the replay plays.
type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		Schedule []struct {
			Cron string `yaml:"cron"`
		} `yaml:"schedule"`
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Description string `yaml:"description"`
				Type        string `yaml:"type"`
				Default     any    `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Defaults    struct {
		Run struct {
			Shell string `yaml:"shell"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]*job   `yaml:"jobs"`
}

type job struct {
	RunsOn         string `yaml:"runs-on"`
	Needs          string `yaml:"needs"`
	If             string `yaml:"if"`
	TimeoutMinutes int    `yaml:"timeout-minutes"`
	Strategy       struct {
		FailFast *bool               `yaml:"fail-fast"`
		Matrix   map[string][]string `yaml:"matrix"`
	} `yaml:"strategy"`
	Env   map[string]string `yaml:"env"`
	Steps []step            `yaml:"steps"`
}

type step struct {
	Name            string            `yaml:"name"`
	If              string            `yaml:"if"`
	Uses            string            `yaml:"uses"`
	Run             string            `yaml:"run"`
	With            map[string]string `yaml:"with"`
	Env             map[string]string `yaml:"env"`
	ContinueOnError bool              `yaml:"continue-on-error"`
}

// title is what the Actions page calls the step.
func (s step) title() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return s.Uses
	}
	first, _, _ := strings.Cut(s.Run, "\n")
	return first
}

// repoRoot is the checkout this test runs in.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	assert.NilError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	assert.NilError(t, err, "the replay runs from internal/nightly of the llconform checkout")
	return root
}

func loadWorkflow(t *testing.T) *workflow {
	f, err := os.Open(filepath.Join(repoRoot(t), workflowFile))
	assert.NilError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var wf workflow
	assert.NilError(t, dec.Decode(&wf), "%s: a key the replay does not play? teach internal/nightly", workflowFile)
	return &wf
}

// vars are the values of the expression contexts in one job.
type vars struct {
	shard  string // matrix.shard; "" outside the shard job
	strict bool   // inputs.strict
	runID  string // github.run_id
}

// eval gives the value of an expression. The replay knows exactly the
// expressions the workflow uses; any other is an error, so that a changed
// workflow cannot pass its replay unplayed.
func (v vars) eval(expr string) (string, error) {
	switch strings.TrimSpace(expr) {
	case "matrix.shard":
		if v.shard == "" {
			return "", errors.New("matrix.shard outside a matrix job")
		}
		return v.shard, nil
	case "inputs.strict && '--strict' || ''":
		if v.strict {
			return "--strict", nil
		}
		return "", nil
	case "github.run_id":
		return v.runID, nil
	case "github.run_attempt":
		return "1", nil
	case "!cancelled()", "always()":
		return "true", nil // a replay is never cancelled
	case "runner.environment == 'github-hosted'":
		return "false", nil // this machine plays a self-hosted runner: its udev rules stay as they are
	}
	return "", fmt.Errorf("the replay does not know the expression ${{ %s }}: teach vars.eval in internal/nightly what it means", expr)
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// interpolate replaces every ${{ expression }} in s.
func (v vars) interpolate(s string) (string, error) {
	var err error
	out := exprRE.ReplaceAllStringFunc(s, func(m string) string {
		val, e := v.eval(exprRE.FindStringSubmatch(m)[1])
		err = errors.Join(err, e)
		return val
	})
	return out, err
}

// cond evaluates an if: condition, written with or without ${{ }}; none
// means success(): no earlier step of the job failed.
func (v vars) cond(s string, failed bool) (bool, error) {
	s = strings.TrimSpace(s)
	if m := exprRE.FindStringSubmatch(s); m != nil && m[0] == s {
		s = m[1]
	}
	if s == "" || s == "success()" {
		return !failed, nil
	}
	val, err := v.eval(s)
	if err != nil {
		return false, err
	}
	switch val {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("if: %s is %q, not a boolean", s, val)
}

// replay plays GitHub Actions for the workflow on this machine.
type replay struct {
	t      *testing.T
	wf     *workflow
	repo   string
	dir    string       // workspaces, artifacts, cache
	cache  []cacheEntry // in the order saved: the newest last
	strict bool         // the strict input of a manual run
	// narrow is appended to the shard job's `llconform matrix` line (a
	// cheaper selection of cases for make test); nil runs it as written.
	narrow []string
	runs   int
}

type cacheEntry struct{ key, dir string }

// wfRun is one run of the workflow: its ID and its artifacts.
type wfRun struct {
	id        string
	artifacts map[string]string // artifact name -> the directory that is its root
}

type stepResult struct {
	title   string
	outcome string // success, failure, skipped
	output  string
}

type jobResult struct {
	name      string
	ok        bool
	steps     []stepResult
	summary   string // $GITHUB_STEP_SUMMARY of every step, in order
	workspace string
}

func (j jobResult) step(t *testing.T, title string) stepResult {
	t.Helper()
	for _, s := range j.steps {
		if s.title == title {
			return s
		}
	}
	t.Fatalf("job %s has no step %q", j.name, title)
	return stepResult{}
}

func newReplay(t *testing.T) *replay {
	wf := loadWorkflow(t)
	assert.Equal(t, wf.Defaults.Run.Shell, "bash", "the replay runs run: steps as GitHub's shell: bash does")
	return &replay{t: t, wf: wf, repo: repoRoot(t), dir: t.TempDir()}
}

// newRun starts a run of the workflow, with no artifact yet.
func (r *replay) newRun() *wfRun {
	r.runs++
	return &wfRun{id: fmt.Sprint(100 + r.runs), artifacts: map[string]string{}}
}

// runJob runs one job (one matrix entry of it) of the run in a fresh
// workspace, as a runner would.
func (r *replay) runJob(name, shard string, run *wfRun) jobResult {
	t := r.t
	t.Helper()
	j := r.wf.Jobs[name]
	assert.Assert(t, j != nil, "%s has no job %s", workflowFile, name)
	v := vars{shard: shard, strict: r.strict, runID: run.id}
	label := name + shard
	ws := filepath.Join(r.dir, "run-"+run.id, label)
	tmp := ws + ".runner"
	assert.NilError(t, os.MkdirAll(ws, 0o755))
	assert.NilError(t, os.MkdirAll(tmp, 0o755))
	env := map[string]string{}
	for _, m := range []map[string]string{r.wf.Env, j.Env} {
		for k, val := range m {
			s, err := v.interpolate(val)
			assert.NilError(t, err, "env %s", k)
			env[k] = s
		}
	}
	timeout := time.Duration(j.TimeoutMinutes) * time.Minute
	if timeout == 0 {
		timeout = 360 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	res := jobResult{name: label, workspace: ws}
	var summary strings.Builder
	failed := false
	matrixLines := 0
	for i, s := range j.Steps {
		title, err := v.interpolate(s.title())
		assert.NilError(t, err)
		do, err := v.cond(s.If, failed)
		assert.NilError(t, err, "step %q", title)
		if !do {
			res.steps = append(res.steps, stepResult{title: title, outcome: "skipped"})
			t.Logf("[run %s, %s] %s: skipped", run.id, label, title)
			continue
		}
		stepEnv := maps(env)
		for k, val := range s.Env {
			stepEnv[k], err = v.interpolate(val)
			assert.NilError(t, err, "step %q env %s", title, k)
		}
		var out string
		began := time.Now()
		if s.Run != "" {
			script := s.Run
			if name == "shard" {
				var n int
				script, n = r.narrowed(script)
				matrixLines += n
			}
			var sum string
			out, sum, err = runScript(ctx, ws, filepath.Join(tmp, fmt.Sprint(i)), script, run.id, stepEnv)
			summary.WriteString(sum)
		} else {
			with := map[string]string{}
			for k, val := range s.With {
				with[k], err = v.interpolate(val)
				assert.NilError(t, err, "step %q with %s", title, k)
			}
			out, err = r.uses(s.Uses, with, ws, run)
		}
		sr := stepResult{title: title, outcome: "success", output: out}
		if err != nil {
			sr.outcome = "failure"
			sr.output += "\n" + err.Error()
			if !s.ContinueOnError {
				failed = true
			}
		}
		res.steps = append(res.steps, sr)
		t.Logf("[run %s, %s] %s: %s (%s)", run.id, label, title, sr.outcome, time.Since(began).Round(100*time.Millisecond))
	}
	if name == "shard" {
		assert.Equal(t, matrixLines, 1, "the shard job should run `llconform matrix` on exactly one line")
	}
	res.ok = !failed
	res.summary = summary.String()
	return res
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// narrowed appends r.narrow to the line of script that runs
// `llconform matrix`, and says how many such lines there are.
func (r *replay) narrowed(script string) (string, int) {
	lines := strings.Split(script, "\n")
	n := 0
	for i, l := range lines {
		if !strings.Contains(l, "llconform matrix ") {
			continue
		}
		n++
		if len(r.narrow) == 0 {
			continue
		}
		l = strings.TrimRight(l, " \t")
		if strings.HasSuffix(l, `\`) || strings.ContainsAny(l, "|&;><") {
			r.t.Fatalf("the replay appends its narrower selection to the `llconform matrix` line, which must end with its arguments: %q", l)
		}
		quoted := make([]string, len(r.narrow))
		for j, a := range r.narrow {
			quoted[j] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		lines[i] = l + " " + strings.Join(quoted, " ")
	}
	return strings.Join(lines, "\n"), n
}

// runScript runs a run: step as GitHub's `shell: bash` does (bash
// --noprofile --norc -eo pipefail FILE) in the workspace, with the
// runner's files for the step summary and outputs. It returns the output
// and the summary the step wrote.
func runScript(ctx context.Context, ws, prefix, script, runID string, env map[string]string) (out, summary string, err error) {
	file, sum, output := prefix+".sh", prefix+".summary.md", prefix+".output"
	for _, f := range []string{sum, output} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return "", "", err
		}
	}
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", file)
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), "CI=true", "GITHUB_WORKSPACE="+ws, "GITHUB_RUN_ID="+runID,
		"GITHUB_STEP_SUMMARY="+sum, "GITHUB_OUTPUT="+output, "RUNNER_TEMP="+filepath.Dir(prefix))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	s, serr := os.ReadFile(sum)
	return string(b), string(s), errors.Join(err, serr)
}

// actionInputs are the actions the replay plays and the inputs it knows
// of each.
var actionInputs = map[string][]string{
	"actions/checkout@v4":          nil,
	"actions/setup-go@v5":          {"go-version-file"},
	"actions/upload-artifact@v4":   {"name", "path", "if-no-files-found"},
	"actions/download-artifact@v4": {"name", "pattern", "path", "merge-multiple"},
	"actions/cache/restore@v4":     {"path", "key", "restore-keys"},
	"actions/cache/save@v4":        {"path", "key"},
}

// uses plays an action in the workspace.
func (r *replay) uses(action string, with map[string]string, ws string, run *wfRun) (string, error) {
	inputs, ok := actionInputs[action]
	if !ok {
		r.t.Fatalf("the replay does not play %s: add it to internal/nightly's replay.uses", action)
	}
	for k := range with {
		if !slices.Contains(inputs, k) {
			r.t.Fatalf("the replay does not play input %s of %s: add it to internal/nightly's replay.uses", k, action)
		}
	}
	if strings.Contains(with["path"]+with["key"], "\n") || strings.ContainsAny(with["path"], "*?[!{") {
		r.t.Fatalf("%s: the replay plays one plain path and key, not %q and %q", action, with["path"], with["key"])
	}
	switch action {
	case "actions/checkout@v4":
		return "", checkout(r.repo, ws)
	case "actions/setup-go@v5":
		// The Go that runs this test stands for the one set up.
		_, err := os.Stat(filepath.Join(ws, with["go-version-file"]))
		return "", err
	case "actions/upload-artifact@v4":
		return r.upload(with, ws, run)
	case "actions/download-artifact@v4":
		return r.download(with, ws, run)
	case "actions/cache/restore@v4":
		return r.restore(with, ws)
	default: // actions/cache/save@v4
		return r.save(with, ws)
	}
}

// checkout copies the files of the repository that git would commit
// (tracked, or new and not ignored) into the workspace: the working tree,
// so that the replay tests what is about to be committed.
func checkout(repo, ws string) error {
	out, err := exec.Command("git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files in %s: %v: the replay needs a git checkout", repo, err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repo, name)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted and not yet committed
		} else if err != nil {
			return err
		}
		if err := copyFile(src, filepath.Join(ws, name), fi); err != nil {
			return err
		}
	}
	return nil
}

// upload plays upload-artifact v4 with one path: a directory's files sit
// at the artifact's root, hidden files are left out.
func (r *replay) upload(with map[string]string, ws string, run *wfRun) (string, error) {
	name := with["name"]
	if name == "" {
		name = "artifact"
	}
	src := filepath.Join(ws, with["path"])
	fi, err := os.Stat(src)
	if err != nil {
		switch with["if-no-files-found"] {
		case "error":
			return "", fmt.Errorf("no files were found with the provided path: %s", with["path"])
		case "ignore":
			return "", nil
		}
		return "warning: no files were found with the provided path: " + with["path"] + "; no artifact will be uploaded", nil
	}
	if _, dup := run.artifacts[name]; dup {
		return "", fmt.Errorf("an artifact named %q already exists in run %s", name, run.id)
	}
	dst := filepath.Join(r.dir, "run-"+run.id+".artifacts", name)
	if fi.IsDir() {
		err = copyTree(src, dst, true)
	} else {
		err = copyFile(src, filepath.Join(dst, filepath.Base(src)), fi)
	}
	if err != nil {
		return "", err
	}
	run.artifacts[name] = dst
	return "uploaded artifact " + name, nil
}

// download plays download-artifact v4: with a name, that artifact into
// path; without one, every artifact (matching pattern) into path/<name>/,
// or all into path with merge-multiple.
func (r *replay) download(with map[string]string, ws string, run *wfRun) (string, error) {
	dst := filepath.Join(ws, with["path"])
	if name := with["name"]; name != "" {
		src, ok := run.artifacts[name]
		if !ok {
			return "", fmt.Errorf("artifact %q not found", name)
		}
		return "downloaded " + name, copyTree(src, dst, false)
	}
	var names []string
	for n := range run.artifacts {
		if ok, _ := path.Match(with["pattern"], n); with["pattern"] == "" || ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		to := filepath.Join(dst, n)
		if with["merge-multiple"] == "true" {
			to = dst
		}
		if err := copyTree(run.artifacts[n], to, false); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("downloaded %d artifacts: %s", len(names), strings.Join(names, ", ")), nil
}

// restore plays actions/cache/restore: the entry of the key, else the
// newest entry whose key starts with one of restore-keys (in their order).
func (r *replay) restore(with map[string]string, ws string) (string, error) {
	pick := func(match func(string) bool) *cacheEntry {
		for i := len(r.cache) - 1; i >= 0; i-- {
			if match(r.cache[i].key) {
				return &r.cache[i]
			}
		}
		return nil
	}
	e := pick(func(k string) bool { return k == with["key"] })
	for _, prefix := range strings.Fields(with["restore-keys"]) {
		if e == nil {
			e = pick(func(k string) bool { return strings.HasPrefix(k, prefix) })
		}
	}
	if e == nil {
		return "cache not found for input keys: " + with["key"], nil
	}
	return "cache restored from key: " + e.key, copyTree(e.dir, filepath.Join(ws, with["path"]), false)
}

// save plays actions/cache/save: entries are immutable, a missing path
// is a warning.
func (r *replay) save(with map[string]string, ws string) (string, error) {
	src := filepath.Join(ws, with["path"])
	if _, err := os.Stat(src); err != nil {
		return "warning: path " + with["path"] + " does not exist, no cache saved", nil
	}
	for _, e := range r.cache {
		if e.key == with["key"] {
			return "warning: a cache entry for key " + e.key + " exists already", nil
		}
	}
	dst := filepath.Join(r.dir, "cache", fmt.Sprint(len(r.cache)))
	if err := copyTree(src, dst, false); err != nil {
		return "", err
	}
	r.cache = append(r.cache, cacheEntry{key: with["key"], dir: dst})
	return "cache saved with key: " + with["key"], nil
}

func (r *replay) cacheKeys() []string {
	var keys []string
	for _, e := range r.cache {
		keys = append(keys, e.key)
	}
	return keys
}

// copyTree copies the files under src into dst (created as needed),
// leaving out hidden files and directories if asked.
func copyTree(src, dst string, skipHidden bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if skipHidden && rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return copyFile(p, filepath.Join(dst, rel), fi)
	})
}

// copyFile copies one file with its mode (a symlink as a symlink).
func copyFile(src, dst string, fi fs.FileInfo) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, fi.Mode().Perm())
}
