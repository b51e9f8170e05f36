package suites

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Landlock trace events (Linux 7.3; Documentation/trace/
// events-landlock.rst, include/trace/events/landlock.h). They are not
// an ABI feature: a kernel has them or not whatever its ABI, so their
// absence is an environment skip found by looking for events/landlock
// in tracefs, never a version test.
//
// The reader works on the ftrace text interface: enable the events the
// case needs (events/landlock/<event>/enable), clear the buffer, act,
// read the "trace" file, disable. An event is written into the ring
// buffer synchronously by the thread that fires it, so once the action
// has returned its events are there; only landlock_free_domain comes
// later, from a kworker, and is waited for with a bounded poll. The
// lines are parsed by hand from the documented TP_printk formats: every
// field is "name=value", separated by single spaces, and the untrusted
// strings (paths, comm, abstract socket names) are escaped so that they
// hold neither a space nor "=" nor a control character. No Go library
// parses the ftrace text output (the few that read ftrace read the
// binary per-CPU buffers through the format files, or only syscall
// events), and this format is simple enough.

const tracefsRoot = "/sys/kernel/tracing"

// traceEvent is one line of the trace: the task that fired it (the
// thread id, as ftrace records it), the event name and its fields.
type traceEvent struct {
	comm   string
	pid    int
	name   string
	fields map[string]string
	keys   []string // field names in their order
	line   string
}

// traceLine matches "<comm>-<tid> [(<tgid>)] [<cpu>] <flags> <ts>: <event>: <fields>".
var traceLine = regexp.MustCompile(`^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+(?:\S+\s+)?\d+\.\d+:\s+(\w+):\s?(.*)$`)

// parseTraceLine parses one line of the trace file; comment lines and
// lines of other formats are not events.
func parseTraceLine(line string) (traceEvent, bool) {
	if strings.HasPrefix(line, "#") {
		return traceEvent{}, false
	}
	m := traceLine.FindStringSubmatch(line)
	if m == nil {
		return traceEvent{}, false
	}
	pid, _ := strconv.Atoi(m[2])
	ev := traceEvent{comm: m[1], pid: pid, name: m[3], fields: map[string]string{}, line: line}
	for _, kv := range strings.Fields(m[4]) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		ev.fields[k] = v
		ev.keys = append(ev.keys, k)
	}
	// "ruleset=<hex id>.<version>": both halves are checked on their own.
	if id, ver, ok := strings.Cut(ev.fields["ruleset"], "."); ok {
		ev.fields["ruleset_id"], ev.fields["ruleset_version"] = id, ver
	}
	return ev, true
}

// parseTrace parses the text of the trace file.
func parseTrace(text string) []traceEvent {
	var out []traceEvent
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ev, ok := parseTraceLine(sc.Text()); ok {
			out = append(out, ev)
		}
	}
	return out
}

// traceEventNames is every event of events/landlock in the 7.3 reference.
var traceEventNames = []string{
	"landlock_create_ruleset", "landlock_free_ruleset",
	"landlock_add_rule_path_beneath", "landlock_add_rule_net_port",
	"landlock_create_domain", "landlock_enforce_domain", "landlock_free_domain",
	"landlock_check_rule_inode", "landlock_check_rule_net_port",
	"landlock_deny_access_fs", "landlock_deny_access_net", "landlock_deny_ptrace",
	"landlock_deny_scope_signal", "landlock_deny_scope_abstract_unix_socket",
}

// traceEnv probes once whether the Landlock events can be used here: a
// mounted tracefs with events/landlock holding every documented event.
var traceEnv = sync.OnceValue(func() string {
	var st unix.Statfs_t
	if err := unix.Statfs(tracefsRoot, &st); err != nil {
		return "no tracefs at " + tracefsRoot + " (" + check.Outcome(err) + ")"
	}
	if st.Type != unix.TRACEFS_MAGIC {
		return "no tracefs mounted at " + tracefsRoot
	}
	dir := filepath.Join(tracefsRoot, "events", "landlock")
	if _, err := os.Stat(dir); err != nil {
		return "this kernel has no Landlock trace events (" + dir + ": " + check.Outcome(err) + ")"
	}
	var missing []string
	for _, e := range traceEventNames {
		if _, err := os.Stat(filepath.Join(dir, e, "enable")); err != nil {
			missing = append(missing, e)
		}
	}
	if len(missing) > 0 {
		return "events/landlock lacks " + strings.Join(missing, ", ")
	}
	return ""
})

