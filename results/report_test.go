package results

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	assert.NilError(t, Terminal(&b, fixture(), false))
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"amd64 (x86_64): 3 kernels\n" +
			"kernel  6.1     6.12    7.0\n" +
			"        ABI 2   ABI 6*  ABI 8\n" +
			"------  ------  ------  ------\n" +
			"base    ok 1    ok 1    BROKEN\n" +
			"fs      ok 2    FAIL 1  BROKEN\n" +
			"tcp     skip 1  ok 1    BROKEN\n",
		"skip 1 6.1/amd64 (ABI 2) tcp: 1 skip (no IPv6)",
		"FAIL 1 6.12/amd64 (ABI 6) fs: 1 fail, 1 pass\n",
		"    fs/read_file_denied/unpriv: fail, expected EACCES, observed ok\n",
		`      read <policy> & "quotes" succeeded`,
		"BROKEN 7.0/amd64 (ABI 8): no done record after 2 cases",
		"console console/7.0-2.log",
		"Kernel panic - not syncing: double fault",
		"6.12/amd64: ABI mismatch: catalog expects 7, kernel reports 6",
		"8 passed, 1 failed, 1 skipped, 0 broken (3 kernels, 1 broken)",
	} {
		assert.Check(t, is.Contains(out, want))
	}
	assert.Check(t, !strings.Contains(out, "\x1b"))

	b.Reset()
	assert.NilError(t, Terminal(&b, fixture(), true))
	assert.Check(t, is.Contains(b.String(), ansiRed+"FAIL 1"+ansiReset))
}

// nineKernels is a matrix as wide as the default catalog.
func nineKernels() *Run {
	run := &Run{ID: "wide"}
	names := []string{"5.10", "6.1", "6.12", "6.12-lsm-off", "6.16.3-trixie-backports", "7.0", "7.1", "7.2", "7.3"}
	for i, n := range names {
		k := KernelRun{Name: n, Status: StatusComplete, Env: Env{LandlockStatus: landlock.Enabled, ABI: i + 2}}
		for _, a := range []string{"base", "fs", "truncate", "ioctl", "tcp", "udp", "scope", "resolveunix", "tsync", "flags", "ptrace", "errata", "downgrade"} {
			for j := 0; j < 120; j++ {
				k.Cases = append(k.Cases, Case{Area: a, Name: fmt.Sprint(j), Priv: "root", Verdict: Pass})
			}
		}
		k.Cases[i].Verdict = Fail
		run.Kernels = append(run.Kernels, k)
	}
	run.Kernels[3].Env = Env{LandlockStatus: landlock.Disabled}
	run.Kernels[0].Env = Env{LandlockStatus: landlock.Absent}
	run.Kernels[8].Status = "broken"
	return run
}

func TestTerminalFitsHundredColumns(t *testing.T) {
	var b bytes.Buffer
	assert.NilError(t, Terminal(&b, nineKernels(), true))
	strip := regexp.MustCompile("\x1b\\[[0-9;]*m")
	for _, l := range strings.Split(strip.ReplaceAllString(b.String(), ""), "\n") {
		assert.Check(t, utf8.RuneCountInString(l) <= termWidth, "%d columns: %q", utf8.RuneCountInString(l), l)
	}
	t.Log("\n" + strip.ReplaceAllString(b.String(), ""))
	plain := strip.ReplaceAllString(b.String(), "")
	assert.Check(t, is.Contains(plain, "  6.16.3-trixie-\n"))
	assert.Check(t, is.Contains(plain, "  6.12-lsm-off  backports          7.0"))
	assert.Check(t, !regexp.MustCompile(` \n`).MatchString(plain), "trailing spaces")
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	assert.NilError(t, Markdown(&b, fixture()))
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"**amd64 (x86\\_64): 3 kernels**\n\n| area | 6.1<br>ABI 2 | 6.12<br>ABI 6 \\* | 7.0<br>ABI 8 |\n|---|---|---|---|\n",
		"| fs | ok 2 | **FAIL 1** | **BROKEN** |\n",
		"| tcp | skip 1 | ok 1 | **BROKEN** |\n",
		"- **FAIL** 6.12/amd64 (ABI 6) fs: 1 fail, 1 pass\n",
		"  - `fs/read_file_denied/unpriv` fail: expected `EACCES`, observed `ok` (read \\<policy\\> \\& \"quotes\" succeeded)\n",
		"- **BROKEN** 7.0/amd64 (ABI 8): no done record",
		"- 6.12/amd64: ABI mismatch: catalog expects 7, kernel reports 6",
		"8 passed, 1 failed, 1 skipped, 0 broken",
	} {
		assert.Check(t, is.Contains(out, want))
	}
	assert.Check(t, is.Equal(mdCode("a`b"), "``a`b``"))
}

