package check

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/llconform/llconform/landlock"
	"golang.org/x/sys/unix"
)

// Env is everything an expectation may depend on.
type Env struct {
	State       landlock.State
	ABI         int // kernel ABI, 0 unless State is Enabled
	Errata      uint64
	ErrataKnown bool
	Root        bool
	Ceiling     int // ABI ceiling given to the library, 0 for none
	// Release is the kernel's release (uname -r), "" where it could not
	// be read; fixes without an erratum bit are judged by it (fixes.go).
	Release string
}

// LibABI is the ABI the library acts on: the kernel's, capped by the ceiling.
func (e Env) LibABI() int {
	if e.Ceiling > 0 && e.Ceiling < e.ABI {
		return e.Ceiling
	}
	return e.ABI
}

// Isolation is how a case gets a fresh Landlock domain.
type Isolation int

const (
	// Thread runs the case on a new locked OS thread that dies with it. A
	// domain is per thread, and Go starts new threads from a clean template
	// thread, so this is correct for cases that restrict only the calling
	// thread and do not change process-wide state; it costs microseconds.
	Thread Isolation = iota
	// Process runs the case in a re-executed child process: for TSYNC,
	// namespaces, chroot, signals to the process and anything process-wide.
	Process
)

// OK is the outcome of an action that succeeded.
const OK = "ok"

// SetupPrefix marks an observation that is no answer of the kernel: the
// case's fixture could not be built, so the case proves nothing and is
// judged broken (SetupFailure), never fail.
const SetupPrefix = "setup failed: "

// SetupFailed is the observation of a fixture that could not be built.
func SetupFailed(err error) string { return SetupPrefix + Outcome(err) }

// SetupFailedf is SetupFailed with the failed step named.
func SetupFailedf(format string, args ...any) string {
	return SetupPrefix + fmt.Sprintf(format, args...)
}

// SetupFailure reports whether a case's observation (or its T) says the
// fixture could not be built, and why.
func SetupFailure(observed string, t *T) (string, bool) {
	if why, ok := strings.CutPrefix(observed, SetupPrefix); ok {
		return why, true
	}
	if t != nil && t.setupErr != "" {
		return t.setupErr, true
	}
	return "", false
}

// Case is one conformance check.
type Case struct {
	Area      string
	Name      string
	Isolation Isolation
	// Skip returns an environment reason to skip (never "kernel too old").
	Skip func(Env) string
	// Want returns the documented outcome: "ok", an errno name, or
	// alternatives separated by "|" where the documentation allows several.
	Want func(Env) string
	// Deviate lists outcomes other than Want that are judged known or
	// warn instead of fail: the documented unfixed state of an erratum
	// the kernel's mask says it lacks, or a fix that came without an
	// erratum bit (fixes.go). Nil for most cases.
	Deviate func(Env) []Deviation
	// Run performs the setup, the enforcement and the action, and returns
	// the observed outcome.
	Run func(*T) string

	// Library is the Landlock library a library case runs against
	// (library.go); empty for kernel cases.
	Library string

	// Feature is the ABI table row (Feature.ID, e.g. "fs/read_file") whose
	// behaviour the case shows, and Shows which side of it; the coverage
	// test demands both sides for every right and scope.
	Feature string
	Shows   Behaviour
	// Covers names the coverage items (coverage.go) the case checks.
	Covers []string
	// Mirrors names the functions of the kernel's Landlock selftests
	// (tools/testing/selftests/landlock) whose behaviour the case checks
	// too, as file:function ("fs_test.c:layout1.inherit_subset"); the
	// coverage table lists them, so the comparison with the selftests can
	// be redone from the repository.
	Mirrors []string
	// Redundant, if set, says why the case proves nothing new on this
	// kernel (another case that runs shows the same); the agent then does
	// not run it and lists the reason. Only for arguments that cannot
	// hide a failure, written next to the rows that use them.
	Redundant func(Env) string

	// Variants are the values of the dimensions this case runs with (a
	// row written once and registered per family, socket type, ...).
	Variants []Variant
	// Omits names the values of a dimension the row leaves out, and why;
	// TestVariantsAreComplete fails on a row that leaves one out silently.
	Omits []Omission
	// Source is where the case was registered, relative to the module
	// root (file.go:line); `llconform cases` shows it.
	Source string

	builder int // 1 + the index of the builder that registered it, 0 for none
}

