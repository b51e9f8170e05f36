package kernels

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/internal/diskio"
	"github.com/llconform/llconform/landlock"
	"github.com/ulikunitz/xz"
)

// Kernel is a bootable kernel image and where it came from.
type Kernel struct {
	Name           string    // catalog or user-given name
	Flavour        string    // Debian's kernel flavour (cloud, generic, rt, ...); "" for the user's own
	Arch           arch.Arch // of the image: amd64 or arm64
	Image          string    // path of the image (an x86 bzImage, an arm64 Image)
	Package        string    // Debian package, or the user's .deb file name
	Version        string    // package version, or the release in the image header
	Suite          string    // Debian suite the package was resolved in; "" for the user's own
	DebSHA256      string
	ImageSHA256    string
	Cmdline        string         // additions to the kernel command line
	ExpectedStatus landlock.State // "" when unknown
	ExpectedABI    *int           // nil when unknown (detected at run time)
	DownloadBytes  int64          // size of the .deb when it was downloaded
	Download       time.Duration
	Cached         bool // true: nothing was downloaded for this kernel now
}

// Fetcher resolves catalog entries in Debian's signed index and downloads
// their kernels into a cache. Its methods are safe for concurrent use.
type Fetcher struct {
	Mirror      string        // Debian archive URL; default LLCONFORM_MIRROR, else the apt sources
	Keyring     string        // default LLCONFORM_KEYRING, else DefaultKeyring
	CacheDir    string        // default $LLCONFORM_CACHE/kernels, else <user cache>/llconform/kernels
	Progress    io.Writer     // downloads and notices; nil for silence
	Client      *http.Client  // default: a client with a 10 minute timeout
	IndexMaxAge time.Duration // reuse a verified index this long; 0 means 12 h, < 0 never

	mu      sync.Mutex
	keys    openpgp.EntityList
	working map[string]*sync.Mutex // one download or index refresh per key at a time
	warned  map[string]bool        // warnings already given, once per Fetcher
}

const defaultIndexMaxAge = 12 * time.Hour

// packagesPath is the index we read for every suite and architecture; the
// InRelease lists it with its hash.
func packagesPath(a arch.Arch) string { return "main/binary-" + string(a) + "/Packages.xz" }

// indexFilter keeps the kernel stanzas of a suite, a few hundred of the
// tens of thousands, so that a cached index loads in a millisecond.
var indexFilter = regexp.MustCompile(`^linux-`)

// NewFetcher fills the defaults: LLCONFORM_MIRROR or the machine's apt
// sources, LLCONFORM_KEYRING, LLCONFORM_CACHE or the user cache dir. A
// missing mirror is reported only when the network is actually needed.
func NewFetcher() (*Fetcher, error) {
	cache, err := diskio.CacheDir("kernels")
	if err != nil {
		return nil, err
	}
	f := &Fetcher{Mirror: os.Getenv("LLCONFORM_MIRROR"), Keyring: os.Getenv("LLCONFORM_KEYRING"), CacheDir: cache,
		Client: &http.Client{Timeout: 10 * time.Minute}, IndexMaxAge: defaultIndexMaxAge}
	if f.Keyring == "" {
		f.Keyring = defaultKeyring()
	}
	// The default mirror is chosen (and announced) at first use, after
	// the caller had the chance to set one.
	return f, nil
}

func (f *Fetcher) mirror() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Mirror == "" {
		m, err := MirrorFromApt(aptSourcesDir)
		if err != nil {
			return "", err
		}
		f.Mirror = m
	}
	return strings.TrimRight(f.Mirror, "/"), nil
}

func (f *Fetcher) keyring() (openpgp.EntityList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		path := f.Keyring
		if path == "" {
			path = defaultKeyring()
		}
		k, err := readKeyring(path)
		if err != nil {
			return nil, err
		}
		f.keys = k
	}
	return f.keys, nil
}

func (f *Fetcher) cacheDir() (string, error) {
	if f.CacheDir != "" {
		return f.CacheDir, nil
	}
	return diskio.CacheDir("kernels")
}

