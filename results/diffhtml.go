package results

import "fmt"

// htmlDiff is the HTML report's view of the differences between two
// columns of the same Landlock ABI (SameABIPairs).
type htmlDiff struct {
	Title   string
	Summary string
	Anchor  string
	Open    bool // unfolded when something is unexplained
	Areas   []htmlDiffArea
}

type htmlDiffArea struct {
	Area  string
	Cases []htmlDiffCase
}

type htmlDiffCase struct {
	CaseDiff
	OldText, NewText string
	Class            string // "warn" when unexplained
}

// htmlDiffs compares each kernel of the run with the first of its
// architecture and ABI, as the differences view shows them.
func htmlDiffs(run *Run) []htmlDiff {
	var out []htmlDiff
	for i, p := range SameABIPairs(run) {
		d := DiffKernels(nil, p[0], nil, p[1])
		hd := htmlDiff{Title: d.Title(), Summary: d.Summary(), Anchor: fmt.Sprintf("diff%d", i), Open: d.Unexplained > 0}
		for _, group := range d.byArea() {
			a := htmlDiffArea{Area: group[0].Area}
			for _, c := range group {
				hc := htmlDiffCase{CaseDiff: c, OldText: c.Old.short(), NewText: c.New.short(), Class: "known"}
				if !c.Explained {
					hc.Class = "warn"
				}
				a.Cases = append(a.Cases, hc)
			}
			hd.Areas = append(hd.Areas, a)
		}
		out = append(out, hd)
	}
	return out
}

// htmlDiffSource is the differences view of the template.
const htmlDiffSource = `
{{- if .Diffs}}
<h2 id="differences">Differences between kernels of the same ABI</h2>
<p class="muted">Every case two columns of one architecture and Landlock ABI observed differently (outcome, verdict or skip reason); unexplained differences are those their expectations and errata do not account for. <code>llconform diff</code> compares any two kernels.</p>
{{- range .Diffs}}
<details class="cell" id="{{.Anchor}}"{{if .Open}} open{{end}}>
<summary><span class="area">{{.Title}}</span> <span class="why">{{.Summary}}</span></summary>
{{- if .Areas}}
<table>
<tr><th>area</th><th>case</th><th>old</th><th>new</th><th></th></tr>
{{- range .Areas}}{{$area := .Area}}
{{- range .Cases}}
<tr><td>{{$area}}</td><td class="mono">{{.ID}}</td><td>{{.OldText}}</td><td>{{.NewText}}</td><td class="{{.Class}}">{{if .Explained}}explained{{else}}unexplained{{end}}: {{.Why}}</td></tr>
{{- end}}
{{- end}}
</table>
{{- end}}
</details>
{{- end}}
{{- end}}
`