// traceSkip: the events are read through tracefs, which only root may
// open (Documentation/admin-guide/LSM/landlock.rst, "Observability
// security considerations"); the unprivileged pass checks that it is
// closed (tracefs_closed_to_unprivileged).
func traceSkip(e check.Env) string {
	if !e.Root {
		return "needs root: trace events are for privileged users (tracefs_closed_to_unprivileged checks this pass)"
	}
	return traceEnv()
}

// traceSession is the events of one case.
type traceSession struct {
	enabled    []string
	restoreOff bool // tracing_on was 0
}

func traceFile(parts ...string) string {
	return filepath.Join(append([]string{tracefsRoot}, parts...)...)
}

// offDomain runs f on the tracefs thread, outside the case's domain:
// tracefs is read and written from there, so that a case's own policy
// never stands in the way (nor fires events of its own). One thread per
// process, kept: a thread made and ended per call would be exiting when
// a TSYNC case lists its threads, and an exiting thread gets no
// enforcement (events-landlock kernel-doc, process_wide).
func offDomain(f func()) {
	done := make(chan struct{})
	tracefsThread() <- func() {
		defer close(done)
		f()
	}
	<-done
}

// tracefsThread starts the thread once. Go starts it from its template
// thread (the caller is locked to its case thread) or takes an idle one:
// neither carries a case's domain.
var tracefsThread = sync.OnceValue(func() chan<- func() {
	c := make(chan func())
	go func() {
		fixture.LockThread() // never unlocked: this goroutine never ends
		for f := range c {
			f()
		}
	}()
	return c
})

func writeTrace(path, v string) (err error) {
	offDomain(func() { err = writeFile(path, v) })
	return err
}

