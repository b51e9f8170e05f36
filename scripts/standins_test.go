package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// standIns is a PATH of fake commands for a script under test: id says
// uid (and the user "runner"), apt-get records its arguments in log.
type standIns struct {
	t        *testing.T
	bin, log string
}

func newStandIns(t *testing.T, uid string) *standIns {
	s := &standIns{t: t, bin: t.TempDir(), log: filepath.Join(t.TempDir(), "log")}
	s.write("id", `case "$1" in -u) echo `+uid+`;; -un) echo runner;; esac`+"\n")
	s.write("apt-get", `echo "apt-get $*" >>`+s.log+"\n")
	return s
}

// write puts a shell script named name in the PATH.
func (s *standIns) write(name, body string) {
	assert.NilError(s.t, os.WriteFile(filepath.Join(s.bin, name), []byte("#!/bin/sh\n"+body), 0o755))
}

// real links the host's own commands into the PATH.
func (s *standIns) real(names ...string) {
	for _, p := range names {
		path, err := exec.LookPath(p)
		assert.NilError(s.t, err)
		assert.NilError(s.t, os.Symlink(path, filepath.Join(s.bin, p)))
	}
}

// runScript runs script (in this directory) with args under bash, with
// PATH=bin and env, and returns its standard error, what
// the stand-ins logged and its error.
func runScript(t *testing.T, bin, log string, env []string, script string, args ...string) (stderr, logged string, err error) {
	t.Helper()
	cmd := exec.Command("/bin/bash", append([]string{script}, args...)...)
	cmd.Env = append([]string{"PATH=" + bin}, env...)
	var e strings.Builder
	cmd.Stderr = &e
	err = cmd.Run()
	got, _ := os.ReadFile(log)
	return e.String(), string(got), err
}
