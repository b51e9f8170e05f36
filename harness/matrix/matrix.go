// Package matrix is the host side of a run: it turns kernels into
// targets, boots them in QEMU at most Parallel at a time, reads each
// guest's result stream, judges every boot (complete, broken,
// interrupted), retries a broken boot once, and returns one results.Run.
package matrix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/vm"
)

// Target is one kernel of a matrix run.
type Target struct {
	Name           string
	Flavour        string    // Debian's kernel flavour; "" for the user's own kernel
	Arch           arch.Arch // amd64 ("" too) or arm64
	Image          string    // kernel image path (x86 bzImage, arm64 Image)
	Cmdline        string    // kernel command-line additions of the catalog entry
	ExpectedStatus landlock.State
	ExpectedABI    *int
	Package        string
	PackageVersion string
	Suite          string // Debian suite the package came from
	SHA256         string // of the image
	DownloadMS     int64  // 0 when it came from the cache
	// Modules are loaded by the guest before the suites (load order);
	// kernels.Fetcher.Modules gives a catalog kernel's.
	Modules []kernels.Module
	// OwnModules: the modules are the user's own build's, which Debian's
	// key did not sign: the guest loads them without module.sig_enforce.
	OwnModules bool
	// Notes are what the host found out about the kernel before booting
	// it (options its config lacks): they go into the kernel's notes.
	Notes []string
}

// Architecture is the target's architecture, amd64 when unset.
func (t Target) Architecture() arch.Arch { return t.Arch.OrDefault() }

// Key names the target in progress events and file names: its name and
// architecture, as results.KernelRun.Key.
func (t Target) Key() string { return t.Name + "/" + string(t.Architecture()) }

// TargetOf turns a fetched kernel into a target.
func TargetOf(k kernels.Kernel) Target {
	t := Target{Name: k.Name, Flavour: k.Flavour, Arch: k.Arch, Image: k.Image, Cmdline: k.Cmdline, ExpectedStatus: k.ExpectedStatus,
		ExpectedABI: k.ExpectedABI, Package: k.Package, PackageVersion: k.Version, Suite: k.Suite, SHA256: k.ImageSHA256}
	if !k.Cached {
		t.DownloadMS = k.Download.Milliseconds()
	}
	return t
}

// Config is how a matrix runs.
type Config struct {
	Settings protocol.Settings // what the agent runs; the result port is set per architecture
	Parallel int               // VMs at a time; default 1
	MemoryMB int               // guest memory; default vm.DefaultMemoryMB of each target's architecture
	Timeout  time.Duration     // per boot; default 5 minutes
	// Grace is how long a guest may run on after its done record before
	// it is stopped (vm.Spec.Grace); default vm.DefaultGrace.
	Grace  time.Duration
	OutDir string // run directory (console logs, reports)
	// Initramfs holds, per architecture, an image from vm.Prepare to
	// boot; for an architecture it lacks, Run prepares one (builds the
	// agent) itself, with that architecture's Extra files.
	Initramfs map[arch.Arch]string
	Extra     map[arch.Arch][]vm.File
	Args      []string // the command line, for the record
	// OneBoot boots each kernel once even when VM slots are to spare
	// (splitAt): a bench that runs a larger matrix in rounds boots the
	// kernels of its earlier rounds as the whole matrix would.
	OneBoot  bool
	Progress Progress // live progress, optional
}

