package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/kernels/kconfig"
	"gotest.tools/v3/assert"
)

func TestKconfigCheckExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, ".config"), []byte(body), 0o644))
		return dir
	}
	assert.Equal(t, exitCode(runKconfig([]string{"--check", write("CONFIG_X86_64=y\n" + kconfig.Fragment("amd64"))})), 0)
	assert.Equal(t, exitCode(runKconfig([]string{"--check", write("CONFIG_X86_64=y\nCONFIG_SECURITY_LANDLOCK=y\n")})), exitFailed)
	err := runKconfig([]string{"--check", write("not a config\n")})
	assert.Equal(t, exitCode(err), exitUsage)
	assert.ErrorContains(t, err, "not a kernel .config")
	assert.Equal(t, exitCode(runKconfig([]string{"--check", filepath.Join(dir, "nosuch")})), exitUsage)
	assert.Equal(t, exitCode(runKconfig([]string{"--arch", "mips"})), exitUsage)
	assert.Equal(t, exitCode(runKconfig(nil)), 0)
}

// The check of a user's kernel counts the cases the run selects.
func TestOwnCaseIDs(t *testing.T) {
	ids, err := (own{}).caseIDs()
	assert.NilError(t, err)
	audit := 0
	for _, id := range ids {
		if filepath.Dir(id) == "audit" {
			audit++
		}
	}
	assert.Assert(t, audit > 0)
	st, err := (&selection{areas: listFlag{"fs"}}).settings()
	assert.NilError(t, err)
	fsOnly, err := (own{settings: st}).caseIDs()
	assert.NilError(t, err)
	assert.Assert(t, len(fsOnly) > 0 && len(fsOnly) < len(ids))
	for _, id := range fsOnly {
		assert.Assert(t, id[:3] == "fs/", id)
	}
}
