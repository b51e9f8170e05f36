package matrix

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/results"
)

// State is where a kernel of a running matrix is.
type State string

const (
	StateBooting State = "booting"
	StateRunning State = "running"
	StateNotRun        = State(results.StatusNotRun)
)

// Event is one step of a kernel: its state, and the case counts once the
// agent announced its plan (Total 0 until then). An event with a Note
// and no Kernel is a notice about the run (e.g. a damaged cache entry
// rebuilt).
type Event struct {
	Note                    string
	Kernel                  string
	State                   State
	Attempt                 int // 1, or 2 for the retry
	Done, Total, Pass, Fail int
}

// Progress receives live events; it is called from several goroutines.
type Progress func(Event)

// liveCount turns the stream of one boot into running counts.
type liveCount struct {
	mu       sync.Mutex
	kernel   string
	progress Progress
	ev       Event
}

func newLiveCount(kernel string, p Progress) *liveCount {
	return &liveCount{kernel: kernel, progress: p, ev: Event{Kernel: kernel, State: StateRunning}}
}

func (l *liveCount) event(ev protocol.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev.Type {
	case protocol.EventHeader:
		l.ev.Total = ev.Env.PlannedCases
	case protocol.EventCase:
		l.ev.Done++
		switch ev.Case.Verdict {
		case results.Pass:
			l.ev.Pass++
		case results.Fail, results.Broken:
			l.ev.Fail++
		}
	default:
		return
	}
	l.progress(l.ev)
}

// Printer shows progress on w: one line per state change, or, on a
// terminal (tty), one status line redrawn at most five times a second.
// finish clears the status line.
func Printer(w io.Writer, tty bool, kernels []string) (p Progress, finish func()) {
	pr := &printer{w: w, state: map[string]string{}, names: kernels, tty: tty}
	for _, k := range kernels {
		pr.state[k] = "queued"
	}
	return pr.update, pr.finish
}

type printer struct {
	mu    sync.Mutex
	w     io.Writer
	state map[string]string
	names []string
	tty   bool
	last  time.Time
}

func (p *printer) update(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Kernel == "" {
		if e.Note != "" {
			if p.tty {
				fmt.Fprint(p.w, "\r\033[K")
			}
			fmt.Fprintf(p.w, "note: %s\n", e.Note)
		}
		return
	}
	s := string(e.State)
	if e.Attempt > 1 {
		s += fmt.Sprintf(" (attempt %d)", e.Attempt)
	}
	if e.Total > 0 || e.Done > 0 {
		of := ""
		if e.Total > 0 {
			of = fmt.Sprintf("/%d", e.Total)
		}
		s = fmt.Sprintf("%s %d%s cases (%d pass, %d fail)", s, e.Done, of, e.Pass, e.Fail)
	}
	changed := !strings.HasPrefix(p.state[e.Kernel], string(e.State))
	p.state[e.Kernel] = s
	if p.tty {
		if time.Since(p.last) < 200*time.Millisecond && e.State == StateRunning {
			return
		}
		p.last = time.Now()
		var parts []string
		for _, n := range p.names {
			parts = append(parts, n+": "+p.state[n])
		}
		line := strings.Join(parts, " | ")
		if len(line) > 200 {
			line = line[:199] + "…"
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if changed || e.State != StateRunning {
		fmt.Fprintf(p.w, "%-16s %s\n", e.Kernel, s)
	}
}

func (p *printer) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
