package kernels

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Kernel is a bootable kernel image and where it came from.
type Kernel struct {
	Name           string
	Image          string // path of the bzImage
	Package        string
	Version        string
	DebSHA256      string
	ImageSHA256    string
	Cmdline        string
	ExpectedStatus string // "" when unknown
	ExpectedABI    *int
	DownloadBytes  int64
	Download       time.Duration
	Cached         bool
}

// Fetcher resolves catalog entries in Debian's signed index and downloads
// their kernels into a cache.
type Fetcher struct {
	Mirror      string        // e.g. http://deb.debian.org/debian (read from apt sources by default)
	Keyring     string        // Debian archive keyring
	CacheDir    string        // <user cache>/llconform/kernels
	Progress    io.Writer     // download progress, may be nil
	Client      *http.Client  // default: 10 minute timeout
	IndexMaxAge time.Duration // reuse a verified index this long (default 12 h)
}

// NewFetcher fills the defaults: LLCONFORM_MIRROR or the machine's apt
// sources, LLCONFORM_KEYRING, LLCONFORM_CACHE or the user cache dir.
func NewFetcher() (*Fetcher, error) {
	f := &Fetcher{Mirror: os.Getenv("LLCONFORM_MIRROR"), Keyring: os.Getenv("LLCONFORM_KEYRING"),
		Client: &http.Client{Timeout: 10 * time.Minute}, IndexMaxAge: 12 * time.Hour}
	if f.Keyring == "" {
		f.Keyring = DefaultKeyring
	}
	if d := os.Getenv("LLCONFORM_CACHE"); d != "" {
		f.CacheDir = filepath.Join(d, "kernels")
	} else {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, err
		}
		f.CacheDir = filepath.Join(d, "llconform", "kernels")
	}
	return f, nil
}

func (f *Fetcher) mirror() (string, error) {
	if f.Mirror != "" {
		return strings.TrimRight(f.Mirror, "/"), nil
	}
	m, err := MirrorFromApt("/etc/apt")
	if err != nil {
		return "", err
	}
	f.Mirror = m
	return m, nil
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Progress != nil {
		fmt.Fprintf(f.Progress, format+"\n", args...)
	}
}

// get downloads url, calling progress with the bytes so far.
func (f *Fetcher) get(ctx context.Context, url string, w io.Writer, total int64, label string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach the Debian mirror %s: %w (set LLCONFORM_MIRROR or --mirror)", f.Mirror, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if label == "" || f.Progress == nil {
		return io.Copy(w, resp.Body)
	}
	pw := &progressWriter{w: w, total: total, label: label, out: f.Progress, last: time.Now()}
	n, err := io.Copy(pw, resp.Body)
	pw.report(true)
	return n, err
}

type progressWriter struct {
	w          io.Writer
	n, total   int64
	label      string
	out        io.Writer
	last       time.Time
	lastReport int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if time.Since(p.last) > time.Second {
		p.report(false)
	}
	return n, err
}

func (p *progressWriter) report(final bool) {
	if p.n == p.lastReport && !final {
		return
	}
	p.last, p.lastReport = time.Now(), p.n
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" %3d%%", 100*p.n/p.total)
	}
	state := "downloading"
	if final {
		state = "downloaded"
	}
	fmt.Fprintf(p.out, "  %s %s: %.1f MiB%s\n", state, p.label, float64(p.n)/(1<<20), pct)
}

// index returns the linux kernel packages of a suite, from a verified
// index no older than IndexMaxAge. Only the kernel stanzas are cached, so
// a second resolution reads a few kilobytes.
func (f *Fetcher) index(ctx context.Context, suite string) ([]Package, error) {
	dir := filepath.Join(f.CacheDir, "index", suite)
	cached := filepath.Join(dir, "kernel-packages.json")
	if st, err := os.Stat(cached); err == nil && time.Since(st.ModTime()) < f.IndexMaxAge {
		var pkgs []Package
		if b, err := os.ReadFile(cached); err == nil && json.Unmarshal(b, &pkgs) == nil {
			return pkgs, nil
		}
	}
	mirror, err := f.mirror()
	if err != nil {
		return nil, err
	}
	var inrel strings.Builder
	if _, err := f.get(ctx, mirror+"/dists/"+suite+"/InRelease", &inrel, 0, ""); err != nil {
		return nil, err
	}
	release, err := verifyInRelease([]byte(inrel.String()), f.Keyring)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", suite, err)
	}
	const pkgPath = "main/binary-amd64/Packages.xz"
	want, size, err := releaseHash(release, pkgPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", suite, err)
	}
	var buf bytesBuffer
	if _, err := f.get(ctx, mirror+"/dists/"+suite+"/"+pkgPath, &buf, size, ""); err != nil {
		return nil, err
	}
	if err := checkSHA256(buf.b, want); err != nil {
		return nil, fmt.Errorf("corrupted index %s/%s: %w; run again", suite, pkgPath, err)
	}
	r, err := unxz(buf.b)
	if err != nil {
		return nil, err
	}
	pkgs, err := parsePackages(bufio.NewReaderSize(r, 1<<20), regexp.MustCompile(`^linux-(image|binary)-`))
	if err != nil {
		return nil, fmt.Errorf("parsing the %s index: %w", suite, err)
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		b, _ := json.Marshal(pkgs)
		writeAtomic(cached, b)
	}
	return pkgs, nil
}

