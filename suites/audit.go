package suites

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Audit records (ABI 7; Documentation/admin-guide/LSM/landlock.rst
// "Audit"): a denied access produces an AUDIT_LANDLOCK_ACCESS record
// naming the domain and the blockers, followed in the same event by the
// domain's AUDIT_LANDLOCK_DOMAIN "allocated" record at its first logged
// denial. Which denials are logged is chosen by the restrict_self flags
// (landlock.h "restrict_self_flags"), by quiet rules and masks (ABI 10;
// "add_rule_flags"), and never changes a decision.
//
// The records are read from the kernel's audit multicast group
// (AUDIT_NLGRP_READLOG, CAP_AUDIT_READ), which carries every record the
// audit daemon would get, correctly framed, and leaves a running audit
// daemon alone; auditing is enabled with AUDIT_SET (CAP_AUDIT_CONTROL)
// for the case and restored after it. Records reach readers
// asynchronously (kauditd), so after the action the case logs a marker
// of its own (AUDIT_USER) and reads until it: the audit queue is in
// order, so every record of the action came before. Objects are unique
// to the case (a directory of its own, its own target process), so
// records of other processes are never counted.

var auditCovers = []string{"§3.13", "sec.6"}

const (
	auditGet            = 1000
	auditSet            = 1001
	auditUser           = 1005
	auditLandlockAccess = 1423
	auditLandlockDomain = 1424
	auditNlgrpReadlog   = 1
	auditStatusEnabled  = 1
)

// auditSession reads the records of one case.
type auditSession struct {
	ctrl, log  *netlink.Conn
	restoreOff bool
	n          int
}

func openAudit() (*auditSession, error) {
	ctrl, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
	if err != nil {
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	log, err := netlink.Dial(unix.NETLINK_AUDIT, &netlink.Config{Groups: 1 << (auditNlgrpReadlog - 1)})
	if err != nil {
		ctrl.Close()
		return nil, fmt.Errorf("audit multicast group: %w", err)
	}
	// Room for bursts (every record of the system reaches this group,
	// not only the case's): a full buffer drops multicast records.
	log.SetReadBuffer(4 << 20)
	a := &auditSession{ctrl: ctrl, log: log}
	enabled, err := a.enabled()
	if err != nil {
		a.close()
		return nil, fmt.Errorf("AUDIT_GET: %w", err)
	}
	if enabled == 0 {
		if err := a.setEnabled(1); err != nil {
			a.close()
			return nil, fmt.Errorf("AUDIT_SET enabled=1: %w", err)
		}
		a.restoreOff = true
	}
	return a, nil
}

func (a *auditSession) close() {
	if a.restoreOff {
		a.setEnabled(0)
	}
	a.ctrl.Close()
	a.log.Close()
}

// enabled reads audit_status.enabled (0 off, 1 on, 2 locked on).
func (a *auditSession) enabled() (uint32, error) {
	msgs, err := a.ctrl.Execute(netlink.Message{Header: netlink.Header{Type: auditGet, Flags: netlink.Request}})
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if m.Header.Type == auditGet && len(m.Data) >= 8 {
			return binary.NativeEndian.Uint32(m.Data[4:]), nil
		}
	}
	return 0, errors.New("no status in the reply")
}

func (a *auditSession) setEnabled(v uint32) error {
	s := make([]byte, 40) // struct audit_status, head: mask, enabled
	binary.NativeEndian.PutUint32(s[0:], auditStatusEnabled)
	binary.NativeEndian.PutUint32(s[4:], v)
	_, err := a.ctrl.Execute(netlink.Message{Header: netlink.Header{Type: auditSet, Flags: netlink.Request | netlink.Acknowledge}, Data: s})
	return err
}

// auditRecord is one record: its type and its fields.
type auditRecord struct {
	typ    int
	fields map[string]string
	text   string
}

// parseRecord splits "audit(t:n): k=v k="v" ..." into fields.
func parseRecord(typ int, b []byte) auditRecord {
	s := strings.TrimRight(string(b), "\x00\n")
	r := auditRecord{typ: typ, fields: map[string]string{}, text: s}
	if i := strings.Index(s, "): "); i >= 0 {
		s = s[i+3:]
	}
	for s != "" {
		s = strings.TrimLeft(s, " ")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, "\"") {
			end := strings.Index(rest[1:], "\"")
			if end < 0 {
				v, rest = rest[1:], ""
			} else {
				v, rest = rest[1:end+1], rest[end+2:]
			}
		} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			v, rest = rest[:sp], rest[sp:]
		} else {
			v, rest = rest, ""
		}
		r.fields[k] = v
		s = rest
	}
	return r
}