func writeFile(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openTrace clears the buffer and enables the events (names without
// the landlock_ prefix are given it).
func openTrace(events ...string) (*traceSession, error) {
	s := &traceSession{}
	var on []byte
	var err error
	offDomain(func() { on, err = os.ReadFile(traceFile("tracing_on")) })
	if err != nil {
		return nil, fmt.Errorf("tracing_on: %w", err)
	}
	if strings.TrimSpace(string(on)) == "0" {
		if err := writeTrace(traceFile("tracing_on"), "1"); err != nil {
			return nil, fmt.Errorf("tracing_on=1: %w", err)
		}
		s.restoreOff = true
	}
	if err := s.clear(); err != nil {
		s.close()
		return nil, err
	}
	for _, e := range events {
		if !strings.HasPrefix(e, "landlock_") {
			e = "landlock_" + e
		}
		if err := writeTrace(traceFile("events", "landlock", e, "enable"), "1"); err != nil {
			s.close()
			return nil, fmt.Errorf("enabling %s: %w", e, err)
		}
		s.enabled = append(s.enabled, e)
	}
	return s, nil
}

// clear empties the ring buffer (opening "trace" with O_TRUNC).
func (s *traceSession) clear() error {
	if err := writeTrace(traceFile("trace"), ""); err != nil {
		return fmt.Errorf("clearing the trace buffer: %w", err)
	}
	return nil
}

// disable turns the session's events off (the buffer is kept).
func (s *traceSession) disable() error {
	var errs []error
	for _, e := range s.enabled {
		if err := writeTrace(traceFile("events", "landlock", e, "enable"), "0"); err != nil {
			errs = append(errs, fmt.Errorf("disabling %s: %w", e, err))
		}
	}
	s.enabled = nil
	return errors.Join(errs...)
}

func (s *traceSession) close() {
	s.disable()
	s.clear()
	if s.restoreOff {
		writeTrace(traceFile("tracing_on"), "0")
	}
}

// events reads the buffer: every Landlock event fired since the session
// was opened (reading "trace" does not consume it).
func (s *traceSession) events() ([]traceEvent, error) {
	var b []byte
	var err error
	offDomain(func() { b, err = os.ReadFile(traceFile("trace")) })
	if err != nil {
		return nil, fmt.Errorf("reading the trace: %w", err)
	}
	var out []traceEvent
	for _, ev := range parseTrace(string(b)) {
		if strings.HasPrefix(ev.name, "landlock_") {
			out = append(out, ev)
		}
	}
	return out, nil
}

// waitFor polls the buffer until an event matches, for at most limit:
// for the events fired asynchronously (landlock_free_domain, from a
// kworker once the last credential holding the domain is freed after an
// RCU grace period). A bounded poll, not a sleep standing in for
// synchronisation: it returns as soon as the event is there.
func (s *traceSession) waitFor(limit time.Duration, match func(traceEvent) bool) ([]traceEvent, error) {
	deadline := time.Now().Add(limit)
	for {
		evs, err := s.events()
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(evs, match) || time.Now().After(deadline) {
			return evs, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeWait bounds the wait for a deallocation (event or audit record).
const freeWait = 5 * time.Second

// select_ keeps the events named name that match.
func selectEvents(evs []traceEvent, name string, match func(traceEvent) bool) []traceEvent {
	var out []traceEvent
	for _, ev := range evs {
		if ev.name == name && (match == nil || match(ev)) {
			out = append(out, ev)
		}
	}
	return out
}

func byPid(pid int) func(traceEvent) bool { return func(ev traceEvent) bool { return ev.pid == pid } }

func fieldIs(k, v string) func(traceEvent) bool {
	return func(ev traceEvent) bool { return ev.fields[k] == v }
}

// traceVars names the values a case knows only at run time (its
// domain ID, its directory's inode, ...), so that an observation can be
// compared with an expectation written beforehand: a field whose value
// is a known one is shown as "field=$name", any other value as itself.
type traceVars map[string]string

func (v traceVars) set(field, value, name string) { v[field+"="+value] = field + "=$" + name }

// describe shows an event's name and the fields asked for, in that
// order: the canonical observation of an event check. A missing field
// shows as "field?". The "|" between flag names is shown as "+" ("|"
// separates alternatives in an expectation).
func (ev traceEvent) describe(vars traceVars, keys ...string) string {
	parts := []string{ev.name}
	for _, k := range keys {
		v, ok := ev.fields[k]
		if !ok {
			parts = append(parts, k+"?")
			continue
		}
		kv := k + "=" + strings.ReplaceAll(v, "|", "+")
		if s, ok := vars[k+"="+v]; ok {
			kv = s
		}
		parts = append(parts, kv)
	}
	return strings.Join(parts, " ")
}

// describeEvents shows every event of evs (already selected), or says
// there is none.
func describeEvents(evs []traceEvent, name string, vars traceVars, keys ...string) string {
	if len(evs) == 0 {
		return "no " + name
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.describe(vars, keys...))
	}
	return strings.Join(out, "; ")
}

// devOf is the "major:minor" of the filesystem holding path, and its
// inode number, as the events print them.
func devOf(path string) (dev, ino string, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), strconv.FormatUint(st.Ino, 10), nil
}

// traceEscape is the escaping the events document for untrusted
// strings (include/trace/events/landlock.h, __trace_print_untrusted_str:
// string_escape_mem with ESCAPE_SPACE|ESCAPE_SPECIAL|ESCAPE_NAP|
// ESCAPE_APPEND|ESCAPE_OCTAL and the extra characters " ='\"\\"): printable
// ASCII passes except those five, which are escaped like the rest: the
// whitespace controls as \n \r \t \v \f, backslash, BEL, ESC and the
// double quote as \\ \a \e \", anything else as three octal digits.
func traceEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		extra := strings.IndexByte(" ='\"\\", c) >= 0
		if !extra && c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			continue
		}
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\\':
			b.WriteString(`\\`)
		case '\a':
			b.WriteString(`\a`)
		case 0x1b:
			b.WriteString(`\e`)
		case '"':
			b.WriteString(`\"`)
		default:
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	return b.String()
}

// traceUnescape recovers the bytes of an escaped string, and says
// whether the text was a well-formed escaping at all (no raw space,
// "=", quote, backslash or control character left, every escape known).
func traceUnescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c == '=' || c == '\'' || c == '"' || c >= 0x7f {
			return b.String(), false
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return b.String(), false
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'a':
			b.WriteByte('\a')
		case 'e':
			b.WriteByte(0x1b)
		case '\\', '"':
			b.WriteByte(s[i])
		default:
			if i+2 >= len(s) {
				return b.String(), false
			}
			v, err := strconv.ParseUint(s[i:i+3], 8, 8)
			if err != nil {
				return b.String(), false
			}
			b.WriteByte(byte(v))
			i += 2
		}
	}
	return b.String(), true
}

// truncationMarker ends an untrusted string cut at the output limit.
const truncationMarker = "\u2026"
