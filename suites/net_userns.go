package suites

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Privileged ports where the system allows them: a child of the case in a
// user and network namespace of its own holds CAP_NET_BIND_SERVICE there,
// so the system lets it bind port 80 and the only EACCES left is
// Landlock's. This separates Landlock's denial from the system's for
// every user, root or not (net_edges.go has the differential cases).
//
// The user namespace needs a child process: unshare(CLONE_NEWUSER)
// refuses multithreaded callers, and every Go process is one. The child
// is this binary again, in the role netnsChildEnv.
const netnsChildEnv = "LLCONFORM_NETNS_CHILD"

func init() {
	role.Register(netnsChildEnv, func(spec string) int {
		fmt.Println(privilegedPortChild(spec))
		return 0
	})
	check.Build(func() {
		for _, k := range []struct {
			area      string
			typ       int
			proto     int
			bind, oth landlock.AccessNet
			abi       int
			cov       string
		}{
			{"tcp", unix.SOCK_STREAM, unix.IPPROTO_TCP, tcpBind, tcpConnect, check.ABINet, "§3.8"},
			{"udp", unix.SOCK_DGRAM, unix.IPPROTO_UDP, udpBind, udpSend, check.ABIUDP, "§3.9"},
		} {
			k := k
			spec := fmt.Sprintf("%d:%d:%d:%d", k.typ, k.proto, k.bind, k.oth)
			check.Register(mirrored(check.Case{Area: k.area, Name: "ipv4/bind/privileged_port_in_own_user_and_network_namespace",
				Skip: noUserns, Covers: []string{k.cov, "net.1"},
				Variants: netVariants(fixture.IPv4, k.typ, k.proto),
				Omits: []check.Omission{{Dim: check.DimFamily, Values: []string{"ipv6"},
					Why: "the question is privilege inside an owned network namespace, not the family; the privileged_port rows run on both"}},
				Want: func(e check.Env) string {
					denied := check.OK
					if e.LibABI() >= k.abi {
						denied = "EACCES"
					}
					return "unsandboxed=ok granted=ok denied=" + denied
				},
				Run: func(t *check.T) string {
					t.Logf("kernel.unprivileged_userns_clone=%s user.max_user_namespaces=%s",
						sysctl("kernel/unprivileged_userns_clone"), sysctl("user/max_user_namespaces"))
					return inOwnNetns(spec, t.Env.Ceiling)
				}})...)
		}
	})
}

// noUserns is an environment skip: the kernel's settings forbid this user
// a user namespace (Debian's kernel.unprivileged_userns_clone, Ubuntu's
// AppArmor restriction, or user.max_user_namespaces = 0).
func noUserns(e check.Env) string {
	if sysctl("user/max_user_namespaces") == "0" {
		return "user namespaces disabled (user.max_user_namespaces = 0)"
	}
	if e.Root {
		return ""
	}
	if sysctl("kernel/unprivileged_userns_clone") == "0" {
		return "unprivileged user namespaces disabled (kernel.unprivileged_userns_clone = 0)"
	}
	if sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1" {
		return "unprivileged user namespaces restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1)"
	}
	return ""
}

// sysctl reads /proc/sys/<name>, "absent" when it does not exist.
func sysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return "absent"
	}
	return strings.TrimSpace(string(b))
}

// inOwnNetns runs the child in new user and network namespaces, mapping
// the caller's uid and gid to root there, and returns what it printed.
func inOwnNetns(spec string, ceiling int) string {
	return inOwnUserNetns(netnsChildEnv, spec+":"+strconv.Itoa(ceiling))
}

// inOwnUserNetns runs this binary in the role roleEnv (value) in new user
// and network namespaces, mapping the caller's uid and gid to root
// there, and returns what it printed.
func inOwnUserNetns(roleEnv, value string) string {
	self, err := os.Executable()
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	cmd := exec.Command(self)
	cmd.Env = []string{roleEnv + "=" + value}
	cmd.Stdin, cmd.Stderr = strings.NewReader(""), io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	out, err := cmd.Output()
	if err != nil {
		return check.SetupFailedf("child in a user and network namespace: %s", check.Outcome(err))
	}
	return strings.TrimSpace(string(out))
}

// privilegedPortChild binds port 80 (on the wildcard address: the new
// namespace's lo is down) unsandboxed, then under a layer granting it,
// then under a second layer granting another port.
func privilegedPortChild(spec string) string {
	fixture.LockThread() // the domain is the thread's; the process exits after
	var typ, proto, ceiling int
	var bind, other landlock.AccessNet
	if _, err := fmt.Sscanf(spec, "%d:%d:%d:%d:%d", &typ, &proto, &bind, &other, &ceiling); err != nil {
		return check.SetupFailedf("bad child spec %s", spec)
	}
	const port = 80
	try := func() string {
		fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return check.Outcome(err)
		}
		defer unix.Close(fd)
		return check.Outcome(unix.Bind(fd, &unix.SockaddrInet4{Port: port}))
	}
	cfg := landlock.Config{Mode: landlock.BestEffort, Threads: landlock.CurrentThread, MaxABI: ceiling}
	base := try()
	if _, err := fixture.NetPolicy(bind|other, fixture.Allow(port, bind)).Enforce(cfg); err != nil {
		return fixture.EnforceFailed(err)
	}
	granted := try()
	if _, err := fixture.NetPolicy(bind|other, fixture.Allow(port+1, bind)).Enforce(cfg); err != nil {
		return fixture.EnforceFailed(err)
	}
	return check.Steps(check.Saw("unsandboxed", base), check.Saw("granted", granted), check.Saw("denied", try()))
}
