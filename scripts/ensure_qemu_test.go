// Package scripts tests the shell scripts of this folder.
package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// fakeBin is a PATH of stand-ins: id says uid (and the user "runner"),
// sudo and apt-get record their arguments in the log, and sudo -n fails
// when sudoPassword is set, as sudo does when it would have to ask.
func fakeBin(t *testing.T, uid string, withSudo, sudoPassword, withQEMU bool, qemus ...string) (bin, log string) {
	s := newStandIns(t, uid)
	write, log := s.write, s.log
	if withSudo {
		fail := ""
		if sudoPassword {
			fail = "exit 1"
		}
		write("sudo", `echo "sudo $*" >>`+log+`
[ "$1" = -n ] || { echo "sudo without -n would ask for a password" >&2; exit 1; }
`+fail+`
shift
exec "$@"
`)
	}
	if withQEMU {
		write("qemu-system-x86_64", "exit 0\n")
	}
	for _, q := range qemus {
		write(q, "exit 0\n")
	}
	s.real("env", "true")
	return s.bin, log
}

func TestEnsureQEMU(t *testing.T) {
	// Read by the test itself so that go test's cache notices a change.
	_, err := os.ReadFile("ensure-qemu.sh")
	assert.NilError(t, err)
	present := filepath.Join(t.TempDir(), "debian-archive-keyring.gpg")
	assert.NilError(t, os.WriteFile(present, nil, 0o644))
	for _, tc := range []struct {
		name                 string
		uid                  string
		sudo, password, qemu bool
		keyring              string
		wantErr              bool
		wantLog, wantStderr  string
	}{
		{name: "all there", uid: "1001", qemu: true, keyring: present},
		{name: "root installs with apt-get", uid: "0", keyring: present,
			wantLog:    "apt-get update -qq\napt-get install -y -qq qemu-system-x86\n",
			wantStderr: "installing qemu-system-x86 (apt-get)..."},
		{name: "runner user installs with sudo -n", uid: "1001", sudo: true,
			keyring: "/nonexistent/debian-archive-keyring.gpg",
			wantLog: "sudo -n true\nsudo -n apt-get update -qq\napt-get update -qq\n" +
				"sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 debian-archive-keyring\n" +
				"apt-get install -y -qq qemu-system-x86 debian-archive-keyring\n",
			wantStderr: "installing qemu-system-x86 debian-archive-keyring (sudo -n apt-get)..."},
		{name: "no sudo: the command to run", uid: "1001", keyring: present, wantErr: true,
			wantStderr: "missing qemu-system-x86: run 'sudo apt-get install qemu-system-x86'"},
		{name: "sudo that asks for a password: the command to run", uid: "1001", sudo: true, password: true,
			qemu: true, keyring: "/nonexistent/k.gpg", wantErr: true,
			wantLog:    "sudo -n true\n",
			wantStderr: "missing debian-archive-keyring: run 'sudo apt-get install debian-archive-keyring'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := fakeBin(t, tc.uid, tc.sudo, tc.password, tc.qemu)
			stderr, logged, err := runScript(t, bin, log, []string{"LLCONFORM_KEYRING=" + tc.keyring}, "ensure-qemu.sh")
			if tc.wantErr {
				assert.ErrorContains(t, err, "exit status 1")
			} else {
				assert.NilError(t, err, stderr)
			}
			assert.Equal(t, logged, tc.wantLog)
			if tc.wantStderr == "" {
				assert.Equal(t, stderr, "")
			} else {
				assert.Assert(t, strings.Contains(stderr, tc.wantStderr), stderr)
			}
		})
	}
}

// QEMU for arm64 guests is installed only when arm64 is asked for: by
// argument or $ARCH, with the x86 one too for "all".
func TestEnsureQEMUPerArchitecture(t *testing.T) {
	present := filepath.Join(t.TempDir(), "debian-archive-keyring.gpg")
	assert.NilError(t, os.WriteFile(present, nil, 0o644))
	for _, tc := range []struct {
		name       string
		args, env  []string
		qemus      []string
		wantLog    string
		wantStatus string
		wantStderr string
	}{
		{name: "default: amd64 only", qemus: []string{"qemu-system-x86_64"}},
		{name: "arm64 by argument", args: []string{"arm64"}, qemus: []string{"qemu-system-x86_64"},
			wantLog: "apt-get update -qq\napt-get install -y -qq qemu-system-arm\n"},
		{name: "arm64 by ARCH", env: []string{"ARCH=arm64"},
			wantLog: "apt-get update -qq\napt-get install -y -qq qemu-system-arm\n"},
		{name: "all, both missing", args: []string{"all"},
			wantLog: "apt-get update -qq\napt-get install -y -qq qemu-system-x86 qemu-system-arm\n"},
		{name: "all, both there", args: []string{"all"}, qemus: []string{"qemu-system-x86_64", "qemu-system-aarch64"}},
		{name: "arm64 there, amd64 not asked", args: []string{"arm64"}, qemus: []string{"qemu-system-aarch64"}},
		{name: "a bad architecture", args: []string{"x86_64"}, wantStatus: "exit status 2",
			wantStderr: "ensure-qemu.sh: architecture 'x86_64': want amd64, arm64 or all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := fakeBin(t, "0", false, false, false, tc.qemus...)
			stderr, logged, err := runScript(t, bin, log, append([]string{"LLCONFORM_KEYRING=" + present}, tc.env...), "ensure-qemu.sh", tc.args...)
			if tc.wantStatus != "" {
				assert.ErrorContains(t, err, tc.wantStatus)
			} else {
				assert.NilError(t, err, stderr)
			}
			assert.Equal(t, logged, tc.wantLog)
			assert.Assert(t, strings.Contains(stderr, tc.wantStderr), stderr)
		})
	}
}