// lock serializes work on one key (a suite's index, a package's cache
// entry) within this process; across processes the rename of complete
// entries keeps the cache consistent.
func (f *Fetcher) lock(key string) func() {
	f.mu.Lock()
	if f.working == nil {
		f.working = map[string]*sync.Mutex{}
	}
	m := f.working[key]
	if m == nil {
		m = &sync.Mutex{}
		f.working[key] = m
	}
	f.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Progress != nil {
		fmt.Fprintf(f.Progress, format+"\n", args...)
	}
}

// warnOnce logs a warning the first time this Fetcher meets it: a
// matrix resolving nine entries says once that an index expired.
func (f *Fetcher) warnOnce(msg string) {
	f.mu.Lock()
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	seen := f.warned[msg]
	f.warned[msg] = true
	f.mu.Unlock()
	if !seen {
		f.logf("warning: %s", msg)
	}
}

// unreachableError is a network failure: the one case where a cached
// kernel may stand in for a fresh resolution.
type unreachableError struct {
	mirror string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Debian mirror %s: %v; set LLCONFORM_MIRROR or --mirror", e.mirror, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// IsUnreachable reports whether err is a network failure to reach the
// mirror (offline, or the mirror down), not a wrong answer.
func IsUnreachable(err error) bool { return errors.As(err, new(*unreachableError)) }

// errGone marks a 404: the index named a file the mirror no longer has.
var errGone = errors.New("not on the mirror")

// get downloads mirror/rel into w, reporting progress when label is set.
func (f *Fetcher) get(ctx context.Context, rel string, w io.Writer, total int64, label string) (int64, error) {
	mirror, err := f.mirror()
	if err != nil {
		return 0, err
	}
	url := mirror + "/" + rel
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("mirror URL %q: %w; set LLCONFORM_MIRROR or --mirror", mirror, err)
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &unreachableError{mirror, err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("%s: %s: %w", url, resp.Status, errGone)
	case resp.StatusCode >= 500:
		return 0, &unreachableError{mirror, fmt.Errorf("GET %s: %s", url, resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("GET %s: %s (is %s a Debian archive mirror? set LLCONFORM_MIRROR or --mirror)", url, resp.Status, mirror)
	}
	var p *progress
	if label != "" && f.Progress != nil {
		p = newProgress(w, f.Progress, label, total)
		w = p
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, &unreachableError{mirror, fmt.Errorf("GET %s: %w", url, err)}
	}
	if p != nil {
		p.done()
	}
	return n, nil
}

// suiteIndex is the cached, verified kernel part of a suite's index for
// one architecture.
type suiteIndex struct {
	Mirror     string    `json:"mirror"`
	Suite      string    `json:"suite"`
	Arch       arch.Arch `json:"arch,omitempty"` // "" in caches written before arm64: amd64
	Fetched    time.Time `json:"fetched"`
	Date       time.Time `json:"release_date"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	Packages   []Package `json:"packages"`
}

func (f *Fetcher) maxAge() time.Duration {
	if f.IndexMaxAge == 0 {
		return defaultIndexMaxAge
	}
	return f.IndexMaxAge
}

// indexFile is the cache file of a suite's index for an architecture:
// index/<suite>.json for amd64 (its name before arm64), else
// index/<suite>_<arch>.json.
func indexFile(dir, suite string, a arch.Arch) string {
	if a == arch.AMD64 {
		return filepath.Join(dir, "index", suite+".json")
	}
	return filepath.Join(dir, "index", suite+"_"+string(a)+".json")
}

// index returns the kernel part of a suite's index for an architecture
// from a verified index no older than IndexMaxAge, downloading and
// verifying it if needed (force: always). fresh reports whether it was
// downloaded now.
func (f *Fetcher) index(ctx context.Context, suite string, a arch.Arch, force bool) (si suiteIndex, fresh bool, err error) {
	dir, err := f.cacheDir()
	if err != nil {
		return si, false, err
	}
	defer f.lock("index/" + suite + "/" + string(a))()
	path := indexFile(dir, suite, a)
	if !force {
		var cached suiteIndex
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &cached) == nil && cached.Suite == suite && cached.Arch.OrDefault() == a {
			if age := time.Since(cached.Fetched); age >= 0 && age < f.maxAge() {
				return cached, false, nil
			}
		}
	}
	si, err = f.downloadIndex(ctx, suite, a)
	if err != nil {
		return si, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		b, _ := json.MarshalIndent(si, "", " ")
		if err := diskio.WriteAtomic(path, b, 0o644); err != nil {
			f.logf("note: cannot cache the %s index: %v", suite, err)
		}
	}
	return si, true, nil
}

// expired reports whether the index is past its Valid-Until.
func (si suiteIndex) expired() bool {
	return !si.ValidUntil.IsZero() && time.Now().After(si.ValidUntil)
}

func (f *Fetcher) downloadIndex(ctx context.Context, suite string, ar arch.Arch) (suiteIndex, error) {
	keys, err := f.keyring()
	if err != nil {
		return suiteIndex{}, err
	}
	var inrel bytes.Buffer
	if _, err := f.get(ctx, "dists/"+suite+"/InRelease", &inrel, 0, ""); err != nil {
		if errors.Is(err, errGone) {
			return suiteIndex{}, fmt.Errorf("the mirror has no suite %s (%w): is it a full Debian archive mirror? set LLCONFORM_MIRROR or --mirror", suite, err)
		}
		return suiteIndex{}, err
	}
	rel, err := verifyInRelease(inrel.Bytes(), keys, suite)
	if err != nil {
		return suiteIndex{}, err
	}
	packages := packagesPath(ar)
	want, size, err := rel.hash(packages)
	if err != nil {
		return suiteIndex{}, fmt.Errorf("%s: %w (does the suite carry %s?)", suite, err, ar)
	}
	var buf bytes.Buffer
	buf.Grow(int(size))
	label := "index " + suite
	if ar != arch.AMD64 {
		label += " " + string(ar)
	}
	if _, err := f.get(ctx, "dists/"+suite+"/"+packages, &buf, size, label); err != nil {
		return suiteIndex{}, err
	}
	if got := sha256Hex(buf.Bytes()); got != want {
		return suiteIndex{}, fmt.Errorf("corrupted download of the %s index (%s): sha256 %s, want %s; nothing kept, run again", suite, packages, got, want)
	}
	r, err := xz.NewReader(&buf)
	if err != nil {
		return suiteIndex{}, fmt.Errorf("the %s index: %w", suite, err)
	}
	pkgs, err := parsePackages(bufio.NewReaderSize(r, 1<<20), indexFilter)
	if err != nil {
		return suiteIndex{}, fmt.Errorf("parsing the %s index: %w", suite, err)
	}
	m, _ := f.mirror()
	si := suiteIndex{Mirror: m, Suite: suite, Arch: ar, Fetched: time.Now().UTC(), Date: rel.date, ValidUntil: rel.until, Packages: pkgs}
	if ar == arch.AMD64 {
		si.Arch = "" // the cache file keeps the form older llconform versions read
	}
	return si, nil
}

// Resolve finds the package of the entry in the signed indexes of its
// suites: the newest released package across them, or the newest
// pre-release (an upstream version with ~rc) when no suite has a release.
// An index past its Valid-Until still counts, after every valid one, and
// the Progress writer names it.
func (f *Fetcher) Resolve(ctx context.Context, e Entry) (Package, error) {
	p, _, err := f.resolve(ctx, e, false)
	return p, err
}

// candidate is a matching package and what ranks it.
type candidate struct {
	Package
	released, valid bool
}

// better ranks a release above a pre-release, a valid index above an
// expired one, and then the higher version.
func (c candidate) better(o candidate) bool {
	if c.released != o.released {
		return c.released
	}
	if c.valid != o.valid {
		return c.valid
	}
	return CompareVersions(c.Version, o.Version) > 0
}

// PreRelease reports whether a Debian version is a release candidate
// (7.3~rc7-1~exp1). A backport's ~bpo is in the revision, not upstream.
func PreRelease(version string) bool {
	_, upstream, _ := splitVersion(version)
	return strings.Contains(upstream, "~rc")
}

func (f *Fetcher) resolve(ctx context.Context, e Entry, force bool) (Package, bool, error) {
	re, err := regexp.Compile(e.Package)
	if err != nil {
		return Package{}, false, fmt.Errorf("kernel %s: package pattern: %w", e.Name, err)
	}
	var (
		best    *candidate
		fresh   bool
		missing []error // suites the mirror does not have
		expired = map[string]time.Time{}
	)
	for _, suite := range e.Suites {
		si, downloaded, err := f.index(ctx, suite, e.Arch.OrDefault(), force)
		if errors.Is(err, errGone) {
			missing = append(missing, err)
			continue
		}
		if err != nil {
			return Package{}, false, err
		}
		fresh = fresh || downloaded
		if si.expired() {
			expired[suite] = si.ValidUntil
		}
		for _, p := range si.Packages {
			if !re.MatchString(p.Name) || (e.Version != "" && p.Version != e.Version) {
				continue
			}
			p.Suite = suite
			c := candidate{p, !PreRelease(p.Version), !si.expired()}
			if best == nil || c.better(*best) {
				best = &c
			}
		}
	}
	for _, suite := range e.Suites {
		until, ok := expired[suite]
		if !ok {
			continue
		}
		msg := fmt.Sprintf("the %s index expired on %s (Valid-Until): the mirror is out of date for %s", suite, until.Format(time.DateOnly), suite)
		switch {
		case best != nil && best.Suite == suite:
			msg += fmt.Sprintf("; %s resolves to %s %s from it; update the mirror (LLCONFORM_MIRROR or --mirror) or the catalog", e.Name, best.Name, best.Version)
		case best != nil:
			msg += fmt.Sprintf("; %s uses %s from %s", e.Name, best.Version, best.Suite)
		}
		f.warnOnce(msg)
	}
	if best == nil {
		if len(missing) > 0 {
			return Package{}, false, errors.Join(missing...)
		}
		return Package{}, false, noPackageError{fmt.Sprintf("kernel %s: no package matching %s in %s (%s): the series left the archive; update the catalog or use --kernel with your own", e.Name, e.Package, strings.Join(e.Suites, ", "), e.Arch.OrDefault())}
	}
	for _, err := range missing {
		f.warnOnce(fmt.Sprintf("%s: %v; using %s", e.Name, err, best.Suite))
	}
	if !best.released {
		f.warnOnce(fmt.Sprintf("%s: no released package in %s: using the pre-release %s %s", e.Name, strings.Join(e.Suites, ", "), best.Name, best.Version))
	}
	return best.Package, fresh, nil
}

// Fetch resolves the entry and returns its kernel, downloading and
// verifying it unless the cache has it. If the mirror cannot be reached,
// the newest cached kernel of the entry is used, and the Progress writer
// says so.
func (f *Fetcher) Fetch(ctx context.Context, e Entry) (Kernel, error) {
	k := Kernel{Name: e.Name, Flavour: e.Flavour, Arch: e.Arch.OrDefault(), Cmdline: e.Cmdline, ExpectedStatus: e.Status}
	if e.Status != "" { // a Debian package of a series the catalog lacks expects nothing
		abi := e.ABI
		k.ExpectedABI = &abi
	}
	dir, err := f.cacheDir()
	if err != nil {
		return k, err
	}
	got, err := f.fetch(ctx, k, e)
	if err == nil {
		return got, nil
	}
	var unreachable *unreachableError
	if errors.As(err, &unreachable) {
		if m, kdir, ok := newestCached(dir, e); ok {
			f.logf("%s: %v\n%s: using the cached %s %s instead (it may not be the newest)", e.Name, err, e.Name, m.Package, m.Version)
			return withMeta(k, m, kdir, true), nil
		}
	}
	return k, fmt.Errorf("kernel %s: %w", e.Name, err)
}

func (f *Fetcher) fetch(ctx context.Context, k Kernel, e Entry) (Kernel, error) {
	p, fresh, err := f.resolve(ctx, e, false)
	if err != nil {
		return k, err
	}
	got, err := f.fetchPackage(ctx, k, e, p)
	if errors.Is(err, errGone) && !fresh {
		// The cached index is older than the mirror's pool: refresh it once.
		f.logf("%s: %s %s is gone from the mirror; refreshing the %s index", e.Name, p.Name, p.Version, p.Suite)
		if p, _, err = f.resolve(ctx, e, true); err != nil {
			return k, err
		}
		got, err = f.fetchPackage(ctx, k, e, p)
	}
	return got, err
}

func (f *Fetcher) fetchPackage(ctx context.Context, k Kernel, e Entry, p Package) (Kernel, error) {
	cache, err := f.cacheDir()
	if err != nil {
		return k, err
	}
	dir := kernelDir(cache, p)
	defer f.lock(dir)()
	switch m, err := checkEntry(dir); {
	case err == nil && m.DebSHA256 == p.SHA256:
		return withMeta(k, m, dir, true), nil
	case err == nil:
		f.logf("%s: the cached %s %s came from another .deb than the index lists now: fetching again", e.Name, p.Name, p.Version)
	case !errors.Is(err, fs.ErrNotExist):
		f.logf("%s: the cached %s %s %v: fetching again", e.Name, p.Name, p.Version, err)
	}
	m, err := f.download(ctx, cache, e, p)
	if err != nil {
		return k, err
	}
	if err := publish(m.staging, dir); err != nil {
		return k, fmt.Errorf("caching %s: %w", p.Name, err)
	}
	return withMeta(k, m.meta, dir, false), nil
}

func withMeta(k Kernel, m meta, dir string, cached bool) Kernel {
	k.Image = filepath.Join(dir, "vmlinuz")
	k.Package, k.Version, k.Suite, k.DebSHA256, k.ImageSHA256 = m.Package, m.Version, m.Suite, m.DebSHA256, m.ImageSHA256
	k.DownloadBytes, k.Download, k.Cached = m.DebSize, time.Duration(m.DownloadMS)*time.Millisecond, cached
	return k
}

type staged struct {
	meta
	staging string // complete cache entry, ready to publish
}

// download fetches the .deb into a staging directory, checks it against
// the signed index and extracts the image. Nothing outside the staging
// directory is touched, and it is removed on any failure.
func (f *Fetcher) download(ctx context.Context, cache string, e Entry, p Package) (s staged, err error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return s, err
	}
	staging, err := os.MkdirTemp(cache, ".staging-")
	if err != nil {
		return s, err
	}
	os.Chmod(staging, 0o755) // it becomes the entry: readable like the rest of the cache
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	debPath := filepath.Join(staging, "package.deb")
	deb, err := os.Create(debPath)
	if err != nil {
		return s, err
	}
	defer deb.Close()
	h := sha256.New()
	start := time.Now()
	n, err := f.get(ctx, p.Filename, io.MultiWriter(deb, h), p.Size, fmt.Sprintf("%s (%s %s)", e.Name, p.Name, p.Version))
	if err != nil {
		return s, err
	}
	took := time.Since(start)
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return s, fmt.Errorf("corrupted download of %s %s: sha256 %s, want %s (%d bytes, index says %d); deleted, run again", p.Name, p.Version, got, p.SHA256, n, p.Size)
	}
	if _, err := deb.Seek(0, io.SeekStart); err != nil {
		return s, err
	}
	img, member, err := extractVmlinuz(bufio.NewReaderSize(deb, 1<<20))
	if err != nil {
		return s, fmt.Errorf("%s %s: %w", p.Name, p.Version, err)
	}
	if err := checkImage(fmt.Sprintf("%s in %s %s", member, p.Name, p.Version), e.Arch.OrDefault(), img); err != nil {
		return s, err
	}
	deb.Close()
	if err := os.Remove(debPath); err != nil {
		return s, err
	}
	mirror, _ := f.mirror()
	m := meta{Suite: p.Suite, Arch: e.Arch.OrDefault(), Package: p.Name, Version: p.Version, DebSHA256: p.SHA256, DebSize: n,
		ImageSHA256: sha256Hex(img), ImageSize: int64(len(img)), ImagePath: member,
		DownloadMS: took.Milliseconds(), DownloadedAt: time.Now().UTC(), DownloadedURL: mirror + "/" + p.Filename}
	if err := diskio.WriteAtomic(filepath.Join(staging, "vmlinuz"), img, 0o644); err != nil {
		return s, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := diskio.WriteAtomic(filepath.Join(staging, "meta.json"), b, 0o644); err != nil {
		return s, err
	}
	return staged{m, staging}, nil
}
