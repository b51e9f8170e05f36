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

func fromDeb822(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "URIs") {
			for _, u := range strings.Fields(v) {
				if usable(u) {
					return strings.TrimRight(u, "/")
				}
			}
		}
	}
	return ""
}

func fromList(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[0] != "deb" {
			continue
		}
		for _, u := range fields[1:] {
			if strings.HasPrefix(u, "[") {
				continue
			}
			if usable(u) {
				return strings.TrimRight(u, "/")
			}
			break
		}
	}
	return ""
}
