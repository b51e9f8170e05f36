package results

import (
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/llconform/llconform/landlock"
)

// HTML writes index.html: one self-contained page (inline CSS and a few
// lines of script, no external assets) with the run header, the matrix
// whose cells open their cases, and per kernel its environment, timings,
// attempts and console tail. Console log links are relative, so the page
// works from the run directory as a file or behind any web server.
func HTML(w io.Writer, run *Run) error {
	return htmlTemplate().Execute(w, newHTMLPage(run))
}

type htmlPage struct {
	Run      *Run
	Title    string
	Started  string
	Finished string
	Duration string
	Totals   string
	Kernels  []htmlKernel
	Groups   []htmlGroup // the architectures over the kernel columns
	Areas    []string
	Rows     []htmlRow
	Problems []htmlProblem
	Flags    []htmlProblem
	Diffs    []htmlDiff // the differences view (diffhtml.go)
}

type htmlGroup struct {
	Title string
	Span  int
}

type htmlRow struct {
	Area  string
	Cells []htmlCell
}

type htmlCell struct {
	Anchor  string // id of the cell's details element
	Class   string
	Label   string
	Explain string // the cell's full explanation, for the matrix
	Why     string // shorter, above the case table that names the cases
	Open    bool
	Area    string
	Cases   []htmlCase
}

type htmlCase struct {
	Case
	Class    string
	Duration string
}

type htmlKernel struct {
	*KernelRun
	Anchor      string
	ABI         string
	State       string
	Class       string // of the status badge
	Summary     string // case counts
	ExpectedABI string
	Errata      string
	Timings     []htmlKV
	Attempts    []htmlAttempt
	Cells       []htmlCell
}

type htmlKV struct{ K, V string }

type htmlAttempt struct {
	Attempt
	N     int
	Href  string
	Class string
	Boot  string
	Wall  string
	Open  bool // the console tail starts unfolded
}

type htmlProblem struct {
	Class   string
	Label   string
	Kernel  string
	Anchor  string
	Area    string
	Explain string
}

func verdictClass(v Verdict, empty bool) string {
	switch {
	case v == Broken:
		return "broken"
	case empty:
		return "empty"
	case v == Pass || v == Fail || v == Skip || v == Warn || v == Known:
		return string(v)
	}
	return "broken" // an unknown verdict is not trusted
}

func ms(n int64) string {
	if n <= 0 {
		return "–"
	}
	return (time.Duration(n) * time.Millisecond).String()
}

func us(n int64) string {
	d := time.Duration(n) * time.Microsecond
	switch {
	case n <= 0:
		return "–"
	case d < time.Millisecond:
		return d.String()
	}
	return d.Round(100 * time.Microsecond).String()
}

// relHref turns a path relative to the run directory into a link that
// stays relative: each segment is escaped, and a colon in the first one
// cannot turn it into a scheme.
func relHref(p string) string {
	return (&url.URL{Path: p}).String()
}

