package suites

import (
	"strings"
	"sync"

	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// The network rows: a row is written once and registered per family,
// socket type and protocol (caseFor); the fixture it runs on is netFix
// (fixture_net.go).

// asUnsandboxed is the observed outcome of a differential case whose
// sandboxed result equals the unsandboxed one on the same kernel.
const asUnsandboxed = "as unsandboxed"

// unchanged expects a differential case to match the unsandboxed result.
func unchanged(check.Env) string { return asUnsandboxed }

// netRow is one network case: a policy built from the fixture, and an
// action run after enforcement. A differential row runs the action once
// before enforcing as the baseline: for edge cases whose errno belongs to
// the network stack and changed across kernels, the documentation only
// promises what Landlock adds.
type netRow struct {
	name   string
	want   func(check.Env) string
	policy func(x *fixture.NetFix) landlock.Policy
	op     func(x *fixture.NetFix) error
	diff   bool
	// deviate judges known deviations (Case.Deviate).
	deviate func(check.Env) []check.Deviation
	// companion is a second action after the enforcement that the
	// policy must deny: on a differential row (or a row whose action the
	// policy must leave alone) it shows the restriction is in force, so
	// that a domain ignoring the address entirely cannot pass as "as
	// unsandboxed". companionWant is its expectation.
	companion     func(x *fixture.NetFix) error
	companionWant func(check.Env) string
	skip          func(check.Env) string
	// feature and shows tag a row that shows a right allowed or denied.
	feature string
	shows   check.Behaviour
	// prep finishes the fixture before enforcement.
	prep func(x *fixture.NetFix) error
	// layers, when set, replaces policy: each policy is enforced in turn
	// as a layer of its own (none at all for an empty, non-nil list).
	layers []func(x *fixture.NetFix) landlock.Policy
	// covers names the coverage items of the row (Case.Covers), on top of
	// the area's own.
	covers []string
	// omits says which families (or other values) the row leaves out, and
	// why (Case.Omits).
	omits []check.Omission
}

func (r netRow) run(t *check.T, f fixture.Family, typ, proto int) string {
	x := fixture.NewNetFix(f, typ, proto)
	defer x.Close()
	if x.SetupErr != nil {
		return check.SetupFailedf("%s: %s", x.SetupErrWhat, check.Outcome(x.SetupErr))
	}
	if r.prep != nil {
		if err := r.prep(x); err != nil {
			return check.SetupFailed(err)
		}
	}
	var before string
	if r.diff {
		before = check.Outcome(r.op(x))
	}
	layers := r.layers
	if layers == nil {
		layers = []func(x *fixture.NetFix) landlock.Policy{r.policy}
	}
	for _, l := range layers {
		if err := t.Enforce(l(x)); err != nil {
			return fixture.EnforceFailed(err)
		}
	}
	after := check.Outcome(r.op(x))
	if r.diff {
		t.Logf("unsandboxed %s, sandboxed %s", before, after)
		if after == before {
			after = asUnsandboxed
		}
	}
	if r.companion != nil {
		after += "; restriction " + check.Outcome(r.companion(x))
	}
	return after
}

// withCompanion expects a differential outcome and, after it, the
// companion's denial.
func withCompanion(want, companion func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		var out []string
		for _, w := range strings.Split(want(e), "|") {
			out = append(out, w+"; restriction "+companion(e))
		}
		return strings.Join(out, "|")
	}
}

// netCases turns rows into cases of area for each family.
func netCases(area string, typ, proto int, rows []netRow) []check.Case {
	var out []check.Case
	for _, f := range fixture.Families {
		for _, r := range rows {
			f, r := f, r
			out = append(out, r.caseFor(area, f, typ, proto))
		}
	}
	return out
}

func (r netRow) caseFor(area string, f fixture.Family, typ, proto int) check.Case {
	want := r.want
	if r.companion != nil {
		want = withCompanion(r.want, r.companionWant)
	}
	var covers []string
	if c, ok := areaCoverage[area]; ok {
		covers = append(covers, c)
	}
	covers = append(covers, r.covers...)
	return check.Case{Area: area, Name: f.Name + "/" + r.name, Skip: skips(noIPv6(f), r.skip), Want: want,
		Deviate: r.deviate, Feature: r.feature, Shows: r.shows, Covers: covers, Omits: r.omits,
		Variants: netVariants(f, typ, proto),
		Run:      func(t *check.T) string { return r.run(t, f, typ, proto) }}
}

// netVariants names the family, socket type and protocol of a network case.
func netVariants(f fixture.Family, typ, proto int) []check.Variant {
	return []check.Variant{{Dim: check.DimFamily, Value: f.Name}, {Dim: check.DimSockType, Value: sockTypeName[typ]}, {Dim: check.DimProtocol, Value: protoName[proto]}}
}

var (
	sockTypeName = map[int]string{unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram", unix.SOCK_SEQPACKET: "seqpacket"}
	protoName    = map[int]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp", unix.IPPROTO_MPTCP: "mptcp", unix.IPPROTO_SCTP: "sctp"}
)

// onlyOn is the omission of a row written for one family: why the other
// has no row of this name.
func onlyOn(f fixture.Family, why string) []check.Omission {
	other := fixture.IPv6
	if f == fixture.IPv6 {
		other = fixture.IPv4
	}
	return []check.Omission{{Dim: check.DimFamily, Values: []string{other.Name}, Why: why}}
}

// areaCoverage is the coverage item every network row of an area checks.
var areaCoverage = map[string]string{"tcp": "§3.8", "udp": "§3.9"}

// skips combines skip functions; nil ones are ignored.
func skips(fs ...func(check.Env) string) func(check.Env) string {
	return func(e check.Env) string {
		for _, f := range fs {
			if f == nil {
				continue
			}
			if why := f(e); why != "" {
				return why
			}
		}
		return ""
	}
}

var ipv6Check = sync.OnceValue(func() error {
	return fixture.WithSocket(fixture.IPv6, unix.SOCK_STREAM, unix.IPPROTO_TCP, func(fd int) error { return unix.Bind(fd, fixture.IPv6.Addr(0)) })
})

// noIPv6 is an environment skip: kernels built without IPv6, or without
// an IPv6 loopback address.
func noIPv6(f fixture.Family) func(check.Env) string {
	if f.AF != unix.AF_INET6 {
		return nil
	}
	return func(check.Env) string {
		if err := ipv6Check(); err != nil {
			return "no IPv6 loopback in this kernel (" + check.Outcome(err) + ")"
		}
		return ""
	}
}