// Dim is a dimension a row varies over.
type Dim string

const (
	DimFamily   Dim = "family"   // ipv4, ipv6
	DimProtocol Dim = "protocol" // tcp, udp, mptcp, sctp
	DimSockType Dim = "socket"   // stream, dgram, seqpacket
	DimLayers   Dim = "layers"   // how many domains, and which one decides
	DimFS       Dim = "fs"       // the filesystem type under the rule
	DimTopology Dim = "topology" // outside, same domain, parent, child, sibling, nested
)

// Variant is the value of one dimension a case runs with.
type Variant struct {
	Dim   Dim    `json:"dim"`
	Value string `json:"value"`
}

// Omission is what a row leaves out of a dimension, and why.
type Omission struct {
	Dim    Dim      `json:"dim"`
	Values []string `json:"values"`
	Why    string   `json:"why"`
}

// Variant returns the case's value of dimension d, "" if it has none.
func (c Case) Variant(d Dim) string {
	for _, v := range c.Variants {
		if v.Dim == d {
			return v.Value
		}
	}
	return ""
}

// Varying adds the values of dimensions a case runs with.
func (c Case) Varying(vs ...Variant) Case {
	c.Variants = append(append([]Variant(nil), c.Variants...), vs...)
	return c
}

// Omitting says which values of a dimension a row leaves out, and why.
func (c Case) Omitting(d Dim, why string, values ...string) Case {
	c.Omits = append(append([]Omission(nil), c.Omits...), Omission{Dim: d, Values: values, Why: why})
	return c
}

// Behaviour is what a case shows of its feature.
type Behaviour string

const (
	ShowsAllowed Behaviour = "allowed" // granted by a rule (or not handled)
	ShowsDenied  Behaviour = "denied"  // handled and not granted
	ShowsEffect  Behaviour = "effect"  // a flag doing what it promises
)

// DeviationKind is how a known deviation is judged.
type DeviationKind string

const (
	// Known: the kernel behaves as the documented unfixed state of an
	// erratum whose bit its errata mask does not set: it says so itself.
	Known DeviationKind = "known"
	// Warn: a deviation from the documentation that nothing the kernel
	// reports explains, such as a fix that came without an erratum bit.
	Warn DeviationKind = "warn"
)

// Deviation is an outcome judged Kind instead of fail, and why.
type Deviation struct {
	Outcome string        `json:"outcome"` // alternatives separated by "|", like Want
	Kind    DeviationKind `json:"kind"`
	Why     string        `json:"why"`
	// erratum is the erratum whose documented unfixed state this is
	// (UnfixedErratum), 0 for other deviations.
	erratum int
}

// Showing tags a case with the feature whose behaviour it shows.
func (c Case) Showing(feature string, b Behaviour) Case {
	c.Feature, c.Shows = feature, b
	return c
}

// Covering adds coverage items to a case.
func (c Case) Covering(items ...string) Case {
	c.Covers = append(append([]string(nil), c.Covers...), items...)
	return c
}

// Mirroring adds the selftest functions a case mirrors (Case.Mirrors).
func (c Case) Mirroring(fns ...string) Case {
	c.Mirrors = append(append([]string(nil), c.Mirrors...), fns...)
	return c
}

// ClampedCeiling prunes a library row of ceiling c on a kernel of ABI M
// when c > M+1. The argument: for every ceiling ≥ M the library acts on
// ABI M (effectiveABI's "ceiling < abi" is false, and so is LibABI's), so
// those rows expect and observe exactly what ceiling M+1 does; ceiling
// M+1 still runs, as the clamp check, and a library that used the
// ceiling instead of the effective ABI fails there, since every ABI adds
// a feature. Without Landlock, M is 0 and ceiling 1 is the clamp check.
func ClampedCeiling(c int) func(Env) string {
	return func(e Env) string {
		m := 0
		if e.State == landlock.Enabled {
			m = e.ABI
		}
		if c <= m+1 {
			return ""
		}
		return fmt.Sprintf("library ceilings above %d clamp to the kernel's ABI %d (ceiling %d runs as the clamp check)", m+1, m, m+1)
	}
}

