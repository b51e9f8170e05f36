package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites"
	"github.com/llconform/llconform/suites/check"
)

// UnprivUID is the uid (and gid) of the unprivileged pass: nobody.
const UnprivUID = 65534

// plan is what a pass runs: the environment, detected once, and the
// selected cases, picked once.
type plan struct {
	settings protocol.Settings
	env      check.Env
	header   results.Env
	cases    []check.Case
	timeout  time.Duration
}

func newPlan(s protocol.Settings) (*plan, error) {
	env, hdr, err := DetectEnv(s.Ceiling)
	if err != nil {
		return nil, err
	}
	cases, pruned, err := Planned(s, env)
	if err != nil {
		return nil, err
	}
	hdr.Pruned = pruned
	return &plan{settings: s, env: env, header: hdr, cases: cases, timeout: 20 * time.Second}, nil
}

// Planned is what a pass on env runs: the selected cases, without those
// that prove nothing new on this kernel (Case.Redundant), whose reasons it
// lists with their counts.
func Planned(s protocol.Settings, env check.Env) ([]check.Case, []string, error) {
	all := AllCases(s.Libraries)
	if s.Overhead {
		all = suites.NoopCases()
	}
	selected, err := Select(all, s)
	if err != nil {
		return nil, nil, err
	}
	var cases []check.Case
	var order []string
	count := map[string]int{}
	for _, c := range selected {
		if c.Redundant != nil {
			if why := c.Redundant(env); why != "" {
				if count[why] == 0 {
					order = append(order, why)
				}
				count[why]++
				continue
			}
		}
		cases = append(cases, c)
	}
	var pruned []string
	for _, why := range order {
		pruned = append(pruned, fmt.Sprintf("%d cases not run: %s", count[why], why))
	}
	return cases, pruned, nil
}

// unprivPass reports whether an unprivileged pass runs; rootPass, whether
// the pass with this process's privileges does (all but OnlyUnpriv).
func (p *plan) unprivPass() bool { return p.env.Root && !p.settings.NoUnpriv }
func (p *plan) rootPass() bool   { return !p.settings.OnlyUnpriv }

// Suite runs a whole suite run into w: the header, every selected case as
// the current user and, when root, again as an unprivileged user in a
// child process, then the done record. Missing results are reported as
// broken, never dropped. With Noop only the header and the done record
// are sent: the bare-boot floor.
func Suite(s protocol.Settings, w *protocol.StreamWriter, native bool) error {
	p, err := newPlan(s)
	if err != nil {
		w.Done(err.Error())
		return err
	}
	p.header.Native = native
	if s.OnlyUnpriv && !p.env.Root {
		err := fmt.Errorf("the unprivileged pass alone needs root, to start it as uid %d", UnprivUID)
		w.Done(err.Error())
		return err
	}
	if !s.Noop {
		if p.rootPass() {
			p.header.PlannedCases = len(p.cases)
		}
		if p.unprivPass() {
			p.header.PlannedCases += len(p.cases)
		}
	}
	if err := w.Header(p.header); err != nil {
		return err
	}
	if !s.Noop {
		if p.rootPass() {
			err = p.runPass(w)
		}
		if err == nil && p.unprivPass() {
			err = p.runUnprivPass(w)
		}
	}
	return finish(w, err)
}

// AllCases is every kernel case and the library cases of each library
// (llconform's own by default), for a kernel of the given ABI.
func AllCases(libraries []string) []check.Case {
	if len(libraries) == 0 {
		libraries = []string{"own"}
	}
	all := check.All()
	for _, l := range libraries {
		all = append(all, suites.LibraryCases(l)...)
	}
	return all
}

// Select returns the cases the settings pick, in registration order.
func Select(all []check.Case, s protocol.Settings) ([]check.Case, error) {
	var re *regexp.Regexp
	if s.Run != "" {
		var err error
		if re, err = regexp.Compile(s.Run); err != nil {
			return nil, fmt.Errorf("--run %q is not a valid regular expression: %v", s.Run, err)
		}
	}
	areas := map[string]bool{}
	for _, a := range s.Areas {
		areas[a] = true
	}
	var out []check.Case
	for i, c := range all {
		if len(areas) > 0 && !areas[c.Area] {
			continue
		}
		if re != nil && !re.MatchString(c.ID()) {
			continue
		}
		if !s.Shard.Includes(i) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// runPass runs the selected cases with this process's privileges.
func (p *plan) runPass(w *protocol.StreamWriter) error {
	for _, c := range p.cases {
		if p.settings.Verbose {
			fmt.Fprintf(os.Stderr, "llconform: %s [%s]\n", c.ID(), priv(p.env))
		}
		if err := w.Case(RunCase(c, p.env, p.timeout)); err != nil {
			return err
		}
	}
	return nil
}

// runUnprivPass re-executes this binary as nobody and forwards its case
// results. The binary is copied to a world-readable place first: test
// binaries and `go run` outputs live in directories only root can enter.
func (p *plan) runUnprivPass(w *protocol.StreamWriter) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	exe := self
	if !othersCanExec(self) {
		dir, err := os.MkdirTemp("", "llconform-unpriv-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		exe = filepath.Join(dir, "llconform")
		if err := copyFile(self, exe, 0o755); err != nil {
			return fmt.Errorf("copying %s for the unprivileged pass: %w", self, err)
		}
	}
	oj, _ := json.Marshal(p.settings)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Dir = "/"
	cmd.Env = append(role.Environ(os.Environ(), unprivRole, string(oj)), "TMPDIR=/tmp", "HOME=/")
	if keepCaseDirs {
		cmd.Env = append(cmd.Env, keepDirsEnv+"=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: UnprivUID, Gid: UnprivUID, Groups: []uint32{}}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the unprivileged pass: %w", err)
	}
	got := map[string]bool{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var ev protocol.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Case == nil {
			continue
		}
		got[caseKey(*ev.Case)] = true
		if err := w.Case(*ev.Case); err != nil {
			return err
		}
	}
	waitErr := cmd.Wait()
	// Every selected case must have an unprivileged result.
	for _, c := range p.cases {
		if got[c.ID()] {
			continue
		}
		w.Case(results.Case{Area: c.Area, Name: c.Name, Priv: "unpriv", Library: libraryOf(c), Verdict: results.Broken,
			Detail: fmt.Sprintf("the unprivileged pass ended before this case (%v): %s", waitErr, tail(stderr.String(), 300))})
	}
	return nil
}

// caseKey is a result's suites.Case.ID: area/name, "@library" for a
// library case.
func caseKey(r results.Case) string {
	if r.Library != "" {
		return r.Area + "/" + r.Name + "@" + r.LibraryName()
	}
	return r.Area + "/" + r.Name
}

func libraryOf(c check.Case) string {
	if c.Library == "" {
		return ""
	}
	return adapter.LibraryVersion(c.Library)
}

// othersCanExec reports whether any user may execute path: the file is
// o+rx and every directory above it o+x (true for the VM's /init).
func othersCanExec(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o005 != 0o005 {
		return false
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == "/" {
			return true
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// finish sends the done record, with err as the run's fatal error if any,
// and returns err, or the done record's own error.
func finish(w *protocol.StreamWriter, err error) error {
	fatal := ""
	if err != nil {
		fatal = err.Error()
	}
	if derr := w.Done(fatal); err == nil {
		err = derr
	}
	return err
}
