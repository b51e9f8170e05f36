package harness

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites"
)

// UnprivUID is the uid (and gid) of the unprivileged pass: nobody.
const UnprivUID = 65534

// Suite runs a whole suite run into w: the header, every selected case as
// the current user and, when root, again as an unprivileged user in a
// child process, then the done record. Missing results are reported as
// broken, never dropped.
func Suite(o Options, w *results.StreamWriter, native bool) error {
	_, hdr, err := DetectEnv(o.Ceiling)
	if err != nil {
		w.Done(err.Error())
		return err
	}
	hdr.Native = native
	if cases, err := Select(suites.All(), o); err == nil {
		hdr.PlannedCases = len(cases)
		if o.Unpriv && os.Geteuid() == 0 {
			hdr.PlannedCases *= 2
		}
	}
	if err := w.Header(hdr); err != nil {
		return err
	}
	err = runPass(o, w)
	if err == nil && o.Unpriv && os.Geteuid() == 0 {
		err = runUnprivPass(o, w)
	}
	fatal := ""
	if err != nil {
		fatal = err.Error()
	}
	if derr := w.Done(fatal); err == nil {
		err = derr
	}
	return err
}

// runPass runs the selected cases with this process's privileges.
func runPass(o Options, w *results.StreamWriter) error {
	env, _, err := DetectEnv(o.Ceiling)
	if err != nil {
		return err
	}
	cases, err := Select(suites.All(), o)
	if err != nil {
		return err
	}
	for _, c := range cases {
		if o.Verbose {
			fmt.Fprintf(os.Stderr, "llconform: %s [%s]\n", c.ID(), priv(env))
		}
		if err := w.Case(RunCase(c, env, o.timeout())); err != nil {
			return err
		}
	}
	return nil
}

// runUnprivPass re-executes this binary as nobody and forwards its case
// results. The binary is copied to a world-readable place first: test
// binaries and `go run` outputs live in directories only root can enter.
func runUnprivPass(o Options, w *results.StreamWriter) error {
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
	oj, _ := json.Marshal(o)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), unprivEnv+"="+string(oj), "TMPDIR=/tmp", "HOME=/")
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
		var ev results.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Case == nil {
			continue
		}
		got[ev.Case.Area+"/"+ev.Case.Name] = true
		if err := w.Case(*ev.Case); err != nil {
			return err
		}
	}
	waitErr := cmd.Wait()
	// Every selected case must have an unprivileged result.
	cases, _ := Select(suites.All(), o)
	for _, c := range cases {
		if got[c.ID()] {
			continue
		}
		w.Case(results.Case{Area: c.Area, Name: c.Name, Priv: "unpriv", Verdict: results.Broken,
			Detail: fmt.Sprintf("the unprivileged pass ended before this case (%v): %s", waitErr, tail(stderr.String(), 300))})
	}
	return nil
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
