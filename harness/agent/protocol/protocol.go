// Package protocol is the guest protocol of llconform, in one place: the
// settings the host passes to the agent on the kernel command line
// (llconform.* keys, encoded and decoded by the same code), and the
// records the agent sends back on its result port (JSON lines: a header,
// one record per case, a done record with the count).
package protocol

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Settings select and shape the agent's run.
type Settings struct {
	Run      string   // llconform.run=<regexp on area/name>
	Areas    []string // llconform.area=a,b
	Ceiling  int      // llconform.ceiling=<n>: the library's ABI ceiling, 0 for none
	Shard    Shard    // llconform.shard=i/n
	Verbose  bool     // llconform.v=1: name each case on the console before it runs
	Noop     bool     // llconform.noop=1: header and done only (the bare-boot floor)
	NoUnpriv bool     // llconform.unpriv=0: no unprivileged pass
	// OnlyUnpriv (llconform.unpriv=only): the unprivileged pass alone,
	// for a kernel whose two passes boot in two VMs at once.
	OnlyUnpriv bool
	// Libraries the library cases run against (llconform.lib=a,b);
	// empty: llconform's own.
	Libraries []string
	// Overhead runs no-op cases instead of the suites
	// (llconform.overhead=1): what a case costs the harness.
	Overhead bool
	// Selftests runs the kernel's own Landlock selftests from
	// SelftestsDir instead of the suites (llconform.selftests=1): the
	// peer of `llconform bench`.
	Selftests bool
	// Port is the guest's result port (llconform.port=/dev/ttyS0): the
	// host picks it per architecture, since the serial ports differ. Empty:
	// DefaultPort.
	Port string
}

// ModuleDir is where the host puts a kernel's modules in the initramfs
// (relative to /), named by ModuleFile: the guest loads them in the order
// of the names before the suites run.
const ModuleDir = "lib/modules/llconform"

// ModuleFile names the i-th module to load (from 0) in ModuleDir.
func ModuleFile(i int, name string) string { return fmt.Sprintf("%02d-%s.ko", i, name) }

// ModuleName is the module name of a ModuleFile name; false for any other
// file.
func ModuleName(file string) (string, bool) {
	stem, ok := strings.CutSuffix(file, ".ko")
	if !ok {
		return "", false
	}
	_, name, ok := strings.Cut(stem, "-")
	return name, ok && name != ""
}

// SelftestsDir is where the host puts the kernel's selftests in the
// initramfs (relative to /): the programs and their helpers in landlock/,
// and a static busybox for the shell and the ip command they call.
const SelftestsDir = "selftests"

// DefaultPort is the result port of an agent told none: the x86 guest's
// second ISA serial port (the first is the console).
const DefaultPort = "/dev/ttyS1"

// Shard is case shard Index of Count (1-based); the zero value is "all".
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" with 1 ≤ i ≤ n.
func ParseShard(s string) (Shard, error) {
	var sh Shard
	i, n, ok := strings.Cut(s, "/")
	var err1, err2 error
	sh.Index, err1 = strconv.Atoi(i)
	sh.Count, err2 = strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || sh.Index < 1 || sh.Index > sh.Count {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 ≤ i ≤ n (e.g. 2/3)", s)
	}
	return sh, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Includes reports whether the i-th item (0-based) of a list is in the shard.
func (s Shard) Includes(i int) bool { return s.Count <= 1 || i%s.Count == s.Index-1 }

const keyPrefix = "llconform."

// Cmdline encodes the settings as kernel command-line words. The run
// pattern travels as one word, so it cannot hold blanks or quotes.
func (s Settings) Cmdline() (string, error) {
	var w []string
	if s.Run != "" {
		if strings.ContainsAny(s.Run, " \t\n\"") {
			return "", fmt.Errorf("--run %q: the pattern travels on the kernel command line and cannot hold blanks or quotes", s.Run)
		}
		if _, err := regexp.Compile(s.Run); err != nil {
			return "", fmt.Errorf("--run %q is not a valid regular expression: %v", s.Run, err)
		}
		w = append(w, keyPrefix+"run="+s.Run)
	}
	if len(s.Areas) > 0 {
		w = append(w, keyPrefix+"area="+strings.Join(s.Areas, ","))
	}
	if s.Ceiling != 0 {
		w = append(w, fmt.Sprintf("%sceiling=%d", keyPrefix, s.Ceiling))
	}
	if s.Shard.Count > 0 {
		w = append(w, keyPrefix+"shard="+s.Shard.String())
	}
	if s.Noop {
		w = append(w, keyPrefix+"noop=1")
	}
	if s.Verbose {
		w = append(w, keyPrefix+"v=1")
	}
	switch {
	case s.NoUnpriv && s.OnlyUnpriv:
		return "", fmt.Errorf("no pass left: both the unprivileged pass alone and no unprivileged pass were asked for")
	case s.NoUnpriv:
		w = append(w, keyPrefix+"unpriv=0")
	case s.OnlyUnpriv:
		w = append(w, keyPrefix+"unpriv=only")
	}
	if len(s.Libraries) > 0 {
		w = append(w, keyPrefix+"lib="+strings.Join(s.Libraries, ","))
	}
	if s.Overhead {
		w = append(w, keyPrefix+"overhead=1")
	}
	if s.Selftests {
		w = append(w, keyPrefix+"selftests=1")
	}
	if s.Port != "" {
		if !strings.HasPrefix(s.Port, "/dev/") || strings.ContainsAny(s.Port, " \t\n\"") {
			return "", fmt.Errorf("result port %q: want a device path such as /dev/ttyS0", s.Port)
		}
		w = append(w, keyPrefix+"port="+s.Port)
	}
	return strings.Join(w, " "), nil
}

// ParseCmdline reads the llconform.* words of a kernel command line and
// ignores every other word. On an error it still reads every other word,
// so that the agent knows its result port to report the error on.
func ParseCmdline(cmdline string) (Settings, error) {
	var s Settings
	var first error
	for _, word := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(word, "=")
		if !strings.HasPrefix(k, keyPrefix) {
			continue
		}
		var err error
		switch strings.TrimPrefix(k, keyPrefix) {
		case "run":
			s.Run = v
		case "area":
			s.Areas = strings.Split(v, ",")
		case "ceiling":
			s.Ceiling, err = strconv.Atoi(v)
		case "shard":
			s.Shard, err = ParseShard(v)
		case "noop":
			s.Noop = v == "1"
		case "v":
			s.Verbose = v == "1"
		case "unpriv":
			switch v {
			case "0":
				s.NoUnpriv = true
			case "only":
				s.OnlyUnpriv = true
			case "1":
			default:
				err = fmt.Errorf("want 0, 1 or only")
			}
		case "lib":
			s.Libraries = strings.Split(v, ",")
		case "overhead":
			s.Overhead = v == "1"
		case "selftests":
			s.Selftests = v == "1"
		case "port":
			if !strings.HasPrefix(v, "/dev/") {
				err = fmt.Errorf("want a device path such as /dev/ttyS0")
				break
			}
			s.Port = v
		default:
			err = fmt.Errorf("unknown key (a newer host than this agent?)")
		}
		if err != nil && first == nil {
			first = fmt.Errorf("kernel command line %s: %v", word, err)
		}
	}
	return s, first
}

// ResultPort is the port the agent writes its records to.
func (s Settings) ResultPort() string {
	if s.Port == "" {
		return DefaultPort
	}
	return s.Port
}