// Run boots every target and collects one run document; kernels keep
// their order. After a cancel no new VM starts, and the run says so.
func Run(ctx context.Context, cfg Config, targets []Target) (*results.Run, error) {
	var arches []arch.Arch
	for _, t := range targets {
		if !slices.Contains(arches, t.Architecture()) {
			arches = append(arches, t.Architecture())
		}
	}
	for _, a := range arches {
		if err := vm.CheckQEMU(a); err != nil {
			return nil, err
		}
	}
	if _, err := cfg.Settings.Cmdline(); err != nil {
		return nil, err
	}
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = func(Event) {}
	}
	if err := os.MkdirAll(filepath.Join(cfg.OutDir, "console"), 0o755); err != nil {
		return nil, err
	}
	b := &booter{cfg: cfg, arch: map[arch.Arch]archBoot{}}
	if slices.ContainsFunc(targets, func(t Target) bool { return len(t.Modules) > 0 }) {
		scratch, err := vm.ScratchDir()
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(scratch)
		b.scratch = scratch
	}
	for _, a := range arches {
		ab, err := prepareArch(ctx, cfg, a)
		if err != nil {
			return nil, err
		}
		b.arch[a] = ab
	}
	logs := consoleNames(targets)
	started := time.Now()
	out := make([]results.KernelRun, len(targets))
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	take := func() { sem <- struct{}{} }
	for i, t := range targets {
		take() // here, so that kernels start in catalog order
		wg.Add(1)
		go func(i int, t Target) {
			defer wg.Done()
			if !cfg.OneBoot && splitAt(cfg.Settings, i, len(targets), cfg.Parallel) {
				out[i] = b.kernel(t, func() results.KernelRun {
					return b.twoPasses(ctx, t, logs[i], take, func() { <-sem })
				})
				return
			}
			defer func() { <-sem }()
			out[i] = b.kernel(t, func() results.KernelRun {
				return b.boots(ctx, t, logs[i], b.arch[t.Architecture()].guestArgs, b.cfg.Progress)
			})
		}(i, t)
	}
	wg.Wait()
	run := results.NewRun(started, cfg.Args, out)
	for _, k := range out {
		if k.Status == results.StatusNotRun || k.Status == results.StatusInterrupted {
			run.Incomplete = true
		}
	}
	return run, nil
}

// archBoot is what the boots of one architecture share.
type archBoot struct {
	guestArgs string // the agent's settings, with this architecture's result port
	// rootArgs and unprivArgs are guestArgs for a kernel whose two passes
	// boot in two VMs (splitAt).
	rootArgs, unprivArgs string
	initramfs            string
	accel                string
	memoryMB             int
}

// prepareArch builds (or takes from cfg) the initramfs of an architecture
// and its agent settings.
func prepareArch(ctx context.Context, cfg Config, a arch.Arch) (archBoot, error) {
	st := cfg.Settings
	st.Port = vm.ResultPort(a)
	args, err := st.Cmdline()
	if err != nil {
		return archBoot{}, err
	}
	ab := archBoot{guestArgs: args, initramfs: cfg.Initramfs[a], accel: vm.Accel(a), memoryMB: cfg.MemoryMB}
	root, unpriv := st, st
	root.NoUnpriv, unpriv.OnlyUnpriv = true, true
	if ab.rootArgs, err = root.Cmdline(); err != nil {
		return archBoot{}, err
	}
	if ab.unprivArgs, err = unpriv.Cmdline(); err != nil {
		return archBoot{}, err
	}
	if ab.memoryMB == 0 {
		ab.memoryMB = vm.DefaultMemoryMB(a)
	}
	if ab.initramfs == "" {
		ab.initramfs, err = vm.Prepare(ctx, a, func(note string) { cfg.Progress(Event{Note: note}) }, cfg.Extra[a]...)
		if err != nil {
			return archBoot{}, err
		}
	}
	return ab, nil
}

// consoleNames gives every target a console log name of its own, even
// when two targets have the same name (or names that differ only in
// characters a file name cannot hold): two VMs never write one log.
func consoleNames(targets []Target) []string {
	used := map[string]bool{}
	out := make([]string, len(targets))
	for i, t := range targets {
		name := safeName(t.Key())
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", safeName(t.Key()), n)
		}
		used[name] = true
		out[i] = name
	}
	return out
}

type booter struct {
	cfg     Config
	arch    map[arch.Arch]archBoot
	scratch string // the run's per-kernel images (with modules)
}

