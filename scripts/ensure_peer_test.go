package scripts

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// peerBin is a PATH for ensure-peer.sh on an amd64 host: dpkg knows the
// foreign architectures and installed packages given, the compilers
// given exist, and apt-get and dpkg --add-architecture record their
// arguments in the log.
func peerBin(t *testing.T, uid string, foreign, installed, compilers []string) (bin, log string) {
	s := newStandIns(t, uid)
	write, log := s.write, s.log
	write("dpkg", `case "$1" in
--print-architecture) echo amd64 ;;
--print-foreign-architectures) for a in `+strings.Join(foreign, " ")+`; do echo "$a"; done ;;
--add-architecture) echo "dpkg $*" >>`+log+` ;;
-s) for p in `+strings.Join(installed, " ")+`; do [ "$p" = "$2" ] && exit 0; done; exit 1 ;;
esac
`)
	for _, c := range compilers {
		write(c, "exit 0\n")
	}
	s.real("env", "grep")
	return s.bin, log
}

func TestEnsurePeer(t *testing.T) {
	_, err := os.ReadFile("ensure-peer.sh") // so that go test's cache notices a change
	assert.NilError(t, err)
	for _, tc := range []struct {
		name                          string
		uid                           string
		args                          []string
		foreign, installed, compilers []string
		wantErr                       bool
		wantLog, wantStderr           string
	}{
		{name: "amd64, all there", uid: "0", installed: []string{"libcap-dev:amd64"}, compilers: []string{"gcc"}},
		{name: "amd64: gcc and libcap", uid: "0",
			wantLog: "apt-get update -qq\napt-get install -y -qq gcc libc6-dev libcap-dev\n"},
		{name: "arm64 on amd64: the architecture, the cross compiler, its libcap", uid: "0", args: []string{"arm64"},
			wantLog: "dpkg --add-architecture arm64\napt-get update -qq\napt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross libcap-dev:arm64\n"},
		{name: "all, arm64 known and its compiler there", uid: "0", args: []string{"all"}, foreign: []string{"arm64"},
			installed: []string{"libcap-dev:amd64"}, compilers: []string{"gcc", "aarch64-linux-gnu-gcc"},
			wantLog: "apt-get update -qq\napt-get install -y -qq libcap-dev:arm64\n"},
		{name: "all there for all", uid: "0", args: []string{"all"}, foreign: []string{"arm64"},
			installed: []string{"libcap-dev:amd64", "libcap-dev:arm64"}, compilers: []string{"gcc", "aarch64-linux-gnu-gcc"}},
		{name: "not root, no sudo: the commands to run", uid: "1001", args: []string{"arm64"}, compilers: []string{"aarch64-linux-gnu-gcc"}, wantErr: true,
			wantStderr: "missing: run 'sudo dpkg --add-architecture arm64'\nmissing libcap-dev:arm64: run 'sudo apt-get update && sudo apt-get install libcap-dev:arm64'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := peerBin(t, tc.uid, tc.foreign, tc.installed, tc.compilers)
			stderr, logged, err := runScript(t, bin, log, nil, "ensure-peer.sh", tc.args...)
			if tc.wantErr {
				assert.ErrorContains(t, err, "exit status 1")
			} else {
				assert.NilError(t, err, stderr)
			}
			assert.Equal(t, logged, tc.wantLog)
			assert.Assert(t, strings.Contains(stderr, tc.wantStderr), stderr)
		})
	}
}
