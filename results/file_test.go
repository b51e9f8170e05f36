package results

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "results.json")
	run := fixture()
	assert.NilError(t, run.Save(p))
	got, err := Load(p)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, run)

	// A run without a schema version is stamped on save, not mutated.
	run.Schema = 0
	assert.NilError(t, run.Save(p))
	assert.Equal(t, run.Schema, 0)
	got, err = Load(p)
	assert.NilError(t, err)
	assert.Equal(t, got.Schema, SchemaVersion)
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, err string }{
		{"garbage", "\x00\x01 this is not json", "is not an llconform results.json (schema 3): invalid character"},
		{"stream", `{"type":"header","env":{"release":"6.1"}}` + "\n" + `{"type":"done"}`, `is not an llconform results.json (schema 3): invalid character '{' after top-level value`},
		{"other json", `{"name":"x"}`, `is not an llconform results.json (schema 3): no "schema" field`},
		{"array", `[1,2]`, "is not an llconform results.json (schema 3): json: cannot unmarshal array"},
		{"newer", `{"schema":4,"kernels":[]}`, "has results schema 4, this llconform reads schemas 1 to 3: use a newer llconform"},
		{"older", `{"schema":0}`, "is not an llconform results.json (schema 3): unsupported schema 0"},
		{"wrong types", `{"schema":1,"kernels":{"a":1}}`, "is not an llconform results.json (schema 3): json: cannot unmarshal object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".json")
			assert.NilError(t, os.WriteFile(p, []byte(tc.content), 0o644))
			_, err := Load(p)
			assert.ErrorContains(t, err, p+" "+tc.err)
		})
	}
	_, err := Load(filepath.Join(dir, "missing.json"))
	assert.Assert(t, os.IsNotExist(err))
}

// Documents of schema 1 (written before the known and warn verdicts)
// still load, for report and compare.
func TestLoadSchema1(t *testing.T) {
	run, err := Load("testdata/schema1.json")
	assert.NilError(t, err)
	assert.Equal(t, run.Schema, 1)
	assert.Equal(t, len(run.Kernels), 1)
	assert.Equal(t, run.Kernels[0].Cases[0].Verdict, Pass)
}