// mark logs a marker record and returns the records read before it.
func (a *auditSession) mark() ([]auditRecord, error) {
	a.n++
	marker := fmt.Sprintf("llconform-marker-%d-%d-%x", os.Getpid(), a.n, rand.Uint32())
	if _, err := a.ctrl.Execute(netlink.Message{
		Header: netlink.Header{Type: auditUser, Flags: netlink.Request | netlink.Acknowledge},
		Data:   append([]byte(marker), 0),
	}); err != nil {
		return nil, fmt.Errorf("AUDIT_USER marker: %w", err)
	}
	// A safety net, not a synchronisation: the marker is normally read
	// within milliseconds.
	a.log.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []auditRecord
	for {
		msgs, err := a.log.Receive()
		if err != nil {
			return out, fmt.Errorf("reading records before marker %d: %w", a.n, err)
		}
		for _, m := range msgs {
			if int(m.Header.Type) == auditUser && strings.Contains(string(m.Data), marker) {
				return out, nil
			}
			if t := int(m.Header.Type); t == auditLandlockAccess || t == auditLandlockDomain {
				out = append(out, parseRecord(t, m.Data))
			}
		}
	}
}

// auditEnv probes once whether records reach this process.
var auditEnv = sync.OnceValue(func() string {
	a, err := openAudit()
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return "no audit in this kernel (CONFIG_AUDIT): " + err.Error()
		}
		return "audit unavailable here: " + err.Error()
	}
	defer a.close()
	if _, err := a.mark(); err != nil {
		return "audit records are not delivered here (" + err.Error() + ")"
	}
	return ""
})

func auditSkip(e check.Env) string {
	if !e.Root {
		return "needs root (CAP_AUDIT_CONTROL)"
	}
	return auditEnv()
}

// landlockRecords keeps the access records about object (a path or a
// process id, as the record names it) and says whether each one's
// domain was described as allocated by creatorPID in the same batch.
type auditView struct {
	access  []auditRecord
	domains map[string]auditRecord
}

func viewOf(recs []auditRecord, match func(r auditRecord) bool) auditView {
	v := auditView{domains: map[string]auditRecord{}}
	for _, r := range recs {
		switch r.typ {
		case auditLandlockAccess:
			if match(r) {
				v.access = append(v.access, r)
			}
		case auditLandlockDomain:
			if r.fields["status"] == "allocated" {
				v.domains[r.fields["domain"]] = r
			}
		}
	}
	return v
}

// describe names the records: their count, and for the first one its
// blockers and whether its domain was described as allocated by
// creatorPID.
func (v auditView) describe(creatorPID int) string {
	if len(v.access) == 0 {
		return "records=0"
	}
	r := v.access[0]
	dom := "unknown"
	if d, ok := v.domains[r.fields["domain"]]; ok {
		dom = "allocated by pid " + d.fields["pid"]
		if d.fields["pid"] == fmt.Sprint(creatorPID) {
			dom = "allocated by the enforcer"
		}
	}
	return fmt.Sprintf("records=%d blockers=%s domain=%s", len(v.access), r.fields["blockers"], dom)
}

func pathIs(p string) func(auditRecord) bool {
	return func(r auditRecord) bool { return r.fields["path"] == p }
}

func opidIs(pid int) func(auditRecord) bool {
	return func(r auditRecord) bool { return r.fields["opid"] == fmt.Sprint(pid) }
}
