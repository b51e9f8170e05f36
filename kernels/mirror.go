package kernels

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// CanonicalMirror is Debian's own archive URL, the default mirror when the
// apt sources name no Debian archive (a CI runner on Ubuntu, for one). Its
// index is verified against the Debian archive keyring like any mirror's.
const CanonicalMirror = "http://deb.debian.org/debian"

// aptSourcesDir is where the machine's apt sources live (a variable for
// tests).
var aptSourcesDir = "/etc/apt"

// mirrorNotice receives the line that says which default mirror was chosen
// and why (a variable for tests).
var mirrorNotice io.Writer = os.Stderr

// debianReleases are Debian's release codenames and suite aliases. A source
// naming one of them (bare or with a suffix: bookworm-updates,
// trixie-backports, stable-proposed-updates) is a Debian archive; Ubuntu's
// and third-party suites (noble, nodistro, cloud-sdk-bookworm) are not.
// Debian names a release about every two years: add it here. Until then a
// machine that names only the new release falls back to the canonical
// archive, which serves it too.
var debianReleases = []string{
	"oldoldstable", "oldstable", "stable", "testing", "unstable", "sid", "experimental",
	"buzz", "rex", "bo", "hamm", "slink", "potato", "woody", "sarge", "etch", "lenny",
	"squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie",
	"forky", "duke",
}

// aptSource is one "deb" source: its URIs and suites.
type aptSource struct {
	uris, suites []string
}

// MirrorChoice is the default Debian mirror and why it was chosen.
type MirrorChoice struct {
	URL    string
	Source string // the apt source file naming it; "" for CanonicalMirror
}

// String says which mirror and why, for the run's output.
func (c MirrorChoice) String() string {
	why := "no Debian archive in the apt sources: the canonical archive"
	if c.Source != "" {
		why = "from " + c.Source
	}
	return fmt.Sprintf("mirror: %s (%s)", c.URL, why)
}

// ChooseMirror returns the default Debian mirror for a machine whose apt
// sources are under aptDir (normally /etc/apt): the first Debian
// main-archive URI of the sources in apt's own reading order
// (sources.list, then sources.list.d/ by name), or CanonicalMirror when
// the sources name none. Sources of security suites only are skipped: the
// security archive carries no backports and no experimental. A machine
// without any apt source (not Debian-based) is an error: there the user
// names the mirror, and the Debian archive keyring too.
func ChooseMirror(aptDir string) (MirrorChoice, error) {
	files := []string{filepath.Join(aptDir, "sources.list")}
	d, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*"))
	sort.Strings(d)
	files = append(files, d...)
	found := false
	for _, f := range files {
		var srcs []aptSource
		switch {
		case strings.HasSuffix(f, ".sources"):
			srcs = readDeb822(f)
		case strings.HasSuffix(f, ".list") || f == files[0]:
			srcs = readList(f)
		}
		for _, s := range srcs {
			found = true
			if u := s.mirror(); u != "" {
				return MirrorChoice{URL: u, Source: f}, nil
			}
		}
	}
	if !found {
		return MirrorChoice{}, fmt.Errorf("no Debian archive mirror in the apt sources: %s holds no apt source (not a Debian-based machine?); "+
			"set LLCONFORM_MIRROR or --mirror to a Debian archive URL (%s is Debian's own), "+
			"and LLCONFORM_KEYRING or --keyring to the Debian archive keyring if it is not at %s", aptDir, CanonicalMirror, DefaultKeyring)
	}
	return MirrorChoice{URL: CanonicalMirror}, nil
}

// MirrorFromApt returns ChooseMirror's URL and says on stderr which mirror
// it chose and why.
func MirrorFromApt(aptDir string) (string, error) {
	c, err := ChooseMirror(aptDir)
	if err != nil {
		return "", err
	}
	// The caller may still override it: say so, since this line is all
	// the run's output says about the mirror.
	fmt.Fprintf(mirrorNotice, "%s; --mirror or LLCONFORM_MIRROR overrides it)\n", strings.TrimSuffix(c.String(), ")"))
	return c.URL, nil
}

// mirror returns the source's first http(s) URI if it serves a Debian
// main-archive suite.
func (s aptSource) mirror() string {
	if !slices.ContainsFunc(s.suites, debianMainSuite) {
		return ""
	}
	for _, u := range s.uris {
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return strings.TrimRight(u, "/")
		}
	}
	return ""
}

// debianMainSuite reports whether suite is a Debian suite of the main
// archive: "bookworm-security", or the old "buster/updates" security
// layout, is not.
func debianMainSuite(suite string) bool {
	if strings.HasSuffix(suite, "-security") || strings.Contains(suite, "/") {
		return false
	}
	release, _, _ := strings.Cut(suite, "-")
	return slices.Contains(debianReleases, release)
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