func TestJUnitParsesBack(t *testing.T) {
	for _, k := range fixture().Kernels {
		var b bytes.Buffer
		assert.NilError(t, JUnit(&b, k))
		var got JUnitSuites
		assert.NilError(t, xml.Unmarshal(b.Bytes(), &got), b.String())

		var want Counts
		for _, c := range k.Cases {
			want.Add(c.Verdict)
		}
		kernelErr := 0
		if k.Status != StatusComplete {
			kernelErr = 1
		}
		assert.Equal(t, got.Tests, len(k.Cases)+kernelErr, k.Name)
		assert.Equal(t, got.Failures, want.Fail, k.Name)
		assert.Equal(t, got.Skipped, want.Skip, k.Name)
		assert.Equal(t, got.Errors, want.Broken+kernelErr, k.Name)
		n := 0
		for _, s := range got.Suites {
			assert.Equal(t, s.Tests, len(s.Cases))
			n += len(s.Cases)
			for _, c := range s.Cases {
				assert.Check(t, strings.HasPrefix(s.Name, k.Key()+"."))
				assert.Equal(t, c.ClassName, s.Name)
			}
		}
		assert.Equal(t, n, got.Tests)
	}

	var b bytes.Buffer
	assert.NilError(t, JUnit(&b, fixture().Kernels[1]))
	var got JUnitSuites
	assert.NilError(t, xml.Unmarshal(b.Bytes(), &got))
	fs := got.Suites[1]
	assert.Equal(t, fs.Name, "6.12/amd64.fs")
	assert.Equal(t, fs.Cases[1].Name, "read_file_denied[unpriv]")
	assert.DeepEqual(t, fs.Cases[1].Failure, &JUnitProblem{Message: "expected EACCES, observed ok", Type: "fail", Text: `read <policy> & "quotes" succeeded`})

	b.Reset()
	assert.NilError(t, JUnit(&b, fixture().Kernels[2]))
	got = JUnitSuites{}
	assert.NilError(t, xml.Unmarshal(b.Bytes(), &got))
	run := got.Suites[0].Cases[0]
	assert.Equal(t, run.ClassName, "7.0/amd64.kernel")
	assert.Check(t, is.Contains(run.Error.Message, "no done record after 2 cases"))
	assert.Check(t, is.Contains(run.Error.Text, "Kernel panic - not syncing: double fault"))
}

func TestJUnitControlCharacters(t *testing.T) {
	k := fixture().Kernels[2]
	k.Attempts[1].ConsoleTail = "\x1b[0mpanic\x00\x07 end ]]> <x>"
	var b bytes.Buffer
	assert.NilError(t, JUnit(&b, k))
	var got JUnitSuites
	assert.NilError(t, xml.Unmarshal(b.Bytes(), &got), "console bytes made invalid XML")
	assert.Check(t, is.Contains(got.Suites[0].Cases[0].Error.Text, "\uFFFD[0mpanic\uFFFD\uFFFD end ]]> <x>"))
}

func TestHTML(t *testing.T) {
	run := fixture()
	run.Kernels[1].Attempts[0].ConsoleLog = "console/6.12 #1.log"
	run.Kernels[1].Flavour = "rt"
	var b bytes.Buffer
	assert.NilError(t, HTML(&b, run))
	out := b.String()
	assert.Check(t, is.Contains(out, `read &lt;policy&gt; &amp; &#34;quotes&#34; succeeded`))
	assert.Check(t, !strings.Contains(out, "<policy>"))
	assert.Check(t, !strings.Contains(out, "<oops>"))
	assert.Check(t, is.Contains(out, "Kernel panic - not syncing: &lt;oops&gt;"))
	// One matrix cell per kernel × area, each linking to its case list.
	cells := regexp.MustCompile(`<td class="(pass|fail|skip|broken|empty)"><a href="#(k\d+-a\d+)"`).FindAllStringSubmatch(out, -1)
	assert.Equal(t, len(cells), 3*3)
	for _, c := range cells {
		assert.Check(t, is.Contains(out, `<details class="cell" id="`+c[2]+`"`))
	}
	assert.Equal(t, cells[4][1], "fail")   // fs × 6.12
	assert.Equal(t, cells[6][1], "skip")   // tcp × 6.1
	assert.Equal(t, cells[8][1], "broken") // tcp × 7.0
	for _, want := range []string{
		`href="console/7.0-2.log"`,
		`href="console/6.12%20%231.log"`,
		"6.1.0-40-cloud-amd64",
		"ABI mismatch: catalog expects 7, kernel reports 6",
		"(catalog expects ABI 7)",
		"20261105T143000Z-fixture",
		"ci-1",
		"<tr><th>flavour</th><td>rt</td></tr>",
	} {
		assert.Check(t, is.Contains(out, want))
	}
	// Self-contained: no external assets.
	assert.Check(t, !regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(out))
	assert.Check(t, !strings.Contains(out, "<link"))
}

