package results

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FindResults turns the arguments of merge into results.json files. A file
// is taken as it is. A directory is searched for every results.json under
// it, such as the directory that actions/download-artifact fills with one
// directory per artifact (shards/shard-1/results.json, ...). Hidden
// directories (a report directory still being written) are skipped and
// symlinks inside are not followed (out/latest points at a run that is
// found anyway). The files of one directory come in natural order, shard-2
// before shard-10; the arguments keep their order; a file found twice is
// listed once.
func FindResults(paths ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: give results.json files or directories holding them", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		var found []string
		// The separator makes a symlink given as the argument (out/latest) count as its directory.
		err = filepath.WalkDir(p+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p+string(filepath.Separator) && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && d.Name() == FileResults {
				found = append(found, filepath.Clean(path))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no %s under %s: give the directory the shards' results were downloaded into, or their %s files", FileResults, p, FileResults)
		}
		slices.SortFunc(found, naturalCompare)
		for _, f := range found {
			add(f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no results.json given")
	}
	return out, nil
}

// naturalCompare orders strings with their runs of digits compared as
// numbers: "shard-2/x" < "shard-10/x"; strings equal that way ("02", "2")
// in byte order.
func naturalCompare(a, b string) int {
	if c := natural(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func natural(a, b string) int {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
