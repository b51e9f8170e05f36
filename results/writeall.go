package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llconform/llconform/internal/diskio"
)

// Report file names inside a run directory.
const (
	FileResults  = "results.json"
	FileMarkdown = "matrix.md"
	FileHTML     = "index.html"
	DirJUnit     = "junit"
	LinkLatest   = "latest"
)

// WriteAll writes results.json, matrix.md, index.html and
// junit/<kernel>.xml into dir, then points the "latest" symlink in dir's
// parent at dir.
//
// A new dir is built as a sibling temporary directory and renamed into
// place, so it appears complete or not at all. An existing dir (the
// harness has already written console/ logs into it) is kept: each file
// is replaced on its own by temp file + rename, and junit files of
// kernels no longer in the run are removed.
func WriteAll(dir string, run *Run) error {
	files, err := renderAll(run)
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if base == LinkLatest {
		return fmt.Errorf("run directory %s: %q is the name of the symlink to the newest run, choose another name", dir, LinkLatest)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		err = writeFresh(parent, dir, files)
		if err == nil {
			return pointLatest(parent, base)
		}
		if _, serr := os.Lstat(dir); serr != nil {
			return err
		}
		// Someone created dir meanwhile: write into it like any existing one.
	} else if err != nil {
		return err
	}
	if err := writeInto(dir, files); err != nil {
		return err
	}
	return pointLatest(parent, base)
}

// renderAll renders every report in memory first, so that a rendering
// error leaves the directory untouched.
func renderAll(run *Run) (map[string][]byte, error) {
	files := map[string][]byte{}
	b, err := run.marshal()
	if err != nil {
		return nil, err
	}
	files[FileResults] = b
	var buf bytes.Buffer
	if err := Markdown(&buf, run); err != nil {
		return nil, err
	}
	files[FileMarkdown] = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := HTML(&buf, run); err != nil {
		return nil, err
	}
	files[FileHTML] = bytes.Clone(buf.Bytes())
	for i, name := range junitFileNames(run) {
		buf.Reset()
		if err := JUnit(&buf, run.Kernels[i]); err != nil {
			return nil, err
		}
		files[filepath.Join(DirJUnit, name)] = bytes.Clone(buf.Bytes())
	}
	return files, nil
}

func writeFresh(parent, dir string, files map[string][]byte) error {
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, DirJUnit), 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dir)
}

func writeInto(dir string, files map[string][]byte) error {
	jdir := filepath.Join(dir, DirJUnit)
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := diskio.WriteAtomic(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	// Drop the junit files of an earlier write for kernels not in this run:
	// CI would otherwise report them as current.
	old, err := os.ReadDir(jdir)
	if err != nil {
		return err
	}
	for _, e := range old {
		if _, ok := files[filepath.Join(DirJUnit, e.Name())]; !ok && e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".xml") {
			if err := os.Remove(filepath.Join(jdir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// pointLatest makes parent/latest a relative symlink to base, replacing
// an older link atomically (a new link, renamed over the old one).
func pointLatest(parent, base string) error {
	link := filepath.Join(parent, LinkLatest)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symlink: remove it to let llconform point it at the newest run", link)
	}
	tmp, err := os.MkdirTemp(parent, ".latest.tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The link is made inside a private temp directory so its name cannot
	// collide with a concurrent writer's, then moved next to the old one.
	tl := filepath.Join(tmp, LinkLatest)
	if err := os.Symlink(base, tl); err != nil {
		return err
	}
	return os.Rename(tl, link)
}

// junitFileNames gives each kernel of the run a distinct, safe file name:
// its name and architecture (7.3_arm64.xml) with anything but letters,
// digits, '.', '-' and '_' replaced, and a numeric suffix where two names
// collide.
func junitFileNames(run *Run) []string {
	used := map[string]bool{}
	out := make([]string, len(run.Kernels))
	for i, k := range run.Kernels {
		safe := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
					return r
				}
				return '_'
			}, s)
		}
		s := strings.TrimLeft(safe(k.Name), ".") // no hidden files, no "." or ".."
		if s == "" {
			s = fmt.Sprintf("kernel%d", i+1)
		}
		s += "_" + safe(string(k.Architecture()))
		name := s + ".xml"
		for n := 2; used[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s-%d.xml", s, n)
		}
		used[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}
