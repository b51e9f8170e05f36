// Package kconfig is the kernel configuration the suites need: each
// CONFIG_ option with the areas that need it, as a fragment to merge onto
// a small config (make tinyconfig), and the check of a kernel's .config
// against it. It knows the cases only by the patterns of their IDs
// (area/name): the caller counts them.
package kconfig

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/llconform/llconform/internal/arch"
)

// Option is one option the suites need.
type Option struct {
	Name string // without CONFIG_
	// Module: =m is enough, the VM loads the module (kernels.GuestModules).
	Module bool
	// Contains, for a string option, is a word its value must list.
	Contains string
	Arch     arch.Arch // only on this architecture (amd64, arm64); "" on all
	// Areas says who needs it, for a person.
	Areas string
	// Cases matches the IDs (area/name) of the cases that skip without
	// it; "" where a count by name is not possible.
	Cases string
	// Fatal: without it no case runs (the kernel does not boot, the
	// agent cannot start, or the run cannot end).
	Fatal bool
	// Effect, where set, is what its absence costs when that is no skip.
	Effect string
}

// Options are the options of the suites, the VM and the agent, in the
// order of the fragment. Derived from what the agent mounts and the cases
// use (sockets, namespaces, mounts, audit, keys); an option selected by
// one of these (SHMEM by TMPFS, ...) is left to Kconfig.
var Options = []Option{
	// The boot and the agent.
	{Name: "64BIT", Arch: "amd64", Areas: "the agent (a 64-bit static binary)", Fatal: true},
	{Name: "PRINTK", Areas: "the console log (boot messages, oopses)", Fatal: true},
	{Name: "TTY", Areas: "the console and the result port", Fatal: true},
	{Name: "SERIAL_8250", Areas: "the console (ttyS0) and the result port (ttyS1 on amd64, ttyS0 on arm64)", Fatal: true},
	{Name: "SERIAL_8250_CONSOLE", Areas: "the console log", Fatal: true},
	// On amd64 QEMU's ACPI tables read PCI config space: ACPI without PCI
	// fails to load them ("Unable to load the System Description Tables").
	{Name: "PCI", Areas: "the result port on arm64 (a PCI 16550); ACPI's tables on amd64 (powering off)",
		Effect: "no result port on arm64; on amd64 ACPI cannot load its tables and the guest cannot power off (it is stopped 5 s after its done record)"},
	{Name: "SERIAL_8250_PCI", Arch: "arm64", Areas: "the result port (a PCI 16550 on arm64)", Fatal: true},
	{Name: "SERIAL_AMBA_PL011", Arch: "arm64", Areas: "the console (ttyAMA0)", Fatal: true},
	{Name: "SERIAL_AMBA_PL011_CONSOLE", Arch: "arm64", Areas: "the console log", Fatal: true},
	{Name: "BLK_DEV_INITRD", Areas: "the agent's initramfs (an uncompressed cpio)", Fatal: true},
	{Name: "BINFMT_ELF", Areas: "the agent and every process it starts", Fatal: true},
	{Name: "BINFMT_SCRIPT", Areas: "fs exec cases that run a script"},
	{Name: "MULTIUSER", Areas: "the unprivileged pass (setuid), creds", Fatal: true},
	{Name: "FUTEX", Areas: "the agent (the Go runtime)", Fatal: true},
	{Name: "EPOLL", Areas: "the agent (the Go runtime)", Fatal: true},
	{Name: "PROC_FS", Areas: "the agent (/proc), fs special files", Fatal: true},
	// /proc/sys: PROC_SYSCTL selects it where it still exists (before 7.x).
	{Name: "SYSCTL", Areas: "/proc/sys: the namespace and Yama probes, fs special files"},
	{Name: "SYSFS", Areas: "the agent (/sys), fs special sysfs", Fatal: true},
	{Name: "DEVTMPFS", Areas: "the agent (/dev: /dev/null, /dev/zero, the result port)", Fatal: true},
	{Name: "SHMEM", Areas: "tmpfs (tinyconfig builds ramfs in its place)", Fatal: true},
	{Name: "TMPFS", Areas: "the agent (/tmp, /run), fs special tmpfs, memfd", Fatal: true},
	{Name: "ACPI", Arch: "amd64", Areas: "powering the VM off at the end",
		Effect: "the guest halts instead of powering off and is stopped 5 s after its done record"},
	// Landlock.
	{Name: "SECURITY", Areas: "every Landlock case", Fatal: true},
	{Name: "SECURITY_LANDLOCK", Areas: "every Landlock case", Fatal: true},
	{Name: "LSM", Contains: "landlock", Areas: "Landlock enabled at boot; or boot with lsm=landlock", Fatal: true},
	{Name: "SECURITYFS", Areas: "the LSM list in the header", Effect: "the header has no LSM list"},
	// What the cases use.
	{Name: "NET", Areas: "tcp, udp, scope, resolveunix (sockets)", Fatal: true},
	{Name: "UNIX", Areas: "scope, resolveunix, the agent's helpers (UNIX sockets)", Fatal: true},
	{Name: "INET", Areas: "tcp, udp", Cases: `^(tcp|udp|errata/1_tcp)`},
	{Name: "IPV6", Areas: "tcp and udp over IPv6 and IPv4-mapped IPv6", Cases: `ipv6`},
	{Name: "MPTCP", Areas: "tcp and errata: MPTCP is not a TCP right's business", Cases: `mptcp`},
	{Name: "MPTCP_IPV6", Areas: "tcp: MPTCP over IPv6", Cases: `^tcp/ipv6/mptcp/`},
	{Name: "IP_SCTP", Module: true, Areas: "tcp: SCTP is not a TCP right's business", Cases: `/sctp/`},
	{Name: "NAMESPACES", Areas: "fs mount cases, tcp/udp in own namespaces, the unprivileged pass's mount namespaces"},
	{Name: "USER_NS", Areas: "the unprivileged pass's mount cases (fs, ioctl pty), tcp/udp in own namespaces", Cases: `own_user_and_network_namespace`},
	{Name: "NET_NS", Areas: "tcp/udp in their own network namespace", Cases: `own_user_and_network_namespace`},
	{Name: "PID_NS", Areas: "scope cases across PID namespaces"},
	{Name: "CGROUPS", Areas: "fs special cgroup2, cgroup namespaces", Cases: `cgroup2`},
	{Name: "UNIX98_PTYS", Areas: "ioctl pty (a devpts instance)", Cases: `^ioctl/pty/`},
	{Name: "CROSS_MEMORY_ATTACH", Areas: "ptrace: process_vm_readv", Cases: `^ptrace/process_vm_`},
	{Name: "EVENTFD", Areas: "fs special anonymous inodes (eventfd)"},
	{Name: "FILE_LOCKING", Areas: "fs unrestricted: flock and fcntl record locks", Cases: `^fs/unrestricted/(flock|fcntl)$`},
	{Name: "AUDIT", Areas: "audit: Landlock's audit records", Cases: `^audit/`},
	// The Landlock trace events (7.3): tracefs and the event tracer, which
	// the default tracers select.
	{Name: "FTRACE", Areas: "trace: Landlock's trace events", Cases: `^trace/`},
	{Name: "ENABLE_DEFAULT_TRACERS", Areas: "trace: selects the event tracer", Cases: `^trace/`},
	{Name: "EVENT_TRACING", Areas: "trace: the events under /sys/kernel/tracing/events/landlock", Cases: `^trace/`},
	{Name: "KEYS", Areas: "creds: keyctl session to parent", Cases: `^creds/keyctl`},
	{Name: "OVERLAY_FS", Module: true, Areas: "fs mount overlay", Cases: `overlay`},
	{Name: "MODULES", Areas: "loading the options built as modules (=m): overlay, sctp"},
}

