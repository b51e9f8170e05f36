package suites

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llconform/llconform/suites/fixture"
	"gotest.tools/v3/assert"
)

// TestEveryObservationCheckCanFail feeds every trace event check and
// every audit record check a captured stream in the documented format:
// as captured, with its event or record missing, and with each checked
// field changed, and sees the observation change each time, so no check
// is a constant and no checked field is ignored.
func TestEveryObservationCheckCanFail(t *testing.T) {
	mutations := func(line, field string) []string {
		// The field's raw text: "field=value" up to the next space.
		raw := field
		if field == "ruleset_id" || field == "ruleset_version" {
			raw = "ruleset"
		}
		re := regexp.MustCompile(`(^|[ :])` + regexp.QuoteMeta(raw) + `=("[^"]*"|\S*)`)
		loc := re.FindStringSubmatchIndex(line)
		if loc == nil {
			return nil
		}
		valStart, valEnd := loc[4], loc[5]
		val := line[valStart:valEnd]
		changed := val + "9"
		switch {
		case field == "ruleset_id":
			changed = "9" + val
		case strings.HasPrefix(val, `"`):
			changed = `"` + strings.Trim(val, `"`) + `9"`
		}
		return []string{
			line[:valStart] + changed + line[valEnd:], // another value
			line[:loc[3]] + line[valEnd:],             // the field gone
		}
	}

	for _, c := range traceChecks {
		t.Run("trace/"+c.name+"/"+strings.Join(c.keys, ","), func(t *testing.T) {
			ev, ok := parseTraceLine(c.sample)
			assert.Assert(t, ok, "sample does not parse: %s", c.sample)
			for _, k := range c.keys {
				_, ok := ev.fields[k]
				assert.Assert(t, ok, "sample lacks %s", k)
			}
			good := c.observe([]traceEvent{ev}, nil, nil)
			assert.Assert(t, !strings.HasPrefix(good, "no "), good)
			assert.Assert(t, c.observe(nil, nil, nil) != good, "missing event not seen")
			other, _ := parseTraceLine(strings.Replace(c.sample, c.name+":", c.name+"_other:", 1))
			assert.Assert(t, c.observe([]traceEvent{other}, nil, nil) != good, "another event taken for %s", c.name)
			for _, k := range c.keys {
				ms := mutations(c.sample, k)
				assert.Assert(t, len(ms) == 2, "no field %s in %s", k, c.sample)
				for _, m := range ms {
					mev, ok := parseTraceLine(m)
					assert.Assert(t, ok)
					assert.Assert(t, c.observe([]traceEvent{mev}, nil, nil) != good, "changing %s not seen: %s", k, m)
				}
			}
			// A field named by a variable: the named value shows as the
			// name, any other as itself.
			vars := traceVars{}
			k := c.keys[0]
			vars.set(k, ev.fields[k], "x")
			named := c.observe([]traceEvent{ev}, nil, vars)
			assert.Assert(t, strings.Contains(named, k+"=$x"), named)
			mev, _ := parseTraceLine(mutations(c.sample, k)[0])
			assert.Assert(t, c.observe([]traceEvent{mev}, nil, vars) != named)
		})
	}

	for _, c := range auditChecks {
		t.Run("audit/"+strings.Join(c.keys, ","), func(t *testing.T) {
			rec := fixture.ParseRecord(c.typ, []byte(c.sample))
			good := c.observe([]fixture.AuditRecord{rec}, nil, nil)
			assert.Assert(t, good != "records=0", good)
			assert.Assert(t, c.observe(nil, nil, nil) != good, "missing record not seen")
			otherType := fixture.AuditLandlockAccess + fixture.AuditLandlockDomain - c.typ
			assert.Assert(t, c.observe([]fixture.AuditRecord{fixture.ParseRecord(otherType, []byte(c.sample))}, nil, nil) != good, "record of the other type taken")
			for _, k := range c.keys {
				ms := mutations(c.sample, k)
				assert.Assert(t, len(ms) == 2, "no field %s in %s", k, c.sample)
				for _, m := range ms {
					assert.Assert(t, c.observe([]fixture.AuditRecord{fixture.ParseRecord(c.typ, []byte(m))}, nil, nil) != good, "changing %s not seen: %s", k, m)
				}
			}
		})
	}
}