func TestWriteAll(t *testing.T) {
	root := t.TempDir()
	first := filepath.Join(root, "runs", "run-1")
	run := fixture()
	assert.NilError(t, WriteAll(first, run))
	for _, f := range []string{"results.json", "matrix.md", "index.html", "junit/6.1_amd64.xml", "junit/6.12_amd64.xml", "junit/7.0_amd64.xml"} {
		fi, err := os.Stat(filepath.Join(first, f))
		assert.NilError(t, err, f)
		assert.Assert(t, fi.Size() > 0, f)
		assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o644), f)
	}
	fi, err := os.Stat(first)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o755))
	assertLatest(t, filepath.Join(root, "runs"), "run-1")
	got, err := Load(filepath.Join(first, "results.json"))
	assert.NilError(t, err)
	assert.DeepEqual(t, got, run)

	// The harness writes console logs first, then calls WriteAll.
	second := filepath.Join(root, "runs", "run-2")
	assert.NilError(t, os.MkdirAll(filepath.Join(second, "console"), 0o755))
	log := filepath.Join(second, "console", "7.0-1.log")
	assert.NilError(t, os.WriteFile(log, []byte("boot log\n"), 0o644))
	assert.NilError(t, os.MkdirAll(filepath.Join(second, "junit"), 0o755))
	stale := filepath.Join(second, "junit", "gone.xml")
	assert.NilError(t, os.WriteFile(stale, []byte("<x/>"), 0o644))

	assert.NilError(t, WriteAll(second, run))
	b, err := os.ReadFile(log)
	assert.NilError(t, err)
	assert.Equal(t, string(b), "boot log\n")
	_, err = os.Stat(stale)
	assert.Check(t, os.IsNotExist(err), "stale junit file kept")
	for _, f := range []string{"results.json", "matrix.md", "index.html", "junit/6.1_amd64.xml", "junit/6.12_amd64.xml", "junit/7.0_amd64.xml"} {
		_, err := os.Stat(filepath.Join(second, f))
		assert.NilError(t, err, f)
	}
	assertLatest(t, filepath.Join(root, "runs"), "run-2")

	// Rewriting a run directory (e.g. after a merge) keeps everything working.
	assert.NilError(t, WriteAll(first, run))
	assertLatest(t, filepath.Join(root, "runs"), "run-1")

	// No temporary files are left behind.
	entries, err := os.ReadDir(filepath.Join(root, "runs"))
	assert.NilError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.DeepEqual(t, names, []string{"latest", "run-1", "run-2"})
	entries, err = os.ReadDir(second)
	assert.NilError(t, err)
	names = nil
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.DeepEqual(t, names, []string{"console", "index.html", "junit", "matrix.md", "results.json"})
}

func assertLatest(t *testing.T, parent, want string) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(parent, "latest"))
	assert.NilError(t, err)
	assert.Equal(t, target, want)
	_, err = os.Stat(filepath.Join(parent, "latest", "index.html"))
	assert.NilError(t, err)
}

func TestWriteAllLatestNotALink(t *testing.T) {
	root := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(root, "latest"), 0o755))
	err := WriteAll(filepath.Join(root, "run-1"), fixture())
	assert.ErrorContains(t, err, "is not a symlink")
	err = WriteAll(filepath.Join(root, "x", "latest"), fixture())
	assert.ErrorContains(t, err, "name of the symlink")
}

func TestJUnitFileNames(t *testing.T) {
	run := &Run{Kernels: []KernelRun{{Name: "6.12"}, {Name: "6.12/lsm off"}, {Name: "6.12_lsm_off"}, {Name: ".."}, {Name: "6.12"},
		{Name: "6.12", Arch: "arm64"}}}
	assert.DeepEqual(t, junitFileNames(run), []string{"6.12_amd64.xml", "6.12_lsm_off_amd64.xml", "6.12_lsm_off_amd64-2.xml",
		"kernel4_amd64.xml", "6.12_amd64-2.xml", "6.12_arm64.xml"})
}

