package results

import (
	"fmt"
	"io"
	"strings"
)

// Markdown writes matrix.md: the matrix table, every cell that is not a
// pass with its failing cases, the kernel flags and the totals, fit for a
// pull-request comment.
func Markdown(w io.Writer, run *Run) error {
	m := NewMatrix(run)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("## llconform run %s\n\n", mdText(run.ID))
	p("**%s**", mdText(m.TotalsLine()))
	if run.Incomplete {
		p(" **(incomplete: interrupted or kernels missing)**")
	}
	p("\n\n")
	if bl := run.Baseline; bl != nil {
		// First: what a patch lost against the baseline.
		if len(bl.Lost) == 0 {
			p("Against baseline %s: every case that passed there passes.\n\n", mdText(bl.Run))
		} else {
			p("**Regressed against baseline %s: %s**\n\n", mdText(bl.Run), mdText(bl.LostLine()))
			for _, c := range bl.Lost {
				p("- %s\n", mdText(c.String()))
			}
			p("\n")
		}
	}

	for _, g := range m.Groups {
		// One table per architecture, under its title.
		p("**%s**\n\n| area |", mdText(GroupTitle(g)))
		for _, k := range m.Kernels[g.Start:g.End] {
			flag := ""
			if len(k.Flags) > 0 {
				flag = " \\*"
			}
			p(" %s<br>%s%s |", mdText(k.Name), mdText(ABILabel(k.Env)), flag)
		}
		p("\n|---|")
		for range m.Kernels[g.Start:g.End] {
			p("---|")
		}
		p("\n")
		for a, area := range m.Areas {
			p("| %s |", mdText(area))
			for i := g.Start; i < g.End; i++ {
				c := m.Cells[a][i]
				label := mdText(c.Label())
				if c.Verdict == Fail || c.Verdict == Broken {
					label = "**" + label + "**"
				}
				p(" %s |", label)
			}
			p("\n")
		}
		p("\n")
	}

	var probs []string
	for i, k := range m.Kernels {
		if r, why := k.Retried(); r && !k.Broken() {
			probs = append(probs, fmt.Sprintf("- **RETRIED** %s: the first boot was %s; the retry completed", mdText(kernelTitle(k)), mdText(why)))
		}
		if k.Broken() {
			s := fmt.Sprintf("- **%s** %s: %s", k.StatusLabel(), mdText(kernelTitle(k)), mdText(k.BrokenReason()))
			var logs []string
			for _, a := range k.Attempts {
				if a.ConsoleLog != "" {
					logs = append(logs, mdCode(a.ConsoleLog))
				}
			}
			if len(logs) > 0 {
				s += " (console: " + strings.Join(logs, ", ") + ")"
			}
			probs = append(probs, s)
			for _, c := range m.KernelCells(i) {
				probs = append(probs, mdCases(c.Problems())...)
			}
			continue
		}
		for _, c := range m.KernelCells(i) {
			if c.Verdict == Pass || c.Empty() {
				continue
			}
			word := strings.ToUpper(string(c.Verdict))
			if c.Verdict == Skip {
				word = "skip"
			}
			probs = append(probs, fmt.Sprintf("- **%s** %s %s: %s", word, mdText(kernelTitle(k)), mdText(c.Area), mdText(c.Summary())))
			probs = append(probs, mdCases(c.Problems())...)
		}
	}
	for _, e := range m.EmptyAreas() {
		probs = append(probs, fmt.Sprintf("- **none** %s: no cases on %s", mdText(e.Area), mdText(strings.Join(e.Kernels, ", "))))
	}
	if len(probs) > 0 {
		p("### Not passing\n\n%s\n\n", strings.Join(probs, "\n"))
	}

	var flags []string
	for _, k := range m.Kernels {
		for _, f := range k.Flags {
			flags = append(flags, fmt.Sprintf("- %s: %s", mdText(k.Key()), mdText(f)))
		}
	}
	if len(flags) > 0 {
		p("### Kernel flags (\\* in the table)\n\n%s\n\n", strings.Join(flags, "\n"))
	}
	var notes []string
	for _, k := range m.Kernels {
		for _, n := range k.Notes {
			notes = append(notes, fmt.Sprintf("- %s: %s", mdText(k.Key()), mdText(n)))
		}
	}
	if len(notes) > 0 {
		p("### Kernel notes\n\n%s\n\n", strings.Join(notes, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCases(cases []Case) []string {
	var out []string
	for _, c := range cases {
		s := fmt.Sprintf("  - %s %s: expected %s, observed %s", mdCode(c.ID()), c.Verdict, mdCode(orNone(c.Expected)), mdCode(orNone(c.Observed)))
		if c.Detail != "" {
			s += " (" + mdText(c.Detail) + ")"
		}
		out = append(out, s)
	}
	return out
}

// mdText escapes text for a Markdown table or list item: the characters
// that would start emphasis, code, links, HTML or a new table cell, and
// line breaks, which would end the table row.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode is s as a code span (list items only: a table would also need
// its pipes escaped), fenced longer than any backtick run inside it.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
