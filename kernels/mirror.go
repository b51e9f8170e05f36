package kernels

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// errNoMirror is returned when no Debian mirror is configured anywhere.
var errNoMirror = errors.New("no Debian archive mirror in the apt sources (/etc/apt): set LLCONFORM_MIRROR or --mirror to a Debian archive URL")

// aptSourcesDir is where the machine's apt sources live (a variable for
// tests).
var aptSourcesDir = "/etc/apt"

// aptSource is one "deb" source: its URIs and suites.
type aptSource struct {
	uris, suites []string
}

// MirrorFromApt returns the first Debian main-archive URI of the apt
// sources under aptDir (normally /etc/apt), in apt's own reading order:
// sources.list, then sources.list.d/ by name. Sources whose suites are all
// security suites are skipped: the security archive carries no backports
// and no experimental.
func MirrorFromApt(aptDir string) (string, error) {
	files := []string{filepath.Join(aptDir, "sources.list")}
	d, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*"))
	sort.Strings(d)
	files = append(files, d...)
	for _, f := range files {
		var srcs []aptSource
		switch {
		case strings.HasSuffix(f, ".sources"):
			srcs = readDeb822(f)
		case strings.HasSuffix(f, ".list") || f == files[0]:
			srcs = readList(f)
		}
		for _, s := range srcs {
			if u := s.mirror(); u != "" {
				return u, nil
			}
		}
	}
	return "", errNoMirror
}

// mirror returns the source's first http(s) URI if it serves a main-archive
// suite.
func (s aptSource) mirror() string {
	main := false
	for _, su := range s.suites {
		// "bookworm-security", or the old "buster/updates" security layout.
		if !strings.HasSuffix(su, "-security") && !strings.HasSuffix(su, "/updates") {
			main = true
		}
	}
	if !main {
		return ""
	}
	for _, u := range s.uris {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return strings.TrimRight(u, "/")
		}
	}
	return ""
}

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// readDeb822 reads the stanzas of a .sources file (fields Types, URIs,
// Suites, Enabled; blank lines separate stanzas; indented lines continue
// a field).
func readDeb822(path string) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		types := strings.Fields(fields["types"])
		enabled := !strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no")
		if enabled && slices.Contains(types, "deb") {
			out = append(out, aptSource{uris: strings.Fields(fields["uris"]), suites: strings.Fields(fields["suites"])})
		}
		fields, last = map[string]string{}, ""
	}
	for _, line := range append(readLines(path), "") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			if len(fields) > 0 {
				flush()
			}
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			if k, v, ok := strings.Cut(line, ":"); ok {
				last = strings.ToLower(strings.TrimSpace(k))
				fields[last] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// readList reads one-line sources: "deb [options] URI suite [component...]".
func readList(path string) []aptSource {
	var out []aptSource
	for _, line := range readLines(path) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		rest := f[1:]
		if strings.HasPrefix(rest[0], "[") {
			// Options run to the word ending in "]", spaces allowed.
			for i, w := range rest {
				if strings.HasSuffix(w, "]") {
					rest = rest[i+1:]
					break
				}
			}
		}
		if len(rest) >= 2 {
			out = append(out, aptSource{uris: rest[:1], suites: rest[1:2]})
		}
	}
	return out
}