// A kernel that needed a retry is marked in every report and counted.
func TestRetriedKernelIsVisibleEverywhere(t *testing.T) {
	run := &Run{ID: "r", Kernels: []KernelRun{{Name: "7.3", Status: StatusComplete,
		Env: Env{LandlockStatus: landlock.Enabled, ABI: 11},
		Attempts: []Attempt{
			{Status: StatusBroken, Reason: "no done record after 540 cases: crash, hang or truncated output; qemu signal: killed",
				Cases: []Case{{Area: "fs", Name: "a", Priv: "root", Verdict: Pass}}},
			{Status: StatusComplete}},
		Cases: []Case{{Area: "fs", Name: "a", Priv: "root", Verdict: Pass}}}}}
	var term strings.Builder
	assert.NilError(t, Terminal(&term, run, false))
	assert.Check(t, is.Contains(term.String(), "RETRIED 7.3/amd64 (ABI 11): the first boot was broken: no done record after 540 cases"))
	assert.Check(t, is.Contains(term.String(), "(1 kernel, 1 retried)"))
	files, err := renderAll(run)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(files[FileMarkdown]), "**RETRIED** 7.3/amd64"))
	assert.Check(t, is.Contains(string(files[FileHTML]), "RETRIED"))
	var junit string
	for name, b := range files {
		if strings.HasPrefix(name, "junit/") {
			junit = string(b)
		}
	}
	assert.Check(t, is.Contains(junit, `<property name="verdict" value="retried">`))
	assert.Check(t, is.Contains(junit, "RETRIED: the first boot was broken"))
	assert.Assert(t, run.Passed(false) && !run.Passed(true))
}

// A run of both architectures: one table per architecture in every
// report, titled with it, and the same series twice, told apart.
func TestReportsGroupColumnsByArchitecture(t *testing.T) {
	k := func(name string, a arch.Arch, v Verdict) KernelRun {
		return KernelRun{Name: name, Arch: a, Status: StatusComplete, Env: Env{LandlockStatus: landlock.Enabled, ABI: 11},
			Cases: []Case{{Area: "fs", Name: "a", Priv: "root", Verdict: v, Expected: "EACCES", Observed: "ok"}}}
	}
	// Interleaved in the run: the reports group them.
	run := &Run{ID: "two", Kernels: []KernelRun{k("7.3", "arm64", Fail), k("7.3", "amd64", Pass), k("6.1", "arm64", Pass), k("6.1", "amd64", Pass)}}
	m := NewMatrix(run)
	assert.DeepEqual(t, m.Groups, []Group{{Arch: "amd64", Start: 0, End: 2}, {Arch: "arm64", Start: 2, End: 4}})
	assert.Equal(t, m.Kernels[2].Key(), "7.3/arm64")

	var term strings.Builder
	assert.NilError(t, Terminal(&term, run, false))
	out := term.String()
	t.Log("\n" + out)
	assert.Check(t, is.Contains(out, "amd64 (x86_64): 2 kernels\nkernel  7.3     6.1\n"))
	assert.Check(t, is.Contains(out, "arm64 (aarch64): 2 kernels\nkernel  7.3     6.1\n"))
	assert.Check(t, is.Contains(out, "\nfs      ok 1    ok 1\n"))
	assert.Check(t, is.Contains(out, "\nfs      FAIL 1  ok 1\n"))
	assert.Check(t, is.Contains(out, "FAIL 1 7.3/arm64 (ABI 11) fs"))

	files, err := renderAll(run)
	assert.NilError(t, err)
	md := string(files[FileMarkdown])
	assert.Check(t, is.Contains(md, "**amd64 (x86\\_64): 2 kernels**\n\n| area | 7.3<br>ABI 11 | 6.1<br>ABI 11 |\n"))
	assert.Check(t, is.Contains(md, "**arm64 (aarch64): 2 kernels**\n\n| area | 7.3<br>ABI 11 | 6.1<br>ABI 11 |\n|---|---|---|\n| fs | **FAIL 1** | ok 1 |"))
	html := string(files[FileHTML])
	assert.Check(t, is.Contains(html, `<th class="arch" colspan="2">amd64 (x86_64): 2 kernels</th><th class="arch" colspan="2">arm64 (aarch64): 2 kernels</th>`))
	assert.Check(t, is.Contains(html, "<span>7.3/arm64</span>"))
	_, ok := files["junit/7.3_arm64.xml"]
	assert.Check(t, ok, "a JUnit file per kernel and architecture")
	_, ok = files["junit/7.3_amd64.xml"]
	assert.Check(t, ok)
}
