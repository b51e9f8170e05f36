package results

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// termWidth is the width the terminal report is laid out for.
const termWidth = 100

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiWarn   = "\x1b[1;33m"
	ansiKnown  = "\x1b[36m"
	ansiRed    = "\x1b[1;31m"
	ansiBroken = "\x1b[1;37;45m" // white on magenta: must not pass for a fail
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

// Terminal prints the matrix (kernels as columns, areas as rows; one table
// per architecture, titled with it), then every cell that is not a pass
// with its cases, the kernel flags and the totals line.
func Terminal(w io.Writer, run *Run, color bool) error {
	m := NewMatrix(run)
	t := &termWriter{color: color}
	t.header(run)
	t.baseline(run)
	t.table(m)
	t.problems(m)
	t.flags(m)
	t.notes(m)
	t.pruned(m)
	t.line(t.paint(ansiBold, m.TotalsLine()))
	if run.Incomplete {
		t.line(t.paint(ansiRed, "run incomplete: interrupted or kernels missing"))
	}
	_, err := io.WriteString(w, t.b.String())
	return err
}

type termWriter struct {
	b     strings.Builder
	color bool
}

func (t *termWriter) line(s string) { t.b.WriteString(s + "\n") }

func (t *termWriter) paint(code, s string) string {
	if !t.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *termWriter) header(run *Run) {
	s := "llconform run " + run.ID
	if !run.Started.IsZero() {
		s += ", " + run.Started.UTC().Format("2006-01-02 15:04:05Z")
		if !run.Finished.IsZero() {
			s += " (" + run.Finished.Sub(run.Started).Round(time.Second).String() + ")"
		}
	}
	if run.Host.Hostname != "" {
		s += " on " + run.Host.Hostname
	}
	t.line(t.paint(ansiBold, s))
	t.line("")
}

func verdictColor(v Verdict, empty bool) string {
	switch {
	case v == Broken:
		return ansiBroken
	case empty:
		return ansiDim
	case v == Fail:
		return ansiRed
	case v == Pass:
		return ansiGreen
	case v == Warn:
		return ansiWarn
	case v == Known:
		return ansiKnown
	}
	return ansiYellow
}

func (t *termWriter) table(m *Matrix) {
	if len(m.Kernels) == 0 {
		t.line("no kernels in this run")
		t.line("")
		return
	}
	for _, g := range m.Groups {
		t.line(t.paint(ansiBold, GroupTitle(g)))
		t.groupTable(m, g)
	}
}