func newHTMLPage(run *Run) *htmlPage {
	m := NewMatrix(run)
	pg := &htmlPage{Run: run, Areas: m.Areas, Totals: m.TotalsLine(), Diffs: htmlDiffs(run)}
	pg.Title = "llconform " + run.ID
	const stamp = "2006-01-02 15:04:05 MST"
	if !run.Started.IsZero() {
		pg.Started = run.Started.UTC().Format(stamp)
	}
	if !run.Finished.IsZero() {
		pg.Finished = run.Finished.UTC().Format(stamp)
		if !run.Started.IsZero() {
			pg.Duration = run.Finished.Sub(run.Started).Round(time.Second).String()
		}
	}
	for _, g := range m.Groups {
		pg.Groups = append(pg.Groups, htmlGroup{Title: GroupTitle(g), Span: g.End - g.Start})
	}
	for i, k := range m.Kernels {
		hk := htmlKernel{KernelRun: k, Anchor: fmt.Sprintf("k%d", i), ABI: ABILabel(k.Env), State: LandlockState(k.Env)}
		if k.Env.ExpectedABI != nil {
			hk.ExpectedABI = fmt.Sprint(*k.Env.ExpectedABI)
		}
		switch {
		case k.Env.ErrataKnown:
			hk.Errata = fmt.Sprintf("%#x", k.Env.Errata)
		case k.Env.LandlockStatus == landlock.Enabled:
			hk.Errata = "no errata interface"
		}
		hk.Timings = []htmlKV{{"download", ms(k.Timings.DownloadMS)}, {"boot", ms(k.Timings.BootMS)},
			{"suites", ms(k.Timings.SuitesMS)}, {"wall", ms(k.Timings.WallMS)}}
		for j, a := range k.Attempts {
			ha := htmlAttempt{Attempt: a, N: j + 1, Class: "pass", Boot: ms(a.BootMS), Wall: ms(a.WallMS)}
			if a.Status != StatusComplete {
				ha.Class = "broken"
				ha.Open = j == len(k.Attempts)-1 // the last failure is the one to read
			}
			if a.ConsoleLog != "" {
				ha.Href = relHref(a.ConsoleLog)
			}
			hk.Attempts = append(hk.Attempts, ha)
		}
		var counts Counts
		for _, cs := range k.Cases {
			counts.Add(cs.Verdict)
		}
		hk.Summary = counts.summary()
		if hk.Summary == "" {
			hk.Summary = "no cases"
		}
		for a, area := range m.Areas {
			c := m.Cells[a][i]
			hc := htmlCell{Anchor: fmt.Sprintf("k%d-a%d", i, a), Class: verdictClass(c.Verdict, c.Empty()),
				Label: c.Label(), Explain: c.Explain, Why: c.Summary(), Area: area, Open: len(c.Problems()) > 0}
			if c.KernelBroken {
				// The kernel's reason is in its header; do not repeat it per area.
				hc.Why = "kernel run broken; received here: " + c.Summary()
				if c.Empty() {
					hc.Why = "kernel run broken; no cases of this area received"
				}
			}
			for _, cs := range c.Cases {
				hc.Cases = append(hc.Cases, htmlCase{Case: cs, Class: verdictClass(cs.Verdict, false), Duration: us(cs.DurationUS)})
			}
			hk.Cells = append(hk.Cells, hc)
			if c.Verdict != Pass && !c.Empty() && !k.Broken() {
				pg.Problems = append(pg.Problems, htmlProblem{Class: hc.Class, Label: hc.Label, Kernel: k.Key(),
					Anchor: hc.Anchor, Area: area, Explain: c.Explain})
			}
		}
		hk.Class = "pass"
		if k.Broken() {
			hk.Class = "broken"
			pg.Problems = append(pg.Problems, htmlProblem{Class: "broken", Label: k.StatusLabel(), Kernel: k.Key(),
				Anchor: hk.Anchor, Explain: "kernel run broken: " + k.BrokenReason()})
		} else if r, why := k.Retried(); r {
			pg.Problems = append(pg.Problems, htmlProblem{Class: "warn", Label: "RETRIED", Kernel: k.Key(),
				Anchor: hk.Anchor, Explain: "the first boot was " + why + "; the retry completed"})
		}
		for _, f := range k.Flags {
			pg.Flags = append(pg.Flags, htmlProblem{Class: "flag", Label: "FLAG", Kernel: k.Key(), Anchor: hk.Anchor, Explain: f})
		}
		pg.Kernels = append(pg.Kernels, hk)
	}
	for _, e := range m.EmptyAreas() {
		pg.Problems = append(pg.Problems, htmlProblem{Class: "empty", Label: "none", Area: e.Area,
			Explain: "no cases on " + strings.Join(e.Kernels, ", ")})
	}
	for a, area := range m.Areas {
		row := htmlRow{Area: area}
		for i := range m.Kernels {
			row.Cells = append(row.Cells, pg.Kernels[i].Cells[a])
		}
		pg.Rows = append(pg.Rows, row)
	}
	return pg
}

