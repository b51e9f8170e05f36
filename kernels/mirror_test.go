package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

func aptDir(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	assert.NilError(t, os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755))
	for name, body := range files {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

func TestMirrorFromApt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"deb822, security stanza first", map[string]string{"sources.list.d/debian.sources": `Types: deb
# a comment
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
`}, "http://mirror.example/debian"},
		{"deb822, security judged by suite, not by host", map[string]string{"sources.list.d/a.sources": `Types: deb
URIs: http://one.example/debian
Suites: trixie-security

Types: deb
URIs: http://security.example/debian
Suites: trixie
`}, "http://security.example/debian"},
		{"deb822, disabled and source-only stanzas skipped", map[string]string{"sources.list.d/a.sources": `Types: deb
URIs: http://off.example/debian
Suites: trixie
Enabled: no

Types: deb-src
URIs: http://src.example/debian
Suites: trixie

Types: deb deb-src
URIs:
 http://on.example/debian
Suites: trixie
`}, "http://on.example/debian"},
		{"deb822, non-http URIs skipped", map[string]string{"sources.list.d/a.sources": "Types: deb\nURIs: cdrom:[Debian]/ file:/srv/debian https://tls.example/debian\nSuites: trixie\n"},
			"https://tls.example/debian"},
		{"one-line, options with spaces", map[string]string{"sources.list": `# comment
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://sec.example/debian-security bookworm-security main
deb-src http://src.example/debian bookworm main
deb [arch=amd64] http://list.example/debian bookworm main # trailing comment
`}, "http://list.example/debian"},
		{"old security layout", map[string]string{"sources.list": "deb http://sec.example/ buster/updates main\ndeb http://old.example/debian buster main\n"},
			"http://old.example/debian"},
		{"sources.list before sources.list.d, then by name", map[string]string{
			"sources.list":               "",
			"sources.list.d/b.list":      "deb http://b.example/debian trixie main\n",
			"sources.list.d/a.sources":   "Types: deb\nURIs: http://a.example/debian\nSuites: trixie\n",
			"sources.list.d/c.list.save": "deb http://c.example/debian trixie main\n",
		}, "http://a.example/debian"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MirrorFromApt(aptDir(t, tc.files))
			assert.NilError(t, err)
			assert.Equal(t, m, tc.want)
		})
	}

	_, err := MirrorFromApt(aptDir(t, map[string]string{"sources.list": "deb http://sec.example/debian-security trixie-security main\n"}))
	assert.ErrorContains(t, err, "LLCONFORM_MIRROR")
	_, err = MirrorFromApt(t.TempDir())
	assert.ErrorContains(t, err, "set LLCONFORM_MIRROR or --mirror")
}
