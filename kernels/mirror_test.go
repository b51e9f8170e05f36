package kernels

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
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

func TestChooseMirrorFromApt(t *testing.T) {
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
			c, err := ChooseMirror(aptDir(t, tc.files))
			assert.NilError(t, err)
			assert.Equal(t, c.URL, tc.want)
		})
	}
}

// ubuntuRunner is the apt configuration of a GitHub-hosted Ubuntu runner:
// Ubuntu's archive and third-party repositories, no Debian archive.
var ubuntuRunner = map[string]string{
	"sources.list": "# Ubuntu sources have moved to /etc/apt/sources.list.d/ubuntu.sources\n",
	"sources.list.d/ubuntu.sources": `Types: deb
URIs: http://azure.archive.ubuntu.com/ubuntu/
Suites: noble noble-updates noble-backports
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg

Types: deb
URIs: http://azure.archive.ubuntu.com/ubuntu/
Suites: noble-security
Components: main universe restricted multiverse
`,
	"sources.list.d/microsoft-prod.list": "deb [arch=amd64,armhf,arm64] https://packages.microsoft.com/ubuntu/24.04/prod noble main\n",
}

func TestChooseMirror(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  MirrorChoice
		line  string
	}{
		{"Ubuntu runner: the canonical archive", ubuntuRunner,
			MirrorChoice{URL: "http://deb.debian.org/debian"},
			"mirror: http://deb.debian.org/debian (no Debian archive in the apt sources: the canonical archive)"},
		{"Debian security only: the canonical archive",
			map[string]string{"sources.list": "deb http://sec.example/debian-security trixie-security main\n"},
			MirrorChoice{URL: "http://deb.debian.org/debian"},
			"mirror: http://deb.debian.org/debian (no Debian archive in the apt sources: the canonical archive)"},
		{"third-party suites named after a Debian release are not Debian", map[string]string{
			"sources.list.d/a.list":    "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n",
			"sources.list.d/b.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n",
			"sources.list.d/c.list":    "deb http://local.example/debian stable-backports main\n",
		}, MirrorChoice{URL: "http://local.example/debian", Source: "sources.list.d/c.list"},
			"mirror: http://local.example/debian (from APT/sources.list.d/c.list)"},
		{"this machine: debian.sources, disabled files ignored", map[string]string{
			"sources.list.d/debian.sources": `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`,
			"sources.list.d/google-cloud-sdk.list.disabled-by-farm": "deb http://off.example/debian bookworm main\n",
		}, MirrorChoice{URL: "http://deb.debian.org/debian", Source: "sources.list.d/debian.sources"},
			"mirror: http://deb.debian.org/debian (from APT/sources.list.d/debian.sources)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := aptDir(t, tc.files)
			c, err := ChooseMirror(dir)
			assert.NilError(t, err)
			if tc.want.Source != "" {
				tc.want.Source = filepath.Join(dir, tc.want.Source)
			}
			assert.Equal(t, c, tc.want)
			assert.Equal(t, c.String(), strings.ReplaceAll(tc.line, "APT", dir))
		})
	}
}

func TestChooseMirrorNoAptSources(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no files":             nil,
		"comments and sources": {"sources.list": "# nothing\ndeb-src http://src.example/debian trixie main\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := aptDir(t, files)
			_, err := ChooseMirror(dir)
			assert.ErrorContains(t, err, "no Debian archive mirror in the apt sources: "+dir+" holds no apt source")
			assert.ErrorContains(t, err, "set LLCONFORM_MIRROR or --mirror to a Debian archive URL (http://deb.debian.org/debian is Debian's own)")
			assert.ErrorContains(t, err, "LLCONFORM_KEYRING")
		})
	}
	_, err := ChooseMirror(filepath.Join(t.TempDir(), "no-such-dir"))
	assert.ErrorContains(t, err, "no apt source")
}

// MirrorFromApt is what the fetcher calls: it says on stderr which
// mirror it chose and why.
func TestMirrorFromAptSaysWhich(t *testing.T) {
	var notice bytes.Buffer
	defer func(w io.Writer) { mirrorNotice = w }(mirrorNotice)
	mirrorNotice = &notice

	u, err := MirrorFromApt(aptDir(t, ubuntuRunner))
	assert.NilError(t, err)
	assert.Equal(t, u, CanonicalMirror)
	dir := aptDir(t, map[string]string{"sources.list": "deb http://list.example/debian trixie main\n"})
	u, err = MirrorFromApt(dir)
	assert.NilError(t, err)
	assert.Equal(t, u, "http://list.example/debian")
	assert.Equal(t, notice.String(),
		"mirror: http://deb.debian.org/debian (no Debian archive in the apt sources: the canonical archive; --mirror or LLCONFORM_MIRROR overrides it)\n"+
			"mirror: http://list.example/debian (from "+dir+"/sources.list; --mirror or LLCONFORM_MIRROR overrides it)\n")

	notice.Reset()
	_, err = MirrorFromApt(t.TempDir())
	assert.ErrorContains(t, err, "set LLCONFORM_MIRROR or --mirror")
	assert.Equal(t, notice.String(), "", "an error is the only message")
}