// Deviating sets a case's known deviations.
func (c Case) Deviating(d func(Env) []Deviation) Case {
	c.Deviate = d
	return c
}

// Deviation returns the deviation observed matches, if any.
func (c Case) Deviation(e Env, observed string) (Deviation, bool) {
	if c.Deviate == nil {
		return Deviation{}, false
	}
	for _, d := range c.Deviate(e) {
		if Matches(d.Outcome, observed) {
			return d, true
		}
	}
	return Deviation{}, false
}

// ID is area/name, with "@library" for a library case.
func (c Case) ID() string {
	if c.Library != "" {
		return c.Area + "/" + c.Name + "@" + c.Library
	}
	return c.Area + "/" + c.Name
}

// T is what a running case gets.
type T struct {
	Env Env
	// Dir is the case's own directory: given by the harness, or made on
	// first use by NewDir (most cases need none, and under TCG making and
	// removing one costs about half a millisecond). Use Root.
	Dir    string
	NewDir func() (string, error)
	Log    []string
	// setupErr is the first fixture step that failed (setup): the case
	// is then broken whatever it observed afterwards.
	setupErr string
	cleanups []func()
}

// Cleanup registers f to run when the case is over, after the ones
// registered after it (last in, first out), on the case's thread.
func (t *T) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// Execute runs the case on t and then its cleanups, even after a panic.
func (c Case) Execute(t *T) string {
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			t.cleanups[i]()
		}
		t.cleanups = nil
	}()
	return c.Run(t)
}

// Setup records a fixture step that failed; the first one is kept.
func (t *T) Setup(what string, err error) {
	if err != nil && t.setupErr == "" {
		t.setupErr = what + ": " + Outcome(err)
	}
}

// Root returns the case directory, making it on first use. Cases ask for
// it before enforcing: a domain may deny creating it.
func (t *T) Root() string {
	if t.Dir == "" && t.NewDir != nil {
		d, err := t.NewDir()
		t.Setup("case directory", err)
		t.Dir = d
	}
	return t.Dir
}

// Logf adds a line to the case's detail.
func (t *T) Logf(format string, args ...any) { t.Log = append(t.Log, fmt.Sprintf(format, args...)) }

// Detail returns the logged lines.
func (t *T) Detail() string { return strings.Join(t.Log, "; ") }

// Outcome names an error: nil is "ok", an errno its name (EACCES).
func Outcome(err error) string {
	if err == nil {
		return OK
	}
	var e unix.Errno
	if errors.As(err, &e) {
		if e == unix.EOPNOTSUPP {
			return "EOPNOTSUPP" // the same number as ENOTSUP; the documentation says EOPNOTSUPP
		}
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(e))
	}
	return "error: " + err.Error()
}

// Step is one step of a case's observation: what was done, and its
// outcome (ok, an errno name, or what the step saw).
type Step struct {
	Name    string
	Outcome string
}

// Did is a step whose outcome is err's: ok, or the errno's name.
func Did(name string, err error) Step { return Step{Name: name, Outcome: Outcome(err)} }

// Saw is a step whose outcome is what it saw: a count, a state, the
// outcome of a step made elsewhere (a child process, a tiny program).
func Saw(name, outcome string) Step { return Step{Name: name, Outcome: outcome} }

// Steps renders the steps of an observation, and of the expectation it is
// judged against, as the reports show them: "name=outcome name=outcome".
func Steps(steps ...Step) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = st.Name + "=" + st.Outcome
	}
	return strings.Join(parts, " ")
}

// Matches reports whether observed is one of the alternatives of want.
func Matches(want, observed string) bool {
	for _, w := range strings.Split(want, "|") {
		if w == observed {
			return true
		}
	}
	return false
}

// The cases are made by builders, which the files add at init and which
// run on first use: the child of a process-isolated case (a re-execution
// of the agent) builds only the builder that made its case. Building
// them all cost 15-25 ms of each child's 75-130 ms start under TCG.
var (
	builders []func()
	building int // 1 + the index of the builder running, 0 for none
	registry []Case
	BuildAll = sync.OnceFunc(func() {
		for i := range builders {
			registry = append(registry, runBuilder(i)...)
		}
	})
)