// initramfsOf is the image target t boots: its architecture's, with the
// target's modules added in a per-kernel copy.
func (b *booter) initramfsOf(t Target, log string) (string, error) {
	base := b.arch[t.Architecture()].initramfs
	if len(t.Modules) == 0 {
		return base, nil
	}
	var files []vm.File
	for i, m := range t.Modules {
		data, err := os.ReadFile(m.Path)
		if err != nil {
			return "", fmt.Errorf("module %s: %w", m.Name, err)
		}
		files = append(files, vm.File{Path: protocol.ModuleDir + "/" + protocol.ModuleFile(i, m.Name), Data: data, Mode: 0o644})
	}
	path := filepath.Join(b.scratch, log+".cpio")
	return path, vm.WithFiles(base, path, files...)
}

// kernel runs one target with boot, which boots it once (boots) or its two
// passes apart (twoPasses), each with one retry when it broke. A boot
// that never started because the run was cancelled is no attempt: a
// kernel without attempts is "not run"; one whose retry never started is
// "interrupted", with the cases of its first attempt.
func (b *booter) kernel(t Target, boot func() results.KernelRun) results.KernelRun {
	kr := boot()
	if kr.Status == results.StatusNotRun || len(kr.Attempts) == 0 && kr.Status == results.StatusBroken {
		b.cfg.Progress(Event{Kernel: t.Key(), State: State(kr.Status)})
		return kr
	}
	kr.Flags = flags(t, kr)
	kr.Notes = append(slices.Clone(t.Notes), kr.Notes...)
	if c, ok := catalogCase(t, kr); ok {
		kr.Cases = append(kr.Cases, c)
	}
	b.cfg.Progress(Event{Kernel: t.Key(), State: State(kr.Status)})
	return kr
}

// boots boots a target (with one retry) with the agent settings args, and
// reports its progress to progress.
func (b *booter) boots(ctx context.Context, t Target, log, args string, progress Progress) results.KernelRun {
	kr := results.KernelRun{Name: t.Name, Flavour: t.Flavour, Arch: t.Architecture(), Env: b.hostEnv(t), Status: results.StatusNotRun}
	start := time.Now()
	initramfs, err := b.initramfsOf(t, log)
	if err != nil {
		kr.Status, kr.Reason = results.StatusBroken, "the kernel's initramfs: "+err.Error()
		return kr
	}
	var last *attempt
	for n := 1; n <= 2 && ctx.Err() == nil; n++ {
		a := b.boot(ctx, t, initramfs, n, log, args, progress)
		if a == nil {
			break
		}
		if last != nil {
			// The earlier attempt keeps what it delivered.
			kr.Attempts[len(kr.Attempts)-1].Cases = last.stream.Cases
		}
		kr.Attempts = append(kr.Attempts, a.record)
		last = a
		if a.record.Status != results.StatusBroken {
			break
		}
	}
	if last == nil {
		kr.Reason = "the run was interrupted before this kernel started"
		return kr
	}
	kr.Timings.DownloadMS = t.DownloadMS
	kr.Timings.WallMS = time.Since(start).Milliseconds()
	kr.Status, kr.Reason = last.record.Status, last.record.Reason
	if kr.Status == results.StatusBroken && len(kr.Attempts) == 1 && ctx.Err() != nil {
		kr.Status = results.StatusInterrupted
		kr.Reason = "the run was interrupted before the retry; attempt 1: " + kr.Reason
	}
	kr.Timings.BootMS, kr.Timings.SuitesMS, kr.Timings.QEMUCPUMS = last.bootMS, last.suitesMS, last.cpuMS
	if s := last.stream; s != nil {
		if s.Header != nil {
			kr.Env = mergeEnv(*s.Header, kr.Env)
		}
		kr.Cases = s.Cases
	}
	kr.Notes = last.notes
	return kr
}

// hostEnv is what the host knows of a target before it boots.
func (b *booter) hostEnv(t Target) results.Env {
	ab := b.arch[t.Architecture()]
	return results.Env{Kernel: t.Name, Package: t.Package, PackageVersion: t.PackageVersion, Suite: t.Suite, SHA256: t.SHA256,
		ExpectedABI: t.ExpectedABI, Accel: ab.accel, CPU: vm.CPU(t.Architecture(), ab.accel)}
}

