package protocol

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// The host encodes with the code the guest decodes: every field survives.
func TestSettingsRoundTrip(t *testing.T) {
	s := Settings{Run: "^fs/", Areas: []string{"fs", "tcp"}, Ceiling: 3, Shard: Shard{2, 4}, Verbose: true, Noop: true, NoUnpriv: true,
		Libraries: []string{"own", "go-landlock"}, Overhead: true, Selftests: true, Port: "/dev/ttyS0"}
	line, err := s.Cmdline()
	assert.NilError(t, err)
	got, err := ParseCmdline("console=ttyS0 quiet " + line + " lsm=landlock")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, s)

	only := Settings{OnlyUnpriv: true}
	line, err = only.Cmdline()
	assert.NilError(t, err)
	got, err = ParseCmdline(line)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, only)

	empty, err := Settings{}.Cmdline()
	assert.NilError(t, err)
	assert.Equal(t, empty, "")
}

func TestBadSettings(t *testing.T) {
	for _, s := range []Settings{{Run: "a b"}, {Run: "("}, {Run: `x"y`}, {Port: "ttyS0"}, {Port: "/dev/tty S0"}, {NoUnpriv: true, OnlyUnpriv: true}} {
		_, err := s.Cmdline()
		assert.Assert(t, err != nil, "%+v", s)
	}
	for _, line := range []string{"llconform.shard=4/3", "llconform.ceiling=x", "llconform.frobnicate=1", "llconform.port=ttyS0", "llconform.unpriv=2"} {
		_, err := ParseCmdline(line)
		assert.ErrorContains(t, err, line)
	}
}

// The agent learns its result port even from a command line with a bad
// word, to report the error there; without the key it is the x86 one.
func TestResultPort(t *testing.T) {
	s, err := ParseCmdline("llconform.frobnicate=1 llconform.port=/dev/ttyS0 llconform.ceiling=x")
	assert.ErrorContains(t, err, "llconform.frobnicate=1")
	assert.Equal(t, s.ResultPort(), "/dev/ttyS0")
	s, err = ParseCmdline("console=ttyS0")
	assert.NilError(t, err)
	assert.Equal(t, s.ResultPort(), "/dev/ttyS1")
}

func TestParseShard(t *testing.T) {
	sh, err := ParseShard("2/3")
	assert.NilError(t, err)
	assert.Equal(t, sh, Shard{2, 3})
	assert.Assert(t, !sh.Includes(0) && sh.Includes(1) && sh.Includes(4))
	for _, bad := range []string{"0/3", "4/3", "x", "1/", "/2", "-1/2"} {
		_, err := ParseShard(bad)
		assert.ErrorContains(t, err, "want i/n", bad)
	}
	assert.Assert(t, Shard{}.Includes(7), "no shard includes everything")
}

func TestStreamWriterAndReader(t *testing.T) {
	var b strings.Builder
	w := NewStreamWriter(&b)
	assert.NilError(t, w.Header(results.Env{Release: "7.3"}))
	assert.NilError(t, w.Case(results.Case{Area: "fs", Name: "a", Verdict: results.Pass}))
	assert.NilError(t, w.Done(""))
	s, err := ReadStream(strings.NewReader("garbage before\n" + b.String() + `{"type":"case","case":{"area":"late"}}` + "\n"))
	assert.NilError(t, err)
	ok, why := s.Complete()
	assert.Assert(t, ok, why)
	assert.Equal(t, len(s.Cases), 1)
	assert.DeepEqual(t, s.Garbage, []string{"garbage before", `{"type":"case","case":{"area":"late"}}`})
}

func TestIncompleteStreams(t *testing.T) {
	for _, tc := range []struct{ lines, why string }{
		{"", "no header record"},
		{`{"type":"header","env":{}}` + "\n" + `{"type":"case","case":{}}`, "no done record after 1 cases"},
		{`{"type":"header","env":{}}` + "\n" + `{"type":"done","count":2}`, "done record counts 2 cases, 0 received"},
		{`{"type":"header","env":{}}` + "\n" + `{"type":"done","error":"boom"}`, "agent error: boom"},
		{`{"type":"case","case":{}}` + "\n" + `{"type":"done","count":1}`, "no header record"},
	} {
		s, _ := ReadStream(strings.NewReader(tc.lines))
		ok, why := s.Complete()
		assert.Assert(t, !ok)
		assert.Assert(t, strings.Contains(why, tc.why), "%q: %q", tc.lines, why)
	}
}

// The host names the modules, the guest reads the names back in order.
func TestModuleFileNames(t *testing.T) {
	assert.Equal(t, ModuleFile(3, "libcrc32c"), "03-libcrc32c.ko")
	name, ok := ModuleName(ModuleFile(3, "libcrc32c"))
	assert.Assert(t, ok)
	assert.Equal(t, name, "libcrc32c")
	for _, other := range []string{"overlay.ko.xz", "README", "00-.ko", "overlay.ko"} {
		_, ok := ModuleName(other)
		assert.Assert(t, !ok, other)
	}
}
