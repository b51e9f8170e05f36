package kernels

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// progressEvery throttles progress lines: a download of a few seconds gets
// a handful of lines, not thousands.
const progressEvery = time.Second

// progress counts the bytes written through it and reports them on out: a
// line per progressEvery, or one line rewritten in place on a terminal.
type progress struct {
	w        io.Writer
	out      io.Writer
	tty      bool
	label    string
	n, total int64
	start    time.Time
	last     time.Time
	now      func() time.Time // the clock, replaceable in tests
}

func newProgress(w, out io.Writer, label string, total int64) *progress {
	p := &progress{w: w, out: out, tty: isTerminal(out), label: label, total: total, now: time.Now}
	p.start = p.now()
	p.last = p.start
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if now := p.now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.report("downloading")
	}
	return n, err
}

// done prints the final line (and ends the in-place line on a terminal).
func (p *progress) done() { p.report("downloaded") }

func (p *progress) report(state string) {
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" of %.1f MiB (%d%%)", mib(p.total), 100*p.n/p.total)
	}
	line := fmt.Sprintf("  %s %s: %.1f MiB%s in %.1fs", state, p.label, mib(p.n), pct, p.now().Sub(p.start).Seconds())
	switch {
	case !p.tty:
		fmt.Fprintln(p.out, line)
	case state == "downloaded":
		fmt.Fprintf(p.out, "\r\033[K%s\n", line)
	default:
		fmt.Fprintf(p.out, "\r\033[K%s", line)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