type bytesBuffer struct{ b []byte }

func (b *bytesBuffer) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }

// Resolve finds the newest package of the entry in its suite.
func (f *Fetcher) Resolve(ctx context.Context, e Entry) (Package, error) {
	pkgs, err := f.index(ctx, e.Suite)
	if err != nil {
		return Package{}, err
	}
	re := regexp.MustCompile(e.Package)
	var match []Package
	for _, p := range pkgs {
		if re.MatchString(p.Name) {
			match = append(match, p)
		}
	}
	p, ok := newest(match)
	if !ok {
		return Package{}, fmt.Errorf("kernel %s: no package matching %s in %s", e.Name, e.Package, e.Suite)
	}
	return p, nil
}

// meta is what the cache keeps next to each kernel image.
type meta struct {
	Suite, Package, Version, DebSHA256, ImageSHA256 string
	DownloadBytes                                   int64
	DownloadMS                                      int64
}

// Fetch resolves the entry and returns its kernel, downloading and
// verifying it unless the cache has it. If the mirror cannot be reached,
// the newest cached kernel of the entry is used (and said so).
func (f *Fetcher) Fetch(ctx context.Context, e Entry) (Kernel, error) {
	k := Kernel{Name: e.Name, Cmdline: e.Cmdline, ExpectedStatus: e.Status}
	if e.Status == "enabled" {
		abi := e.ABI
		k.ExpectedABI = &abi
	}
	p, err := f.Resolve(ctx, e)
	if err != nil {
		if m, dir, ok := f.newestCached(e); ok {
			f.logf("%s: %v; using the cached %s %s", e.Name, err, m.Package, m.Version)
			return f.fromCache(k, m, dir), nil
		}
		return k, err
	}
	dir := filepath.Join(f.CacheDir, p.Name+"_"+p.Version)
	if m, ok := readMeta(dir); ok && m.DebSHA256 == p.SHA256 {
		return f.fromCache(k, m, dir), nil
	}
	m, err := f.download(ctx, e, p, dir)
	if err != nil {
		return k, err
	}
	k = f.fromCache(k, m, dir)
	k.Cached = false
	return k, nil
}

func (f *Fetcher) fromCache(k Kernel, m meta, dir string) Kernel {
	k.Image = filepath.Join(dir, "vmlinuz")
	k.Package, k.Version, k.DebSHA256, k.ImageSHA256 = m.Package, m.Version, m.DebSHA256, m.ImageSHA256
	k.DownloadBytes, k.Download, k.Cached = m.DownloadBytes, time.Duration(m.DownloadMS)*time.Millisecond, true
	return k
}

func (f *Fetcher) download(ctx context.Context, e Entry, p Package, dir string) (meta, error) {
	mirror, err := f.mirror()
	if err != nil {
		return meta{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return meta{}, err
	}
	tmp, err := os.CreateTemp(dir, "download-*.deb")
	if err != nil {
		return meta{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	start := time.Now()
	n, err := f.get(ctx, mirror+"/"+p.Filename, io.MultiWriter(tmp, h), p.Size, fmt.Sprintf("%s (%s %s)", e.Name, p.Name, p.Version))
	if err != nil {
		return meta{}, err
	}
	took := time.Since(start)
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return meta{}, fmt.Errorf("corrupted download of %s %s: sha256 %s, want %s; deleted, run again", p.Name, p.Version, got, p.SHA256)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return meta{}, err
	}
	img, member, err := extractVmlinuz(bufio.NewReaderSize(tmp, 1<<20))
	if err != nil {
		return meta{}, fmt.Errorf("%s %s: %w", p.Name, p.Version, err)
	}
	if !isBzImage(img) {
		return meta{}, fmt.Errorf("%s in %s is not an x86 bzImage", member, p.Name)
	}
	sum := sha256.Sum256(img)
	m := meta{Suite: e.Suite, Package: p.Name, Version: p.Version, DebSHA256: p.SHA256, ImageSHA256: hex.EncodeToString(sum[:]),
		DownloadBytes: n, DownloadMS: took.Milliseconds()}
	if err := writeAtomic(filepath.Join(dir, "vmlinuz"), img); err != nil {
		return meta{}, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return m, writeAtomic(filepath.Join(dir, "meta.json"), b)
}

func readMeta(dir string) (meta, bool) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	if _, err := os.Stat(filepath.Join(dir, "vmlinuz")); err != nil {
		return m, false
	}
	return m, true
}

// newestCached finds the newest cached kernel of an entry.
func (f *Fetcher) newestCached(e Entry) (meta, string, bool) {
	re := regexp.MustCompile(e.Package)
	dirs, _ := os.ReadDir(f.CacheDir)
	var best meta
	var bestDir string
	for _, d := range dirs {
		dir := filepath.Join(f.CacheDir, d.Name())
		m, ok := readMeta(dir)
		if !ok || m.Suite != e.Suite || !re.MatchString(m.Package) {
			continue
		}
		if bestDir == "" || CompareVersions(m.Version, best.Version) > 0 {
			best, bestDir = m, dir
		}
	}
	return best, bestDir, bestDir != ""
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errNoMirror is returned when no Debian mirror is configured anywhere.
var errNoMirror = errors.New("no Debian mirror in the apt sources (/etc/apt): set LLCONFORM_MIRROR or --mirror to a Debian archive URL")
