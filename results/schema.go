// Package results owns the llconform result schema: the JSON-lines stream a
// suite run emits (header, one event per case, done trailer) and the run
// document that collects the streams of many kernels. Reports, merge and
// compare are built on these types only.
package results

import (
	"strings"
	"time"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
)

// SchemaVersion is bumped whenever a field changes meaning or is removed.
const SchemaVersion = 3

// Schema history: 2 added the verdicts known and warn, and attempts that
// keep their cases; documents of schema 1 still load (they hold neither).
// 3 added the kernel's architecture (kernels[].arch): kernels are the same
// only with the same name and architecture. Documents of schemas 1 and 2
// still load; their kernels are amd64 unless the guest's uname -m said
// otherwise (Architecture). Schema 3 later gained optional fields that
// change no other's meaning: the kernel's Debian flavour
// (kernels[].flavour; absent in older documents and for kernels not from
// Debian), kernels[].notes and the run's baseline.

// Verdict is the outcome of one case.
type Verdict string

const (
	Pass   Verdict = "pass"
	Fail   Verdict = "fail"
	Skip   Verdict = "skip"   // environment reason only, in Detail
	Broken Verdict = "broken" // crashed, timed out or missing from the stream
	// Known: the kernel behaves as the documented unfixed state of an
	// erratum whose bit its errata mask does not set (it says so itself).
	Known Verdict = "known"
	// Warn: a deviation from the documentation that nothing the kernel
	// reports explains (a fix that came without an erratum bit).
	// --strict turns it into a failure.
	Warn Verdict = "warn"
)

// Status is how a kernel's run (or one boot attempt) ended.
type Status string

const (
	StatusComplete    Status = "complete"    // every record arrived
	StatusBroken      Status = "broken"      // crash, hang, truncated stream
	StatusInterrupted Status = "interrupted" // the run was cancelled while this kernel ran
	StatusNotRun      Status = "not run"     // the run was cancelled before this kernel started
)

// Env describes where a stream was produced. The agent fills the kernel
// facts; the host adds the package, accelerator and catalog facts.
type Env struct {
	Kernel         string         `json:"kernel,omitempty"`  // catalog or user-given name
	Release        string         `json:"release"`           // uname -r
	Arch           string         `json:"arch,omitempty"`    // uname -m
	Cmdline        string         `json:"cmdline,omitempty"` // /proc/cmdline
	LandlockStatus landlock.State `json:"landlock_status"`
	ABI            int            `json:"abi"` // 0 unless enabled
	Errata         uint64         `json:"errata"`
	ErrataKnown    bool           `json:"errata_known"` // false: the kernel has no errata interface
	LSM            string         `json:"lsm,omitempty"`
	UID            int            `json:"uid"`
	ABICeiling     int            `json:"abi_ceiling,omitempty"`   // library ceiling in force, 0 = none
	Native         bool           `json:"native,omitempty"`        // run on the host, not in a VM
	UptimeMS       int64          `json:"uptime_ms,omitempty"`     // guest uptime when the agent started
	PlannedCases   int            `json:"planned_cases,omitempty"` // case events the run will send
	// KnownConsole are console lines (regular expressions) this kernel is
	// documented to print: warnings of errata its mask says it lacks.
	// They do not break the run.
	KnownConsole []string `json:"known_console,omitempty"`
	// Pruned says which cases were not run on this kernel because others
	// prove the same (with the count and the argument).
	Pruned []string `json:"pruned,omitempty"`
	// Modules the VM's init loaded before the suites ran ("sctp"), or
	// could not ("sctp: ENOEXEC"); the host supplies a catalog kernel's
	// (kernels.GuestModules).
	Modules []string `json:"modules,omitempty"`

	// Host-side facts.
	Package        string `json:"package,omitempty"`
	PackageVersion string `json:"package_version,omitempty"`
	Suite          string `json:"suite,omitempty"`  // Debian suite the package was resolved in
	SHA256         string `json:"sha256,omitempty"` // of the kernel image booted
	ExpectedABI    *int   `json:"expected_abi,omitempty"`
	Accel          string `json:"accel,omitempty"` // kvm or tcg
	CPU            string `json:"cpu,omitempty"`   // QEMU's -cpu model
}

