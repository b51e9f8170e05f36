package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llconform/llconform/kernels"
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

// A user's build directory: what its .config lacks becomes the kernel's
// notes (it still runs), with the cases counted; its overlay module comes
// along, loaded without Debian's signature check.
func TestOwnTarget(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", t.TempDir())
	dir := t.TempDir()
	cfg := strings.Replace("CONFIG_X86_64=y\n"+kconfig.Fragment("amd64"), "CONFIG_AUDIT=y\n", "# CONFIG_AUDIT is not set\n", 1)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, ".config"), []byte(cfg), 0o644))
	tg, err := (own{}).target(dir, kernels.Kernel{Name: "mine", Image: filepath.Join(dir, "bzImage")})
	assert.NilError(t, err)
	ids, err := (own{}).caseIDs()
	assert.NilError(t, err)
	audit := 0
	for _, id := range ids {
		if strings.HasPrefix(id, "audit/") {
			audit++
		}
	}
	assert.Equal(t, len(tg.Notes), 1, "%v", tg.Notes)
	assert.Assert(t, strings.HasPrefix(tg.Notes[0], fmt.Sprintf("CONFIG_AUDIT is off: %d cases will skip (audit: ", audit)), tg.Notes[0])
	assert.Assert(t, strings.HasSuffix(tg.Notes[0], "(kernel config "+filepath.Join(dir, ".config")+")"), tg.Notes[0])
	assert.Equal(t, len(tg.Modules), 0)

	// An --area that selects no audit case counts none.
	st, err := (&selection{areas: listFlag{"fs"}}).settings()
	assert.NilError(t, err)
	tg, err = (own{settings: st}).target(dir, kernels.Kernel{Name: "mine"})
	assert.NilError(t, err)
	assert.Assert(t, strings.HasPrefix(tg.Notes[0], "CONFIG_AUDIT is off: some cases will skip"), tg.Notes[0])

	_, err = (own{modules: filepath.Join(dir, "nosuch")}).target(dir, kernels.Kernel{Name: "mine"})
	assert.ErrorContains(t, err, "not a directory")
}
