package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/llconform/llconform/internal/diskio"
)

// Load reads a results.json document and checks its schema version.
func Load(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRun(path, b)
}

func parseRun(name string, b []byte) (*Run, error) {
	notOurs := func(why string) error {
		return fmt.Errorf("%s is not an llconform results.json (schema %d): %s", name, SchemaVersion, why)
	}
	// Probe the version first: a document of another schema may not even
	// decode into today's types, and its error would hide the real cause.
	var probe struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, notOurs(err.Error())
	}
	switch {
	case probe.Schema == nil:
		return nil, notOurs(`no "schema" field`)
	case *probe.Schema > SchemaVersion:
		return nil, fmt.Errorf("%s has results schema %d, this llconform reads schemas 1 to %d: use a newer llconform", name, *probe.Schema, SchemaVersion)
	case *probe.Schema < 1:
		return nil, notOurs(fmt.Sprintf("unsupported schema %d", *probe.Schema))
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, notOurs(err.Error())
	}
	return &run, nil
}

// Save writes the run as results.json to path atomically: a reader sees
// the old document or the new one, never a partial one.
func (r *Run) Save(path string) error {
	b, err := r.marshal()
	if err != nil {
		return err
	}
	return diskio.WriteAtomic(path, b, 0o644)
}

// marshal encodes the run, stamping the schema version when unset so that
// a document written by this code always loads again.
func (r *Run) marshal() ([]byte, error) {
	doc := *r
	if doc.Schema == 0 {
		doc.Schema = SchemaVersion
	}
	if doc.Kernels == nil {
		doc.Kernels = []KernelRun{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Details and console tails are read as text; keep <, > and & as is.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