// Case is the result of one conformance case in one privilege mode.
type Case struct {
	Area string `json:"area"`
	Name string `json:"name"`
	Priv string `json:"priv"` // "root" or "unpriv"
	// Library is the Landlock library a library case ran against, with
	// its version ("go-landlock v0.11.2"); empty for kernel cases.
	Library    string  `json:"library,omitempty"`
	Verdict    Verdict `json:"verdict"`
	Expected   string  `json:"expected"` // outcome name: "ok", "EACCES", ...
	Observed   string  `json:"observed"`
	DurationUS int64   `json:"duration_us"`
	Detail     string  `json:"detail,omitempty"`
}

// ID names a case across runs: area/name/priv.
func (c Case) ID() string {
	id := c.Area + "/" + c.Name + "/" + c.Priv
	if c.Library != "" {
		id += "@" + c.LibraryName()
	}
	return id
}

// LibraryName is the library without its version: runs of two versions
// of one library compare case by case.
func (c Case) LibraryName() string {
	name, _, _ := strings.Cut(c.Library, " ")
	return name
}

// Row is the matrix row of the case: its area, and for a library case
// the library ("library · go-landlock").
func (c Case) Row() string {
	if c.Library == "" {
		return c.Area
	}
	return c.Area + " · " + c.LibraryName()
}

// Attempt is one boot of a kernel.
type Attempt struct {
	Status      Status `json:"status"`
	Reason      string `json:"reason,omitempty"`
	ConsoleLog  string `json:"console_log,omitempty"` // path, relative to the run directory
	ConsoleTail string `json:"console_tail,omitempty"`
	BootMS      int64  `json:"boot_ms"`
	WallMS      int64  `json:"wall_ms"`
	// Entry is how QEMU entered the kernel (vm.Boot.Entry).
	Entry string `json:"entry,omitempty"`
	// Pass is "root" or "unpriv" for a boot that ran one pass of the
	// kernel's two (the passes of one kernel booted apart).
	Pass string `json:"pass,omitempty"`
	// Cases are the cases this attempt delivered, kept for an attempt
	// that is not the kernel's final one (the final one's are the
	// kernel's Cases).
	Cases []Case `json:"cases,omitempty"`
}

// Timings of one kernel, in milliseconds.
type Timings struct {
	DownloadMS int64 `json:"download_ms"`
	BootMS     int64 `json:"boot_ms"`   // VM start to agent start
	SuitesMS   int64 `json:"suites_ms"` // agent start to done
	WallMS     int64 `json:"wall_ms"`   // everything, all attempts
	// QEMUCPUMS is the host CPU time of the final boot's QEMU, all of it
	// (boot and suites): steadier than wall time on a loaded host.
	QEMUCPUMS int64 `json:"qemu_cpu_ms,omitempty"`
}

// KernelRun is everything known about one kernel in a run.
type KernelRun struct {
	Name string `json:"name"`
	// Arch is the architecture the kernel was booted as, by its Debian
	// name: amd64 or arm64. Name and Arch together name a kernel (Key).
	Arch arch.Arch `json:"arch"`
	// Flavour is the Debian kernel flavour (cloud, generic, rt) of a
	// Debian kernel; "" for a kernel of the user's own. A flavour other
	// than the catalog's default (cloud) is in the Name too ("7.3-rt").
	Flavour string   `json:"flavour,omitempty"`
	Env     Env      `json:"env"`
	Status  Status   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
	Flags   []string `json:"flags,omitempty"` // e.g. "ABI mismatch", "newer ABI"
	// Notes are facts about the kernel that do not fail it: options its
	// config lacks, a guest that could not power off.
	Notes    []string  `json:"notes,omitempty"`
	Cases    []Case    `json:"cases"`
	Attempts []Attempt `json:"attempts,omitempty"`
	Timings  Timings   `json:"timings"`
}

// Host describes the machine that ran the matrix.
type Host struct {
	Hostname string `json:"hostname,omitempty"`
	Kernel   string `json:"kernel,omitempty"`
	CPUs     int    `json:"cpus,omitempty"`
	Version  string `json:"version,omitempty"` // llconform version
}

// Run is the document of one llconform invocation (results.json).
type Run struct {
	Schema     int       `json:"schema"`
	ID         string    `json:"id"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Host       Host      `json:"host"`
	Args       []string  `json:"args,omitempty"`
	Incomplete bool      `json:"incomplete,omitempty"` // interrupted or a kernel missing
	// Baseline is the comparison with the run given as --baseline: a
	// case lost against it fails this run.
	Baseline *Baseline   `json:"baseline,omitempty"`
	Kernels  []KernelRun `json:"kernels"`
}
