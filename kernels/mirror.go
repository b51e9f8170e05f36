package kernels

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// MirrorFromApt returns the first Debian archive URI of the machine's apt
// sources (deb822 .sources files, then sources.list lines), skipping the
// security archive, which carries no backports or experimental.
func MirrorFromApt(aptDir string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.sources"))
	for _, f := range files {
		if m := fromDeb822(f); m != "" {
			return m, nil
		}
	}
	lists, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*.list"))
	lists = append([]string{filepath.Join(aptDir, "sources.list")}, lists...)
	for _, f := range lists {
		if m := fromList(f); m != "" {
			return m, nil
		}
	}
	return "", errNoMirror
}

func usable(uri string) bool {
	return (strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")) && !strings.Contains(uri, "security")
}

// firstURI scans a sources file line by line and returns the first usable
// URI that pick finds on a line.
func firstURI(path string, pick func(line string) []string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, u := range pick(sc.Text()) {
			if usable(u) {
				return strings.TrimRight(u, "/")
			}
		}
	}
	return ""
}

// fromDeb822 reads "URIs:" fields of a .sources file.
func fromDeb822(path string) string {
	return firstURI(path, func(line string) []string {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.EqualFold(k, "URIs") {
			return strings.Fields(v)
		}
		return nil
	})
}

// fromList reads "deb [options] URI suite ..." lines of a .list file.
func fromList(path string) string {
	return firstURI(path, func(line string) []string {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "deb" {
			return nil
		}
		inOptions := false
		for _, u := range fields[1:] {
			switch {
			case strings.HasPrefix(u, "["):
				inOptions = !strings.HasSuffix(u, "]")
			case inOptions:
				inOptions = !strings.HasSuffix(u, "]")
			default:
				return []string{u} // the URI follows the options
			}
		}
		return nil
	})
}