// htmlTemplate is parsed on first use, not at package init: the agent
// imports this package, and every process a case starts would pay for it.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index").Funcs(template.FuncMap{
		"join": strings.Join,
	}).Parse(htmlSource + `{{define "diffs"}}` + htmlDiffSource + `{{end}}`))
})

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --pass-bg:#d9f2dd; --pass-fg:#14532d; --fail-bg:#fbd0d0; --fail-fg:#8b1111;
  --skip-bg:#fcefc2; --skip-fg:#6b4e0a; --broken-bg:#5b2180; --broken-fg:#fff;
  --empty-bg:#f1f2f4; --empty-fg:#80858d; --line:#d5d8dd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1d2127;
  margin: 0; padding: 20px 28px 60px; background:#fafbfc; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; color:#555b63; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
a { color: #1f5fbf; }
.meta { color:#555b63; margin: 0 0 10px; }
.meta span { margin-right: 18px; white-space: nowrap; }
.totals { font-weight: 600; font-size: 15px; margin: 10px 0 18px; }
.banner { background: var(--fail-bg); color: var(--fail-fg); padding: 6px 10px; border-radius: 4px; font-weight: 600; display:inline-block; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f3; font-weight: 600; }
table.matrix th.kernel { text-align: center; min-width: 84px; }
table.matrix th.arch { text-align: center; border-bottom: 2px solid var(--line); }
table.matrix th.kernel small { display:block; font-weight: 400; color:#555b63; }
table.matrix th.area { vertical-align: middle; font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 500; }
table.matrix td { padding: 0; text-align: center; }
table.matrix td a { display:block; padding: 6px 8px; color: inherit; text-decoration: none; white-space: nowrap; font-weight: 600; }
table.matrix td a:hover { outline: 2px solid #1f5fbf; outline-offset: -2px; }
.pass { background: var(--pass-bg); color: var(--pass-fg); }
.fail { background: var(--fail-bg); color: var(--fail-fg); }
.skip { background: var(--skip-bg); color: var(--skip-fg); }
.warn { background: #fff1b8; color: #6b4d00; }
.known { background: #dcecff; color: #17427a; }
.broken { background: var(--broken-bg); color: var(--broken-fg); }
.empty { background: var(--empty-bg); color: var(--empty-fg); }
.flag { background: #ffe2b8; color: #7a3b00; }
table.matrix td.empty a { font-weight: 400; }
.badge { display:inline-block; padding: 1px 7px; border-radius: 3px; font-weight: 600; font-size: 12px; }
ul.problems { padding-left: 0; list-style: none; margin: 0; }
ul.problems li { margin: 3px 0; }
ul.problems .badge { min-width: 62px; text-align: center; margin-right: 6px; }
.flags { color: var(--fail-fg); font-weight: 600; margin: 4px 0; }
.kernel-head { display:flex; align-items: baseline; gap: 12px; }
.cols { display:flex; flex-wrap: wrap; gap: 22px; align-items: flex-start; }
table.kv th { width: 130px; background: #f5f6f8; font-weight: 500; }
table.kv td { max-width: 640px; word-break: break-all; }
details.cell { margin: 4px 0; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
details.cell > summary { cursor: pointer; padding: 5px 8px; }
details.cell > summary .badge { min-width: 62px; text-align: center; margin-right: 8px; }
details.cell > summary .area { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 600; margin-right: 8px; }
details.cell > summary .why { color:#555b63; }
details.cell[open] > summary { border-bottom: 1px solid var(--line); }
details.cell:target, details.cell.hl { box-shadow: 0 0 0 3px #1f5fbf55; }
details.cell table { margin: 8px; width: calc(100% - 16px); }
table.cases td.detail { white-space: pre-wrap; word-break: break-word; max-width: 520px; }
table.cases td.dur { text-align: right; white-space: nowrap; }
table.cases td.v { text-align: center; font-weight: 600; }
pre.tail { background: #16181c; color: #e6e6e6; padding: 10px 12px; border-radius: 4px; overflow-x: auto;
  max-height: 420px; white-space: pre-wrap; word-break: break-all; margin: 6px 0; }
.muted { color: #80858d; }
.legend { font-size: 12.5px; margin: 6px 0 0; }
</style>
</head>
<body>
<header>
<h1>llconform run <code>{{.Run.ID}}</code></h1>
<p class="meta">
{{- if .Started}}<span>started {{.Started}}</span>{{end}}
{{- if .Finished}}<span>finished {{.Finished}}</span>{{end}}
{{- if .Duration}}<span>took {{.Duration}}</span>{{end}}
{{- with .Run.Host}}
{{- if .Hostname}}<span>host <b>{{.Hostname}}</b></span>{{end}}
{{- if .Kernel}}<span>host kernel {{.Kernel}}</span>{{end}}
{{- if .CPUs}}<span>{{.CPUs}} CPUs</span>{{end}}
{{- if .Version}}<span>llconform {{.Version}}</span>{{end}}
{{- end}}
</p>
{{- if .Run.Args}}<p class="meta">args: <code>{{join .Run.Args " "}}</code></p>{{end}}
{{- if .Run.Incomplete}}<p class="banner">Incomplete run: interrupted, or kernels are missing.</p>{{end}}
{{- with .Run.Baseline}}
{{- if .Lost}}<p class="banner">Regressed against baseline {{.Run}}: {{.LostLine}}</p>
<ul>{{range .Lost}}<li>{{.String}}</li>{{end}}</ul>
{{- else}}<p class="meta">Against baseline {{.Run}}: every case that passed there passes.</p>{{end}}
{{- end}}
<p class="totals">{{.Totals}}</p>
</header>

<section>
{{- if .Kernels}}
<table class="matrix">
<thead><tr><th></th>
{{- range .Groups}}<th class="arch" colspan="{{.Span}}">{{.Title}}</th>{{end}}
</tr><tr><th>area</th>
{{- range .Kernels}}<th class="kernel"><a href="#{{.Anchor}}">{{.Name}}</a><small>{{.ABI}}{{if .Flags}} ⚑{{end}}</small></th>{{end}}
</tr></thead>
<tbody>
{{- range .Rows}}
<tr><th class="area">{{.Area}}</th>
{{- range .Cells}}<td class="{{.Class}}"><a href="#{{.Anchor}}" title="{{.Explain}}">{{.Label}}</a></td>{{end}}
</tr>
{{- end}}
{{- if not .Areas}}<tr><td colspan="{{len .Kernels}}" class="muted">no cases received from any kernel</td></tr>{{end}}
</tbody>
</table>
<p class="legend muted">ok <i>n</i>: every case passed (skips aside) · FAIL <i>n</i>: cases failed · BROKEN: the kernel run or a case did not finish · skip <i>n</i>: skipped for the environment only · none: no cases. Click a cell for its cases.</p>
{{- else}}
<p class="muted">No kernels in this run.</p>
{{- end}}
</section>

{{- if or .Problems .Flags}}
<h2>Not passing</h2>
<ul class="problems">
{{- range .Problems}}
<li><span class="badge {{.Class}}">{{.Label}}</span>{{if .Anchor}}<a href="#{{.Anchor}}">{{.Kernel}}{{if .Area}} · {{.Area}}{{end}}</a>{{else}}{{.Area}}{{end}}: {{.Explain}}</li>
{{- end}}
{{- range .Flags}}
<li><span class="badge {{.Class}}">{{.Label}}</span><a href="#{{.Anchor}}">{{.Kernel}}{{if .Area}} · {{.Area}}{{end}}</a>: {{.Explain}}</li>
{{- end}}
</ul>
{{- end}}
{{template "diffs" .}}
{{- range .Kernels}}
<section id="{{.Anchor}}" class="kernel">
<h2 class="kernel-head"><span>{{.Key}}</span> <span class="badge {{.Class}}">{{or .Status "no status"}}</span> <small class="muted">{{.ABI}} · {{.Summary}}</small></h2>
{{- if .Broken}}<p class="flags">Broken: {{.BrokenReason}}</p>{{end}}
{{- range .Flags}}<p class="flags">⚑ {{.}}</p>{{end}}
{{- range .Notes}}<p class="muted">Note: {{.}}</p>{{end}}
<div class="cols">
<div>
<h3>Environment</h3>
<table class="kv">
<tr><th>release</th><td class="mono">{{.Env.Release}}{{if .Env.Arch}} ({{.Env.Arch}}){{end}}</td></tr>
{{- if .Flavour}}<tr><th>flavour</th><td>{{.Flavour}}</td></tr>{{end}}
<tr><th>Landlock</th><td>{{.State}}{{if .ExpectedABI}} <span class="muted">(catalog expects ABI {{.ExpectedABI}})</span>{{end}}</td></tr>
{{- if .Errata}}<tr><th>errata</th><td class="mono">{{.Errata}}</td></tr>{{end}}
{{- with .Env}}
{{- if .LSM}}<tr><th>LSM list</th><td class="mono">{{.LSM}}</td></tr>{{end}}
{{- if .Package}}<tr><th>package</th><td class="mono">{{.Package}} {{.PackageVersion}}{{if .Suite}} ({{.Suite}}){{end}}</td></tr>{{end}}
{{- if .SHA256}}<tr><th>sha256</th><td class="mono">{{.SHA256}}</td></tr>{{end}}
{{- if .Cmdline}}<tr><th>cmdline</th><td class="mono">{{.Cmdline}}</td></tr>{{end}}
{{- if .Accel}}<tr><th>accel</th><td>{{.Accel}}</td></tr>{{end}}
{{- if .ABICeiling}}<tr><th>ABI ceiling</th><td>{{.ABICeiling}}</td></tr>{{end}}
{{- if .Native}}<tr><th>native</th><td>run on the host, not in a VM</td></tr>{{end}}
{{- if .UptimeMS}}<tr><th>guest uptime</th><td>{{.UptimeMS}} ms at agent start</td></tr>{{end}}
{{- end}}
</table>
</div>
<div>
<h3>Timings</h3>
<table class="kv">
{{- range .Timings}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>{{end}}
</table>
</div>
</div>
{{- if .Attempts}}
<h3>Attempts</h3>
<table>
<tr><th>#</th><th>status</th><th>boot</th><th>wall</th><th>reason</th><th>console</th></tr>
{{- range .Attempts}}
<tr><td>{{.N}}</td><td><span class="badge {{.Class}}">{{.Status}}</span></td><td>{{.Boot}}</td><td>{{.Wall}}</td><td>{{.Reason}}</td>
<td>{{if .Href}}<a href="{{.Href}}">{{.ConsoleLog}}</a>{{else}}<span class="muted">none</span>{{end}}</td></tr>
{{- end}}
</table>
{{- range .Attempts}}{{if .ConsoleTail}}
<details{{if .Open}} open{{end}}><summary>console tail, attempt {{.N}}</summary><pre class="tail">{{.ConsoleTail}}</pre></details>
{{- end}}{{end}}
{{- end}}
<h3>Cases by area</h3>
{{- range .Cells}}
<details class="cell" id="{{.Anchor}}"{{if .Open}} open{{end}}>
<summary><span class="badge {{.Class}}">{{.Label}}</span><span class="area">{{.Area}}</span><span class="why">{{.Why}}</span></summary>
{{- if .Cases}}
<table class="cases">
<tr><th>case</th><th>priv</th><th>verdict</th><th>expected</th><th>observed</th><th>duration</th><th>detail</th></tr>
{{- range .Cases}}
<tr><td class="mono">{{.Name}}</td><td>{{.Priv}}</td><td class="v {{.Class}}">{{.Verdict}}</td><td class="mono">{{.Expected}}</td><td class="mono">{{.Observed}}</td><td class="dur">{{.Duration}}</td><td class="detail">{{.Detail}}</td></tr>
{{- end}}
</table>
{{- end}}
</details>
{{- end}}
</section>
{{- end}}
<script>
// Open the cell a matrix link points at; <details> alone would stay shut.
function openTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var el = id && document.getElementById(id);
  if (!el) return;
  document.querySelectorAll(".hl").forEach(function (e) { e.classList.remove("hl"); });
  if (el.tagName === "DETAILS") { el.open = true; el.classList.add("hl"); }
  el.scrollIntoView({block: "start"});
}
window.addEventListener("hashchange", openTarget);
openTarget();
</script>
</body>
</html>
`