// attempt is one boot, judged.
type attempt struct {
	record                  results.Attempt
	notes                   []string // for the kernel's notes
	stream                  *protocol.Stream
	bootMS, suitesMS, cpuMS int64
}

// boot runs attempt n of a target; nil when the VM never started because
// the run was cancelled.
func (b *booter) boot(ctx context.Context, t Target, initramfs string, n int, name, args string, progress Progress) *attempt {
	log := filepath.Join("console", name+".log")
	if n > 1 {
		log = filepath.Join("console", fmt.Sprintf("%s.attempt%d.log", name, n))
	}
	ab := b.arch[t.Architecture()]
	cmdline := t.Cmdline + " " + args
	if len(t.Modules) > 0 && !t.OwnModules {
		// The kernel loads only modules signed by its own build's key:
		// some come from the pool without the index's word (kernels.Modules).
		cmdline += " module.sig_enforce=1"
	}
	spec := vm.Spec{Arch: t.Architecture(), Kernel: t.Image, Initramfs: initramfs, Cmdline: strings.TrimSpace(cmdline),
		MemoryMB: ab.memoryMB, Timeout: b.cfg.Timeout, ConsoleLog: filepath.Join(b.cfg.OutDir, log), Accel: ab.accel,
		Decode: protocol.PortReader, Grace: b.cfg.Grace}
	a := &attempt{stream: &protocol.Stream{}, record: results.Attempt{ConsoleLog: log}}
	live := newLiveCount(t.Key(), progress)
	progress(Event{Kernel: t.Key(), State: StateBooting, Attempt: n})
	var headerAt, doneAt time.Time
	boot, err := vm.Run(ctx, spec, func(line []byte) bool {
		ev, ok := a.stream.Add(line)
		if !ok {
			return a.stream.Done != nil
		}
		switch ev.Type {
		case protocol.EventHeader:
			headerAt = time.Now()
		case protocol.EventDone:
			doneAt = time.Now()
		}
		live.event(ev)
		// Nothing comes after the done record: a guest that does not
		// power off then has vm.Spec.Grace to do it.
		return a.stream.Done != nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		a.record.Status, a.record.Reason = results.StatusBroken, err.Error()
		return a
	}
	if !headerAt.IsZero() {
		a.bootMS = headerAt.Sub(boot.Started).Milliseconds()
		if !doneAt.IsZero() {
			a.suitesMS = doneAt.Sub(headerAt).Milliseconds()
		}
	}
	a.record.BootMS, a.record.WallMS, a.record.Entry = a.bootMS, boot.Wall.Milliseconds(), boot.Entry
	a.cpuMS = boot.CPU.Milliseconds()
	a.record.ConsoleTail = boot.ConsoleTail
	a.record.Status, a.record.Reason = judge(a.stream, boot, spec)
	if n := powerOffNote(boot, spec); n != "" {
		a.notes = append(a.notes, n)
	}
	return a
}

// judge decides how a boot ended, and names the cause when the facts
// show it. Anything short of a complete stream from a quiet kernel is
// broken, never complete.
func judge(s *protocol.Stream, b *vm.Boot, spec vm.Spec) (results.Status, string) {
	tooLittle := fmt.Sprintf("too little memory? the catalog kernels need at least %d MiB (--memory)", vm.MinMemoryMB)
	switch {
	case b.Cancelled:
		return results.StatusInterrupted, fmt.Sprintf("the run was interrupted after %d cases", len(s.Cases))
	case b.Silent:
		return results.StatusBroken, fmt.Sprintf("the guest reset before its kernel printed anything (QEMU exited 0, empty console, no header) with %d MiB: %s", spec.MemoryMB, tooLittle)
	case unexplained(b.Troubles, s) != "":
		trouble := unexplained(b.Troubles, s)
		why := "guest kernel trouble: " + trouble
		if initramfsLost.MatchString(trouble) {
			why += fmt.Sprintf("; the kernel lost its initramfs with %d MiB: %s", spec.MemoryMB, tooLittle)
		}
		return results.StatusBroken, why
	case b.TimedOut:
		return results.StatusBroken, fmt.Sprintf("timed out after %v (killed) with %d cases received", spec.Timeout, len(s.Cases))
	}
	if ok, why := s.Complete(); !ok {
		switch {
		case strings.HasPrefix(b.Exit, "signal: "):
			why += "; QEMU was killed by a signal from outside llconform (" + b.Exit + ")"
		case b.Exit != "":
			why += "; QEMU " + b.Exit
		}
		if b.Stderr != "" {
			why += "; QEMU said: " + b.Stderr
		}
		return results.StatusBroken, why
	}
	return results.StatusComplete, ""
}

// powerOffNote says why a guest was stopped after its stream ended.
func powerOffNote(b *vm.Boot, spec vm.Spec) string {
	if !b.Stopped && !b.NoPowerOff {
		return ""
	}
	grace := spec.Grace
	if grace == 0 {
		grace = vm.DefaultGrace
	}
	n := "the kernel could not power off (CONFIG_ACPI on x86?)"
	if b.NoPowerOff {
		n += ": it halted instead"
	}
	if b.Stopped {
		n += fmt.Sprintf("; llconform stopped it %v after its done record", grace)
	}
	return n
}

// unexplained is the first console trouble line that the kernel is not
// documented to print: the agent's header lists the warnings of errata
// the kernel's mask says it lacks (their cases are judged known).
func unexplained(troubles []string, s *protocol.Stream) string {
	var known []*regexp.Regexp
	if s.Header != nil {
		for _, k := range s.Header.KnownConsole {
			if re, err := regexp.Compile(k); err == nil {
				known = append(known, re)
			}
		}
	}
next:
	for _, l := range troubles {
		for _, re := range known {
			if re.MatchString(l) {
				continue next
			}
		}
		return l
	}
	return ""
}

// initramfsLost matches the console lines of a kernel that could not
// unpack its initramfs, which the measured low-memory boots showed (5.10
// with 64 MiB: "Initramfs unpacking failed: invalid magic", then "VFS:
// Unable to mount root fs"). The image itself was verified on the host.
var initramfsLost = regexp.MustCompile(`Initramfs unpacking failed|Unable to mount root fs`)

// catalogCase checks the kernel's Landlock state and ABI against what its
// catalog entry (or --expect-abi) promises.
func catalogCase(t Target, kr results.KernelRun) (results.Case, bool) {
	return results.StateCase(t.ExpectedStatus, t.ExpectedABI, kr.Env)
}

// mergeEnv adds the host-side facts to the guest's header.
func mergeEnv(guest, host results.Env) results.Env {
	guest.Kernel = host.Kernel
	guest.Package, guest.PackageVersion, guest.Suite, guest.SHA256 = host.Package, host.PackageVersion, host.Suite, host.SHA256
	guest.ExpectedABI, guest.Accel, guest.CPU = host.ExpectedABI, host.Accel, host.CPU
	return guest
}

// flags names the kernel-level anomalies: a kernel that reports another
// Landlock state or ABI than its catalog entry, or an ABI newer than the
// suites know.
func flags(t Target, kr results.KernelRun) []string {
	var f []string
	if kr.Env.LandlockStatus == "" {
		return nil
	}
	if m := results.StateMismatch(t.ExpectedStatus, t.ExpectedABI, kr.Env); m != "" {
		f = append(f, m)
	}
	if want := vm.GuestUname(t.Architecture()); kr.Env.Arch != "" && want != "" && kr.Env.Arch != want {
		f = append(f, fmt.Sprintf("architecture mismatch: booted as %s (%s), the guest reports %s", t.Architecture(), want, kr.Env.Arch))
	}
	if kr.Env.ABI > check.NewestABI {
		f = append(f, fmt.Sprintf("newer ABI %d: only the cases of ABI ≤ %d exist, not fully covered", kr.Env.ABI, check.NewestABI))
	}
	return f
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}