// groupTable is the table of one architecture's columns.
func (t *termWriter) groupTable(m *Matrix, g Group) {
	kernels := m.Kernels[g.Start:g.End]
	areaW := len("kernel")
	for _, a := range m.Areas {
		areaW = max(areaW, utf8.RuneCountInString(a))
	}
	type col struct {
		name []string
		abi  string
		min  int // widest label or ABI line: never narrower
		w    int
	}
	const gap = 2
	cols := make([]col, len(kernels))
	total := areaW
	for i, k := range kernels {
		c := col{abi: ABILabel(k.Env)}
		if len(k.Flags) > 0 {
			c.abi += "*"
		}
		c.min = utf8.RuneCountInString(c.abi)
		for a := range m.Areas {
			c.min = max(c.min, len(m.Cells[a][g.Start+i].Label()))
		}
		c.w = max(c.min, utf8.RuneCountInString(k.Name))
		total += gap + c.w
		cols[i] = c
	}
	// Long kernel names wrap onto several header lines, the longest first,
	// until the table fits termWidth (nine kernels must).
	for total > termWidth {
		widest := -1
		for i, c := range cols {
			if c.w > c.min && (widest < 0 || c.w > cols[widest].w) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		cols[widest].w--
		total--
	}
	nameLines := 1
	for i, k := range kernels {
		cols[i].name = wrapName(k.Name, cols[i].w)
		nameLines = max(nameLines, len(cols[i].name))
	}
	pad := func(s string, w int) string {
		return s + strings.Repeat(" ", max(0, w-utf8.RuneCountInString(s)))
	}
	sep := strings.Repeat(" ", gap)
	// Padding goes outside the colour codes, and none after the last
	// column, so no line ends in spaces.
	trail := func(i, n int) string {
		if i == len(cols)-1 {
			return ""
		}
		return strings.Repeat(" ", n)
	}
	for l := 0; l < nameLines; l++ {
		first := ""
		if l == nameLines-1 {
			first = "kernel"
		}
		s := pad(first, areaW)
		for i, c := range cols {
			n := ""
			// Bottom-align names so the ABI line sits right under them.
			if j := l - (nameLines - len(c.name)); j >= 0 {
				n = c.name[j]
			}
			s += sep + t.paint(ansiBold, n) + trail(i, c.w-utf8.RuneCountInString(n))
		}
		t.line(strings.TrimRight(s, " "))
	}
	s := pad("", areaW)
	for _, c := range cols {
		s += sep + pad(c.abi, c.w)
	}
	t.line(strings.TrimRight(s, " "))
	s = strings.Repeat("-", areaW)
	for _, c := range cols {
		s += sep + strings.Repeat("-", c.w)
	}
	t.line(s)
	for a, area := range m.Areas {
		s := pad(area, areaW)
		for i, c := range cols {
			cell := m.Cells[a][g.Start+i]
			s += sep + t.paint(verdictColor(cell.Verdict, cell.Empty()), cell.Label()) + trail(i, c.w-len(cell.Label()))
		}
		t.line(strings.TrimRight(s, " "))
	}
	if len(m.Areas) == 0 {
		t.line("(no cases received from any kernel)")
	}
	t.line("")
}

// wrapName splits a name into lines of at most w runes, breaking after
// '-', '_', '.', '/' or '+' when it can.
func wrapName(name string, w int) []string {
	r := []rune(name)
	var out []string
	for len(r) > w {
		cut := w
		for i := w; i > w/2; i-- {
			if strings.ContainsRune("-_./+", r[i-1]) {
				cut = i
				break
			}
		}
		out = append(out, string(r[:cut]))
		r = r[cut:]
	}
	return append(out, string(r))
}

// kernelTitle is "6.12/amd64 (ABI 6)".
func kernelTitle(k *KernelRun) string {
	return k.Key() + " (" + ABILabel(k.Env) + ")"
}

func (t *termWriter) problems(m *Matrix) {
	var out []string
	for i, k := range m.Kernels {
		cells := m.KernelCells(i)
		if r, why := k.Retried(); r && !k.Broken() {
			out = append(out, wrap(t.paint(ansiWarn, "RETRIED")+" "+kernelTitle(k)+": the first boot was "+why+"; the retry completed", "", "    ")...)
		}
		if k.Broken() {
			out = append(out, t.paint(ansiBroken, k.StatusLabel())+" "+kernelTitle(k)+": "+k.BrokenReason())
			for _, a := range k.Attempts {
				s := "attempt: " + string(a.Status)
				if a.Reason != "" {
					s += ": " + a.Reason
				}
				if len(a.Cases) > 0 {
					s += fmt.Sprintf(" (%d cases received, kept in results.json)", len(a.Cases))
				}
				if a.ConsoleLog != "" {
					s += "; console " + a.ConsoleLog
				}
				out = append(out, wrap(s, "    ", "      ")...)
			}
			if tail := lastLines(lastConsoleTail(k), 5); len(tail) > 0 {
				out = append(out, "    console tail:")
				for _, l := range tail {
					out = append(out, "      "+clip(l, termWidth-6))
				}
			}
			for _, c := range cells {
				out = append(out, t.caseLines(c.Problems(), 4)...)
			}
			continue
		}
		for _, c := range cells {
			if c.Verdict == Pass || c.Empty() {
				continue
			}
			head := t.paint(verdictColor(c.Verdict, false), c.Label()) + " " + kernelTitle(k) + " " + c.Area + ": "
			out = append(out, wrap(head+c.Summary(), "", "    ")...)
			out = append(out, t.caseLines(c.Problems(), 4)...)
		}
	}
	for _, e := range m.EmptyAreas() {
		out = append(out, wrap(t.paint(ansiDim, "none")+" "+e.Area+": no cases on "+strings.Join(e.Kernels, ", "), "", "    ")...)
	}
	if len(out) == 0 {
		return
	}
	t.line("Not passing:")
	for _, l := range out {
		t.line("  " + l)
	}
	t.line("")
}

// caseLines lists failed or broken cases, expected against observed, with
// their detail wrapped underneath.
func (t *termWriter) caseLines(cases []Case, indent int) []string {
	var out []string
	for _, c := range cases {
		pre := strings.Repeat(" ", indent)
		s := c.ID() + ": " + string(c.Verdict) + ", expected " + orNone(c.Expected) + ", observed " + orNone(c.Observed)
		out = append(out, wrap(s, pre, pre+"    ")...)
		if c.Detail != "" {
			out = append(out, wrap(c.Detail, pre+"  ", pre+"  ")...)
		}
	}
	return out
}

// baseline comes first: a case lost against the baseline is what a
// kernel developer looks for after a patch.
func (t *termWriter) baseline(run *Run) {
	bl := run.Baseline
	if bl == nil {
		return
	}
	from := "baseline " + bl.Run
	if bl.Path != "" {
		from += " (" + bl.Path + ")"
	}
	for _, p := range bl.Paired {
		from += ", paired " + p
	}
	if len(bl.Lost) == 0 {
		t.line(t.paint(ansiGreen, fmt.Sprintf("Against %s: every case that passed there passes (%d fix%s)", from, bl.Fixes, pluralES(bl.Fixes))))
		t.line("")
		return
	}
	t.line(t.paint(ansiRed, "REGRESSED against "+from+": "+bl.LostLine()+":"))
	for _, c := range bl.Lost {
		for _, l := range wrap(c.String(), "  ", "      ") {
			t.line(l)
		}
	}
	t.line("")
}

func (t *termWriter) flags(m *Matrix) {
	t.kernelLines(m, "Kernel flags (* in the table):", func(k *KernelRun) []string { return k.Flags })
}

// notes lists what is known of the kernels without failing them.
func (t *termWriter) notes(m *Matrix) {
	t.kernelLines(m, "Kernel notes:", func(k *KernelRun) []string { return k.Notes })
}

// kernelLines lists lines of the kernels under a title, each named by its
// kernel; nothing when no kernel has one.
func (t *termWriter) kernelLines(m *Matrix, title string, of func(*KernelRun) []string) {
	var out []string
	for _, k := range m.Kernels {
		for _, l := range of(k) {
			out = append(out, wrap(k.Key()+": "+l, "", "    ")...)
		}
	}
	if len(out) == 0 {
		return
	}
	t.line(title)
	for _, l := range out {
		t.line("  " + l)
	}
	t.line("")
}

// pruned lists, per kernel, the cases not run because others prove the
// same, with the argument.
func (t *termWriter) pruned(m *Matrix) {
	var out []string
	for _, k := range m.Kernels {
		for _, p := range k.Env.Pruned {
			out = append(out, wrap(k.Name+": "+p, "  ", "      ")...)
		}
	}
	if len(out) == 0 {
		return
	}
	t.line("Not run, proving nothing new on that kernel:")
	for _, l := range out {
		t.line(l)
	}
	t.line("")
}

// wrap word-wraps s into lines of termWidth-2 columns (the report's
// list indent), the first line starting with first, the others with rest.
func wrap(s, first, rest string) []string {
	var out []string
	line, empty := first, true
	for _, word := range strings.Fields(s) {
		if !empty && visibleLen(line)+1+visibleLen(word) > termWidth-2 {
			out = append(out, line)
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	return append(out, line)
}

// visibleLen counts runes outside ANSI escape sequences.
func visibleLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

func clip(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s
	}
	return string(r[:w-1]) + "…"
}

// lastConsoleTail is the console tail of the last attempt that has one.
func lastConsoleTail(k *KernelRun) string {
	for i := len(k.Attempts) - 1; i >= 0; i-- {
		if k.Attempts[i].ConsoleTail != "" {
			return k.Attempts[i].ConsoleTail
		}
	}
	return ""
}

// lastLines returns the last n non-empty lines of s, cleaned of control
// characters so a console's escape sequences cannot garble the terminal.
func lastLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.Map(func(r rune) rune {
			if r == '\t' {
				return ' '
			}
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, l)
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
