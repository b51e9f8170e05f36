package suites

import (
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// What an unprivileged process sees of the audit records: nothing. The
// records go to the audit daemon and to the multicast group, which needs
// CAP_AUDIT_READ, and the audit status needs CAP_AUDIT_CONTROL
// (admin-guide "Observability security considerations": access to audit
// logs is controlled by the audit subsystem). Every other audit case is
// root's.
func init() {
	check.Build(func() {
		check.Register(check.Case{Area: "audit", Name: "records_closed_to_unprivileged", Covers: []string{"sec.6", "obs.2"},
			Skip: func(e check.Env) string {
				if e.Root {
					return "checks the unprivileged pass (root reads the records in the other audit cases)"
				}
				return ""
			},
			Want: func(check.Env) string { return "join readlog group=EPERM audit status=EPERM" },
			Run: func(t *check.T) string {
				join := check.OK
				if c, err := netlink.Dial(unix.NETLINK_AUDIT, &netlink.Config{Groups: 1 << (fixture.AuditNlgrpReadlog - 1)}); err != nil {
					join = check.Outcome(err)
				} else {
					c.Close()
				}
				status := check.OK
				c, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
				if err != nil {
					return check.SetupFailedf("audit netlink socket: %v", err)
				}
				defer c.Close()
				if _, err := fixture.AuditEnabled(c); err != nil {
					status = check.Outcome(err)
				}
				return "join readlog group=" + join + " audit status=" + status
			}})
	})
}