// TestSummaryChecksCanFail does the same for the checks that judge a
// whole stream: TSYNC enforcement, escaping, truncation.
func TestSummaryChecksCanFail(t *testing.T) {
	line := func(tid, fields string) string {
		return "           llc-" + tid + "     [000] ..... 1.0: landlock_enforce_domain: " + fields
	}
	stream := func(lines ...string) []traceEvent { return parseTrace(strings.Join(lines, "\n")) }
	good := stream(
		line("10", "domain=abc complete=0 process_wide=1 no_new_privs=1"),
		line("11", "domain=abc complete=1 process_wide=1 no_new_privs=1"),
	)
	want := "enforce_domain on every thread=yes complete=1 events=1 process_wide=1"
	assert.Equal(t, tsyncSummary(good, "abc", []int{10, 11}), want)
	for name, evs := range map[string][]traceEvent{
		"a thread without event": stream(line("11", "domain=abc complete=1 process_wide=1 no_new_privs=1")),
		"no completing event":    stream(line("10", "domain=abc complete=0 process_wide=1 no_new_privs=1"), line("11", "domain=abc complete=0 process_wide=1 no_new_privs=1")),
		"two completing events":  stream(line("10", "domain=abc complete=1 process_wide=1 no_new_privs=1"), line("11", "domain=abc complete=1 process_wide=1 no_new_privs=1")),
		"not process-wide":       stream(line("10", "domain=abc complete=0 process_wide=0 no_new_privs=1"), line("11", "domain=abc complete=1 process_wide=1 no_new_privs=1")),
		"another domain":         stream(line("10", "domain=abd complete=0 process_wide=1 no_new_privs=1"), line("11", "domain=abc complete=1 process_wide=1 no_new_privs=1")),
		"no event":               nil,
	} {
		assert.Assert(t, tsyncSummary(evs, "abc", []int{10, 11}) != want, name)
	}

	// Escaping: the documented rendering, unescaped back exactly; a raw
	// separator or an unknown escape is not well-formed.
	raw := specialComm + "\x00é"
	esc := traceEscape(raw)
	assert.Assert(t, !strings.ContainsAny(esc, " =\t\x00\x01'"), esc)
	back, ok := traceUnescape(esc)
	assert.Assert(t, ok)
	assert.Equal(t, back, raw)
	deny := func(path string) []traceEvent {
		return stream("           llc-10     [000] ..... 1.0: landlock_deny_access_fs: domain=abc same_exec=1 logged=1 blockers=read_dir dev=0:1 ino=2 path=" + path)
	}
	assert.Equal(t, recovered(deny(esc), "path", raw), "path recovered=yes")
	for _, bad := range []string{strings.Replace(esc, `\040`, " ", 1), strings.Replace(esc, `\075`, "=", 1), esc + `\q`, strings.Replace(esc, `\t`, `\x`, 1), esc[:len(esc)-4]} {
		assert.Equal(t, recovered(deny(bad), "path", raw), "path recovered=no", bad)
	}
	assert.Equal(t, recovered(nil, "path", raw), "path recovered=no")

	// Truncation: an escaped prefix followed by the marker.
	long := "/tmp/" + strings.Repeat("=", 2000)
	full := traceEscape(long)
	cut := full[:len("/tmp/")+4*1400] + truncationMarker
	okWant := "path: escaped prefix of the path, truncated with …"
	assert.Equal(t, overflowField(deny(cut), long), okWant)
	for name, v := range map[string]string{
		"not truncated":         full,
		"no marker":             full[:6000],
		"prefix of another":     traceEscape("/tmp/x" + strings.Repeat("=", 2000))[:6000] + truncationMarker,
		"broken escape":         full[:5999] + truncationMarker,
		"too short":             full[:40] + truncationMarker,
		"raw separator in path": strings.Replace(full[:6000], `\075`, "=", 1) + truncationMarker,
	} {
		assert.Assert(t, overflowField(deny(v), long) != okWant, name)
	}
	assert.Assert(t, overflowField(nil, long) != okWant)

	// Domain lifecycle over layers: deallocation records innermost
	// first, one denial each.
	ids := []string{"1a0", "1a1", "1a2"}
	dealloc := func(id, n string) fixture.AuditRecord {
		return fixture.ParseRecord(fixture.AuditLandlockDomain, []byte("audit(1.0:9): domain="+id+" status=deallocated denials="+n))
	}
	batches := func(recs ...fixture.AuditRecord) func() ([]fixture.AuditRecord, error) {
		done := false
		return func() ([]fixture.AuditRecord, error) {
			if done {
				return nil, nil
			}
			done = true
			return recs, nil
		}
	}
	lifeWant := "ids increasing=yes deallocated=3 order=lifo denials=1 each"
	assert.Equal(t, layersLifecycle(ids, 50*time.Millisecond, batches(dealloc("1a2", "1"), dealloc("1a1", "1"), dealloc("1a0", "1"))), lifeWant)
	for name, c := range map[string]struct {
		ids  []string
		recs []fixture.AuditRecord
	}{
		"a record missing":    {ids, []fixture.AuditRecord{dealloc("1a2", "1"), dealloc("1a1", "1")}},
		"fifo order":          {ids, []fixture.AuditRecord{dealloc("1a0", "1"), dealloc("1a1", "1"), dealloc("1a2", "1")}},
		"a wrong count":       {ids, []fixture.AuditRecord{dealloc("1a2", "1"), dealloc("1a1", "2"), dealloc("1a0", "1")}},
		"ids not increasing":  {[]string{"1a0", "1a2", "1a1"}, []fixture.AuditRecord{dealloc("1a1", "1"), dealloc("1a2", "1"), dealloc("1a0", "1")}},
		"another domain's":    {ids, []fixture.AuditRecord{dealloc("1a2", "1"), dealloc("1a1", "1"), dealloc("2a0", "1")}},
		"allocated, not free": {ids, []fixture.AuditRecord{dealloc("1a2", "1"), dealloc("1a1", "1"), fixture.ParseRecord(fixture.AuditLandlockDomain, []byte("audit(1.0:9): domain=1a0 status=allocated mode=enforcing pid=1"))}},
	} {
		assert.Assert(t, layersLifecycle(c.ids, 50*time.Millisecond, batches(c.recs...)) != lifeWant, name)
	}

	// Network records: the blocker, the port and the address.
	netRec := func(text string) fixture.AuditRecord {
		return fixture.ParseRecord(fixture.AuditLandlockAccess, []byte(text))
	}
	netWant := "records=1: domain=1a6 blockers=net.bind_tcp names port=yes address=yes"
	assert.Equal(t, netRecords([]fixture.AuditRecord{netRec("audit(1.0:2): domain=1a6 blockers=net.bind_tcp saddr=127.0.0.1 src=4242")}, 4242, "127.0.0.1", nil), netWant)
	for name, text := range map[string]string{
		"another port":     "audit(1.0:2): domain=1a6 blockers=net.bind_tcp saddr=127.0.0.1 src=4243",
		"another address":  "audit(1.0:2): domain=1a6 blockers=net.bind_tcp saddr=127.0.0.2 src=4242",
		"another blocker":  "audit(1.0:2): domain=1a6 blockers=net.connect_tcp saddr=127.0.0.1 src=4242",
		"not a net record": "audit(1.0:2): domain=1a6 blockers=fs.read_dir path=\"/4242\" ino=4242 dev=127.0.0.1",
		"another domain":   "audit(1.0:2): domain=1a7 blockers=net.bind_tcp saddr=127.0.0.1 src=4242",
	} {
		assert.Assert(t, netRecords([]fixture.AuditRecord{netRec(text)}, 4242, "127.0.0.1", nil) != netWant, name)
	}
	assert.Assert(t, netRecords(nil, 4242, "127.0.0.1", nil) != netWant)

	// The existing record view (audit.go) the newer rows use too.
	alloc := fixture.ParseRecord(fixture.AuditLandlockDomain, []byte("audit(1.0:3): domain=1a6 status=allocated mode=enforcing pid=77 uid=0"))
	acc := netRec(`audit(1.0:3): domain=1a6 blockers=fs.read_dir path="/d" dev="tmpfs" ino=5`)
	viewWant := "records=1 blockers=fs.read_dir domain=allocated by the enforcer"
	assert.Equal(t, fixture.ViewOf([]fixture.AuditRecord{acc, alloc}, fixture.PathIs("/d")).Describe(77), viewWant)
	for name, recs := range map[string][]fixture.AuditRecord{
		"no record":         {alloc},
		"another path":      {netRec(`audit(1.0:3): domain=1a6 blockers=fs.read_dir path="/e" dev="tmpfs" ino=5`), alloc},
		"another blocker":   {netRec(`audit(1.0:3): domain=1a6 blockers=fs.read_file path="/d" dev="tmpfs" ino=5`), alloc},
		"no allocation":     {acc},
		"another allocator": {acc, fixture.ParseRecord(fixture.AuditLandlockDomain, []byte("audit(1.0:3): domain=1a6 status=allocated mode=enforcing pid=78 uid=0"))},
		"two records":       {acc, acc, alloc},
	} {
		assert.Assert(t, fixture.ViewOf(recs, fixture.PathIs("/d")).Describe(77) != viewWant, name)
	}

	// The escaped path field of a denial.
	escWant := "landlock_deny_access_fs path=$d recovered=yes"
	vars := traceVars{}
	vars.set("path", esc, "d")
	assert.Equal(t, escapedField(deny(esc), "landlock_deny_access_fs", "path", raw, vars), escWant)
	assert.Assert(t, escapedField(nil, "landlock_deny_access_fs", "path", raw, vars) != escWant)
	assert.Assert(t, escapedField(deny(esc+"x"), "landlock_deny_access_fs", "path", raw, vars) != escWant)
	assert.Assert(t, escapedField(deny(strings.Replace(esc, `\040`, " ", 1)), "landlock_deny_access_fs", "path", raw, vars) != escWant)
}