// BuiltBy returns the cases of builder n (1-based, as in Case.Ref),
// running only that builder.
func BuiltBy(n int) ([]Case, bool) {
	if n < 1 || n > len(builders) {
		return nil, false
	}
	return runBuilder(n - 1), true
}

// Build adds a builder: a function that registers cases.
func Build(b func()) { builders = append(builders, b) }

// made collects what a running builder registers.
var made []Case

// runBuilder runs builder i and returns its cases.
func runBuilder(i int) []Case {
	building, made = i+1, nil
	builders[i]()
	out := made
	building, made = 0, nil
	return out
}

// Register is how a builder adds cases.
func Register(cs ...Case) {
	if building == 0 {
		panic("check: Register outside a builder (call it in a function given to Build)")
	}
	src := builderLine()
	for i := range cs {
		cs[i] = maskBound(cs[i])
		cs[i].builder = building
		if cs[i].Source == "" {
			cs[i].Source = src
		}
	}
	made = append(made, cs...)
}

// moduleRoot is the directory of the module's source, from this file's
// own path (suites/check/case.go).
var moduleRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// builderLine is the file:line, relative to the module root, of the
// line in the running builder that led to this registration: the call
// of Register itself, or of the helper that registered the rows.
func builderLine() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	src := ""
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "/suites/check.runBuilder") {
			break
		}
		file := f.File
		if rel, err := filepath.Rel(moduleRoot, file); err == nil {
			file = rel
		}
		src = file + ":" + strconv.Itoa(f.Line) // outward: the builder's own line is the last
		if !more {
			break
		}
	}
	return src
}

// Areas is the order of the areas in a run and in every report: the
// syscall contract first, then the filesystem, the network, IPC scopes
// and process relations, flags, errata, and the library's downgrade.
var Areas = []string{"base", "fs", "truncate", "ioctl", "tcp", "udp", "scope", "resolveunix", "ptrace", "creds",
	"tsync", "flags", "audit", "trace", "errata", "downgrade", "library"}

// All returns every case: by area in the order of Areas, then in
// registration order.
func All() []Case {
	BuildAll()
	out := append([]Case(nil), registry...)
	rank := func(area string) int {
		if i := slices.Index(Areas, area); i >= 0 {
			return i
		}
		return len(Areas) // an area missing from Areas goes last (a test fails)
	}
	slices.SortStableFunc(out, func(a, b Case) int { return rank(a.Area) - rank(b.Area) })
	return out
}

// Ref names a case for a child process: the builder that made it and
// its ID (LookupRef).
func (c Case) Ref() string { return strconv.Itoa(c.builder) + ":" + c.ID() }

// Enforce applies a policy through the library, best effort, on the
// calling thread only (the harness gives each case its own thread or
// process), honouring the environment's ABI ceiling.
func (t *T) Enforce(p landlock.Policy) error {
	r, err := p.Enforce(landlock.Config{Mode: landlock.BestEffort, Threads: landlock.CurrentThread, MaxABI: t.Env.Ceiling})
	t.Logf("library: %s at effective ABI %d", r.State, r.ABI)
	return err
}

// Path joins names under the case directory.
func (t *T) Path(names ...string) string {
	return filepath.Join(append([]string{t.Root()}, names...)...)
}

// Mkdirs creates directories under the case directory.
func (t *T) Mkdirs(names ...string) {
	for _, n := range names {
		t.Setup("mkdir "+n, os.MkdirAll(t.Path(n), 0o755))
	}
}

// Files creates small regular files under the case directory.
func (t *T) Files(names ...string) {
	for _, n := range names {
		t.Setup("mkdir "+filepath.Dir(n), os.MkdirAll(filepath.Dir(t.Path(n)), 0o755))
		t.Setup("create "+n, os.WriteFile(t.Path(n), []byte("llconform\n"), 0o644))
	}
}

// Abs resolves a fixture path: absolute as is, else under the case
// directory.
func (t *T) Abs(p string) string {
	switch {
	case strings.HasPrefix(p, "/"):
		return p
	case p == "":
		return t.Root()
	}
	return t.Path(p)
}