// For returns the options that apply to a kernel of arch (amd64, arm64;
// "" for all).
func For(a arch.Arch) []Option {
	var out []Option
	for _, o := range Options {
		if a == "" || o.Arch == "" || o.Arch == a {
			out = append(out, o)
		}
	}
	return out
}

// Config is a parsed .config: option name (without CONFIG_) to value
// (y, m, a number, a string without its quotes). An option that is not
// set is absent.
type Config map[string]string

// Parse reads a .config (or a fragment).
func Parse(r io.Reader) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		name, ok = strings.CutPrefix(name, "CONFIG_")
		if !ok {
			continue
		}
		if v, err := unquote(value); err == nil {
			value = v
		}
		c[name] = value
	}
	return c, sc.Err()
}

func unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", fmt.Errorf("not quoted")
	}
	return strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), `\\`, `\`), nil
}

// Load reads the .config at path.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Arch is the architecture the config builds for (amd64, arm64), or "".
func (c Config) Arch() arch.Arch {
	switch {
	case c["X86_64"] == "y" || c["X86"] == "y":
		return arch.AMD64
	case c["ARM64"] == "y":
		return arch.ARM64
	}
	return ""
}

// Has reports whether the config sets the option as the suites need it.
func (c Config) Has(o Option) bool {
	v, ok := c[o.Name]
	switch {
	case !ok:
		return false
	case o.Contains != "":
		return slices.Contains(strings.Split(v, ","), o.Contains)
	case v == "m":
		return o.Module
	}
	return v == "y"
}

// Missing lists the options of the config's architecture that it lacks;
// an option built as a module (=m) counts only where the VM loads it.
// The LSM list is only checked where the config has one (older kernels
// enable Landlock by lsm= only).
func (c Config) Missing() []Option {
	var out []Option
	for _, o := range For(c.Arch()) {
		if o.Contains != "" {
			if _, ok := c[o.Name]; !ok {
				continue
			}
		}
		if o.Name == "MODULES" && !c.hasModuleOption() {
			continue // nothing to load
		}
		if !c.Has(o) {
			out = append(out, o)
		}
	}
	return out
}

// hasModuleOption reports whether an option the VM can load is =m.
func (c Config) hasModuleOption() bool {
	for _, o := range Options {
		if o.Module && c[o.Name] == "m" {
			return true
		}
	}
	return false
}

// Count is how many of ids (area/name) the option's cases are; -1 when
// the option names no pattern.
func (o Option) Count(ids []string) int {
	if o.Cases == "" {
		return -1
	}
	re := regexp.MustCompile(o.Cases)
	n := 0
	for _, id := range ids {
		if re.MatchString(id) {
			n++
		}
	}
	return n
}

// Warning says what a missing option costs: "CONFIG_AUDIT is off: 19
// audit cases will skip". ids are the IDs of the cases that will run
// (area/name), for the count; nil leaves it out.
func (o Option) Warning(ids []string) string {
	what := "CONFIG_" + o.Name + " is off"
	if o.Contains != "" {
		what = "CONFIG_" + o.Name + " does not list " + o.Contains
	}
	switch n := o.Count(ids); {
	case o.Effect != "":
		return what + ": " + o.Effect
	case o.Fatal:
		return what + ": no case can run (" + o.Areas + ")"
	case n > 0:
		return fmt.Sprintf("%s: %d case%s will skip (%s)", what, n, plural(n), o.Areas)
	}
	return what + ": some cases will skip (" + o.Areas + ")"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Fragment is the config fragment of arch ("" for every architecture's
// options): each option after a comment naming who needs it, ready for
// scripts/kconfig/merge_config.sh.
func Fragment(ar arch.Arch) string {
	var b strings.Builder
	b.WriteString("# The kernel options llconform's suites need (llconform kconfig).\n")
	b.WriteString("# Merge onto a small config:\n")
	b.WriteString("#   make tinyconfig\n")
	b.WriteString("#   scripts/kconfig/merge_config.sh -m .config llconform.config\n")
	b.WriteString("#   make olddefconfig\n")
	b.WriteString("# An option marked =m-able may be built as a module: llconform loads it in the VM.\n")
	for _, o := range For(ar) {
		note := o.Areas
		if o.Arch != "" {
			note = string(o.Arch) + " only: " + note
		}
		if o.Module {
			note += " (=m-able)"
		}
		fmt.Fprintf(&b, "\n# %s\n", note)
		switch {
		case o.Contains != "":
			fmt.Fprintf(&b, "CONFIG_%s=%q\n", o.Name, o.Contains)
		default:
			fmt.Fprintf(&b, "CONFIG_%s=y\n", o.Name)
		}
	}
	return b.String()
}
