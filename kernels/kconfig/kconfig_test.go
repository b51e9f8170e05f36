package kconfig

import (
	"strings"
	"testing"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func names(opts []Option) []string {
	var out []string
	for _, o := range opts {
		out = append(out, o.Name)
	}
	return out
}

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader("#\n# Linux/x86 7.3.4 Kernel Configuration\n#\nCONFIG_X86_64=y\n" +
		"# CONFIG_AUDIT is not set\nCONFIG_OVERLAY_FS=m\nCONFIG_LSM=\"lockdown,yama,landlock\"\nCONFIG_NR_CPUS=8\n"))
	assert.NilError(t, err)
	assert.DeepEqual(t, c, Config{"X86_64": "y", "OVERLAY_FS": "m", "LSM": "lockdown,yama,landlock", "NR_CPUS": "8"})
	assert.Equal(t, c.Arch(), arch.AMD64)
	assert.Equal(t, Config{"ARM64": "y"}.Arch(), arch.ARM64)
	assert.Equal(t, Config{}.Arch(), arch.Arch(""))
}

// The fragment, read as a config, lacks nothing: every option it needs
// is in it, for each architecture.
func TestFragmentIsComplete(t *testing.T) {
	for a, marker := range map[arch.Arch]string{arch.AMD64: "CONFIG_X86_64=y\n", arch.ARM64: "CONFIG_ARM64=y\n"} {
		frag := Fragment(a)
		c, err := Parse(strings.NewReader(marker + frag))
		assert.NilError(t, err)
		assert.DeepEqual(t, names(c.Missing()), []string(nil))
		assert.Check(t, is.Contains(frag, "# audit: Landlock's audit records\nCONFIG_AUDIT=y\n"))
	}
	assert.Check(t, is.Contains(Fragment("amd64"), "CONFIG_ACPI=y"))
	assert.Check(t, !strings.Contains(Fragment("arm64"), "CONFIG_ACPI=y"), "ACPI is how amd64 powers off")
	assert.Check(t, is.Contains(Fragment(""), "# arm64 only: the console (ttyAMA0)\nCONFIG_SERIAL_AMBA_PL011=y\n"))
}

func TestMissing(t *testing.T) {
	full, err := Parse(strings.NewReader("CONFIG_X86_64=y\n" + Fragment("amd64")))
	assert.NilError(t, err)
	without := func(edit func(Config)) []string {
		c := Config{}
		for k, v := range full {
			c[k] = v
		}
		edit(c)
		return names(c.Missing())
	}
	assert.DeepEqual(t, without(func(c Config) { delete(c, "AUDIT") }), []string{"AUDIT"})
	// overlayfs and SCTP may be modules, which need module support;
	// audit may not.
	assert.DeepEqual(t, without(func(c Config) { c["OVERLAY_FS"], c["IP_SCTP"] = "m", "m" }), []string(nil))
	assert.DeepEqual(t, without(func(c Config) { c["OVERLAY_FS"] = "m"; delete(c, "MODULES") }), []string{"MODULES"})
	// No module to load: no need of module support.
	assert.DeepEqual(t, without(func(c Config) { delete(c, "MODULES") }), []string(nil))
	assert.DeepEqual(t, without(func(c Config) { c["AUDIT"] = "m" }), []string{"AUDIT"})
	// The LSM list must name Landlock where the config has one.
	assert.DeepEqual(t, without(func(c Config) { c["LSM"] = "lockdown,yama" }), []string{"LSM"})
	assert.DeepEqual(t, without(func(c Config) { c["LSM"] = "yama,landlock" }), []string(nil))
	assert.DeepEqual(t, without(func(c Config) { delete(c, "LSM") }), []string(nil))
}

func TestWarning(t *testing.T) {
	ids := []string{"audit/a", "audit/b", "fs/mount/overlay_x", "tcp/ipv4/sctp/bind", "tcp/ipv6/sctp/bind"}
	byName := map[string]Option{}
	for _, o := range Options {
		byName[o.Name] = o
	}
	assert.Equal(t, byName["AUDIT"].Warning(ids), "CONFIG_AUDIT is off: 2 cases will skip (audit: Landlock's audit records)")
	assert.Equal(t, byName["IP_SCTP"].Warning(ids), "CONFIG_IP_SCTP is off: 2 cases will skip (tcp: SCTP is not a TCP right's business)")
	assert.Equal(t, byName["SECURITY_LANDLOCK"].Warning(ids), "CONFIG_SECURITY_LANDLOCK is off: no case can run (every Landlock case)")
	assert.Equal(t, byName["PID_NS"].Warning(ids), "CONFIG_PID_NS is off: some cases will skip (scope cases across PID namespaces)")
	assert.Equal(t, byName["LSM"].Warning(nil), "CONFIG_LSM does not list landlock: no case can run (Landlock enabled at boot; or boot with lsm=landlock)")
	assert.Equal(t, byName["ACPI"].Warning(ids), "CONFIG_ACPI is off: the guest halts instead of powering off and is stopped 5 s after its done record")
	assert.Equal(t, byName["KEYS"].Warning([]string{"fs/a"}), "CONFIG_KEYS is off: some cases will skip (creds: keyctl session to parent)")
}
