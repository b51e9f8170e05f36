package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Audit records across layers and threads: which layer's quiet setting
// decides (the innermost layer that denies: a sandboxed program cannot
// hide the denial of a layer it did not make quiet), the order of quiet
// and plain rules on one object, TSYNC carrying the caller's log
// configuration to its siblings, the log flags on signal denials, and the
// abstract UNIX socket scope record.

// quietLayer is a layer handling READ_DIR: deny (no rule for the
// directory) or allow (a rule granting it), quiet (a quiet rule on the
// directory with READ_DIR in the quiet mask) or not.
type quietLayer struct{ allow, quiet bool }

func (q quietLayer) enforce(t *check.T, d string) string {
	b := fixture.Attr(8, fsReadDir)
	if q.quiet {
		b = fixture.Attr(48, fsReadDir, 0, 0, fsReadDir)
	}
	return enforceAttr(t, b, 0, func(fd int) error {
		p, err := unix.Open(d, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(p)
		if q.quiet {
			if err := fixture.AddPath(fd, 0, p, unix.LANDLOCK_ADD_RULE_QUIET); err != nil {
				return err
			}
		}
		if q.allow {
			return fixture.AddPath(fd, fsReadDir, p, 0)
		}
		return nil
	})
}

func init() {
	check.Build(func() {
		rows := []struct {
			name, mirror string
			layers       []quietLayer // outermost first
			logged       bool
		}{
			{"quiet_inner_denying_layer_silences", "fs_test.c:audit_quiet_layout1.deny_all_quiet_layer", []quietLayer{{}, {quiet: true}}, false},
			{"quiet_outer_layer_cannot_hide_inner_denial", "fs_test.c:audit_quiet_layout1.deny_all_layer", []quietLayer{{quiet: true}, {}}, true},
			{"allow_all_inner_layer_changes_nothing", "fs_test.c:audit_quiet_layout1.allow_all_layer", []quietLayer{{}, {allow: true, quiet: true}}, true},
			{"allow_all_inner_layer_keeps_outer_quiet", "fs_test.c:audit_quiet_layout1.allow_all_layer", []quietLayer{{quiet: true}, {allow: true}}, false},
			{"quiet_outer_layers_cannot_hide_innermost_denial", "fs_test.c:audit_quiet_layout1.many_outer_layers", []quietLayer{{quiet: true}, {quiet: true}, {quiet: true}, {quiet: true}, {}}, true},
		}
		for _, r := range rows {
			r := r
			c := auditCase(r.name, nil, recordsWant(check.ABIQuiet, "E2BIG", "open=EACCES", r.logged, "fs.read_dir"),
				func(t *check.T, a *fixture.AuditSession) string {
					d := auditDirs(t, "d")[0]
					for _, l := range r.layers {
						if e := l.enforce(t, d); e != "" {
							return e
						}
					}
					return openDirRecords(a, d)
				}).Mirroring(r.mirror).Covering("obs.2")
			check.Register(c)
		}

		// A quiet mark stays when a later rule on the same object comes
		// without the flag.
		check.Register(auditCase("quiet_mark_kept_by_later_plain_rule", nil,
			recordsWant(check.ABIQuiet, "E2BIG", "open=EACCES", false, ""),
			func(t *check.T, a *fixture.AuditSession) string {
				d := auditDirs(t, "d")[0]
				e := enforceAttr(t, fixture.Attr(48, fsReadDir|fsReadFile, 0, 0, fsReadDir), 0, func(fd int) error {
					p, err := unix.Open(d, unix.O_PATH|unix.O_CLOEXEC, 0)
					if err != nil {
						return err
					}
					defer unix.Close(p)
					if err := fixture.AddPath(fd, 0, p, unix.LANDLOCK_ADD_RULE_QUIET); err != nil {
						return err
					}
					return fixture.AddPath(fd, fsReadFile, p, 0)
				})
				if e != "" {
					return e
				}
				return openDirRecords(a, d)
			}).Covering("obs.2"))

		// TSYNC and the log configuration of the siblings: the caller's
		// configuration replaces a sibling's LOG_SUBDOMAINS_OFF, and
		// LOG_SUBDOMAINS_OFF with TSYNC silences the domains a sibling
		// makes afterwards.
		tsyncRows := []struct {
			name, mirror  string
			siblingFirst  bool   // the sibling sets LOG_SUBDOMAINS_OFF (ruleset_fd -1) first
			callerFlags   uint32 // with TSYNC
			callerRuleset bool   // the caller enforces a READ_DIR layer (else ruleset_fd -1)
			siblingLayer  bool   // the sibling then enforces its own READ_DIR layer
			logged        bool
		}{
			{"tsync_overrides_sibling_log_subdomains_off", "audit_test.c:audit.tsync_override_log_subdomains_off", true, 0, true, false, true},
			{"log_subdomains_off_with_tsync_silences_sibling_domains", "audit_test.c:audit.log_subdomains_off_tsync", false, logSubdomainOff, false, true, false},
		}
		for _, r := range tsyncRows {
			r := r
			records := recordsWant(check.ABITSync, "restrict=EINVAL", "open=EACCES", r.logged, "fs.read_dir")
			want := check.Sys(func(e check.Env) string {
				if r.siblingFirst && e.ABI < check.ABILogFlags {
					return "sibling restrict=EINVAL" // ruleset_fd -1 with flags
				}
				return records(e)
			})
			c := auditCase(r.name, nil, want,
				func(t *check.T, a *fixture.AuditSession) string {
					d := auditDirs(t, "d")[0]
					on, stop := startSibling()
					defer stop()
					if r.siblingFirst {
						if o := on(func() string { return check.Outcome(fixture.Restrict(t, -1, logSubdomainOff)) }); o != check.OK {
							return withoutLandlock(o, "sibling restrict=")
						}
					}
					var err error
					if r.callerRuleset {
						if e := enforceTraced(t, rawLayer{fs: fsReadDir, flags: r.callerFlags | tsyncFlag}, nil); e != "" {
							return e
						}
					} else if err = fixture.Restrict(t, -1, r.callerFlags|tsyncFlag); err != nil {
						return withoutLandlock(check.Outcome(err), "restrict=")
					}
					o := on(func() string {
						if r.siblingLayer {
							if e := enforceLayer(t, rawLayer{fs: fsReadDir}); e != "" {
								return "sibling " + e
							}
						}
						return check.Outcome(fixture.OpenClose(d, openDirFlags))
					})
					recs, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					view := fixture.ViewOf(recs, fixture.PathIs(d))
					// The sibling's denial: the domain was made by this
					// process (the allocated record's pid is the TGID).
					return "open=" + o + " " + view.Describe(os.Getpid())
				}).Mirroring(r.mirror).Covering("§3.12", "obs.2")
			c.Isolation = check.Process
			check.Register(c)
		}

		// The log flags hold for signal denials as for files.
		sigRows := []struct {
			name   string
			flags  uint32
			nested bool
			logged bool
		}{
			{"signal_log_same_exec_off_not_logged", logSameExecOff, false, false},
			{"signal_log_subdomains_off_silences_nested", logSubdomainOff, true, false},
			{"signal_log_new_exec_on_logs_own_denial", logNewExecOn, false, true},
		}
		for _, r := range sigRows {
			r := r
			records := recordsWant(check.ABILogFlags, "EINVAL", "kill=EPERM", r.logged, "scope.signal")
			want := check.Sys(func(e check.Env) string {
				if o, ok := attrRefusal(e, 24, check.ABIScoped); ok && !r.nested {
					return o // the scoped field (the nested row fails on its flags first)
				}
				return records(e)
			})
			check.Register(auditCase(r.name, nil, want,
				func(t *check.T, a *fixture.AuditSession) string {
					p, err := fixture.StartTarget(t.Root(), sigTarget)
					if err != nil {
						return check.SetupFailedf("%v", err)
					}
					defer fixture.KillFromOutside(p.Kill)
					first := rawLayer{scoped: sigScope, flags: r.flags}
					if r.nested {
						first = rawLayer{fs: fsMakeDir, flags: r.flags}
					}
					if e := enforceLayer(t, first); e != "" {
						return e
					}
					if r.nested {
						if e := enforceLayer(t, rawLayer{scoped: sigScope}); e != "" {
							return e
						}
					}
					o := check.Outcome(unix.Kill(p.Pid, blocked))
					recs, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					return "kill=" + o + " " + fixture.ViewOf(recs, fixture.OpidIs(p.Pid)).Describe(os.Getpid())
				}).Mirroring("audit_test.c:audit_flags.signal").Covering("obs.2"))
		}

		// A rename refused for REFER, REMOVE_FILE and MAKE_REG writes a
		// record for the source directory and one for the destination;
		// a quiet mark on either silences that one's record only (each
		// record's object is what is or is not marked).
		renameRows := []struct {
			name, mirror     string
			quietSrc, quietD bool
		}{
			{"rename_records_without_quiet", "fs_test.c:audit_quiet_rename.no_quiet", false, false},
			{"rename_quiet_source_silences_its_record", "fs_test.c:audit_quiet_rename.source_quiet_dest_no_quiet", true, false},
			{"rename_quiet_destination_silences_its_record", "fs_test.c:audit_quiet_rename.source_no_quiet_dest_quiet", false, true},
			{"rename_quiet_both_silences_both", "fs_test.c:audit_quiet_rename.quiet", true, true},
		}
		for _, r := range renameRows {
			r := r
			var recs []string
			if !r.quietSrc {
				recs = append(recs, "domain=$dom blockers=fs.remove_file,fs.refer path=$src ino=$src")
			}
			if !r.quietD {
				recs = append(recs, "domain=$dom blockers=fs.make_reg,fs.refer path=$dst ino=$dst")
			}
			obs := "records=0"
			if len(recs) > 0 {
				obs = fmt.Sprintf("records=%d: %s", len(recs), strings.Join(recs, "; "))
			}
			want := check.Sys(func(e check.Env) string {
				if e.ABI < check.ABIQuiet {
					return "E2BIG"
				}
				return "rename=EACCES " + obs
			})
			check.Register(fsAuditCase(r.name, want, func(t *check.T, a *fixture.AuditSession, d string) string {
				src, dst, vars, err := renameDirs(d)
				if err != nil {
					return check.SetupFailed(err)
				}
				handled := check.FeatureNamed(check.FSRight, "refer").Value | uint64(unix.LANDLOCK_ACCESS_FS_MAKE_REG|unix.LANDLOCK_ACCESS_FS_REMOVE_FILE)
				var quiet []string
				if r.quietSrc {
					quiet = append(quiet, src)
				}
				if r.quietD {
					quiet = append(quiet, dst)
				}
				e := enforceAttr(t, fixture.Attr(48, handled, 0, 0, handled), 0, func(fd int) error {
					for _, q := range quiet {
						openErr, err := fixture.AddPathOf(fd, 0, q, unix.LANDLOCK_ADD_RULE_QUIET)
						if openErr != nil {
							return openErr
						}
						if err != nil {
							return err
						}
					}
					return nil
				})
				if e != "" {
					return e
				}
				o := check.Outcome(unix.Rename(filepath.Join(src, "f"), filepath.Join(dst, "f")))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				enforcerDomain(vars, recs)
				return "rename=" + o + " " + achFS.observe(recs, under(d), vars)
			}).Mirroring(r.mirror).Covering("§3.14"))
		}

		// An abstract UNIX socket connection out of the scope.
		check.Register(auditCase("abstract_unix_socket_denial_record", nil,
			recordsWant(check.ABIScoped, "E2BIG", "connect=EPERM", true, "scope.abstract_unix_socket"),
			func(t *check.T, a *fixture.AuditSession) string {
				name := fmt.Sprintf("@llconform-audit-%d-%d", os.Getpid(), unix.Gettid())
				srv, err := fixture.UnixServer(name, unix.SOCK_STREAM)
				if err != nil {
					return check.SetupFailed(err)
				}
				defer unix.Close(srv)
				if e := enforceLayer(t, rawLayer{scoped: scopeAbs}); e != "" {
					return e
				}
				o := check.Outcome(fixture.UnixConnect(name, unix.SOCK_STREAM))
				recs, err := a.Mark()
				if err != nil {
					return check.SetupFailedf("audit records: %v", err)
				}
				mine := func(r fixture.AuditRecord) bool { return r.Fields["blockers"] == "scope.abstract_unix_socket" }
				return "connect=" + o + " " + fixture.ViewOf(recs, mine).Describe(os.Getpid())
			}).Mirroring("scoped_abstract_unix_test.c:scoped_audit.connect_to_child").Covering("obs.2"))
	})
}

// withoutLandlock names a failed step, except the failures of a kernel
// without Landlock (ENOSYS, EOPNOTSUPP), which are the outcome itself.
func withoutLandlock(o, step string) string {
	if o == "ENOSYS" || o == "EOPNOTSUPP" {
		return o
	}
	return step + o
}

func init() {
	check.Build(func() {
		// Sixteen nested domains, each denying once right after it is
		// made (so each is the innermost denying layer of its own
		// record): the domain IDs grow, and when the thread ends the
		// domains are deallocated innermost first, each with denials=1.
		// The records come after an RCU grace period: waited for with a
		// bounded poll.
		check.Register(fsAuditCase("sixteen_layers_allocated_in_order_deallocated_lifo", check.Sys(func(e check.Env) string {
			if e.ABI < check.ABILogFlags {
				return "denials=16 allocated=0"
			}
			return "denials=16 allocated=16 ids increasing=yes deallocated=16 order=lifo denials=1 each"
		}), func(t *check.T, a *fixture.AuditSession, d string) string {
			const n = 16
			// Records read after each denial: a burst of the whole
			// system's records could overflow the socket otherwise.
			var recs []fixture.AuditRecord
			o, _ := inThrowawayThread(func() string {
				denied := 0
				for range n {
					if e := enforceLayer(t, rawLayer{fs: fsReadDir}); e != "" {
						return e
					}
					if check.Outcome(fixture.OpenClose(d, openDirFlags)) == "EACCES" {
						denied++
					}
					more, err := a.Mark()
					if err != nil {
						return check.SetupFailedf("audit records: %v", err)
					}
					recs = append(recs, more...)
				}
				return fmt.Sprintf("denials=%d", denied)
			})
			if !strings.HasPrefix(o, "denials=") {
				return o
			}
			var ids []string
			for _, r := range recs {
				if r.Type == fixture.AuditLandlockDomain && r.Fields["status"] == "allocated" && r.Fields["pid"] == fmt.Sprint(os.Getpid()) {
					ids = append(ids, r.Fields["domain"])
				}
			}
			obs := fmt.Sprintf("%s allocated=%d", o, len(ids))
			if len(ids) == 0 {
				return obs
			}
			return obs + " " + layersLifecycle(ids, freeWait, func() ([]fixture.AuditRecord, error) { return a.Mark() })
		}).Mirroring("audit_test.c:audit.layers"))
	})
}

// layersLifecycle reads records (next gives each batch) until every
// domain of ids (in allocation order) is deallocated or the bounded wait
// ends, and describes the IDs' order, the deallocation order and counts.
func layersLifecycle(ids []string, limit time.Duration, next func() ([]fixture.AuditRecord, error)) string {
	increasing := "yes"
	for i := 1; i < len(ids); i++ {
		a, _ := strconv.ParseUint(ids[i-1], 16, 64)
		b, _ := strconv.ParseUint(ids[i], 16, 64)
		if b <= a {
			increasing = "no"
		}
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var order []string
	denials := map[string]int{}
	deadline := time.Now().Add(limit)
	for len(order) < len(ids) && time.Now().Before(deadline) {
		recs, err := next()
		if err != nil {
			return check.SetupFailedf("audit records: %v", err)
		}
		for _, r := range recs {
			if r.Type == fixture.AuditLandlockDomain && r.Fields["status"] == "deallocated" && want[r.Fields["domain"]] {
				order = append(order, r.Fields["domain"])
				denials[r.Fields["denials"]]++
			}
		}
		if len(order) < len(ids) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	lifo := "lifo"
	for i, id := range order {
		if id != ids[len(ids)-1-i] {
			lifo = "not lifo"
		}
	}
	counts := "denials=1 each"
	if len(denials) != 1 || denials["1"] != len(order) {
		counts = fmt.Sprintf("denials %v", denials)
	}
	return fmt.Sprintf("ids increasing=%s deallocated=%d order=%s %s", increasing, len(order), lifo, counts)
}
