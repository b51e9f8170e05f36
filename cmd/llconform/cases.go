package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/libraries/adapter"
	"github.com/llconform/llconform/suites/check"
)

func init() {
	commands["cases"] = command{"list the cases: ID, variants, where each is written, and (--explain) what every kernel state must do", runCases}
}

// caseListing is one case as `cases --json` prints it.
type caseListing struct {
	ID        string              `json:"id"`
	Area      string              `json:"area"`
	Library   string              `json:"library,omitempty"`
	Isolation string              `json:"isolation"`
	Variants  []check.Variant     `json:"variants,omitempty"`
	Omits     []check.Omission    `json:"omits,omitempty"`
	Source    string              `json:"source"`
	Row       string              `json:"row,omitempty"`
	Covers    []string            `json:"covers,omitempty"`
	Feature   string              `json:"feature,omitempty"`
	Shows     check.Behaviour     `json:"shows,omitempty"`
	Skips     bool                `json:"skips_by_environment,omitempty"`
	Expect    []check.Expectation `json:"expect,omitempty"`
}

func runCases(args []string) error {
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	var sel selection
	fs.StringVar(&sel.run, "run", "", "only cases whose ID (area/name) matches this regular expression")
	fs.Var(&sel.areas, "area", "only these areas (comma-separated: "+strings.Join(suiteAreas(), ",")+")")
	fs.Var(&sel.libs, "library", "list the library cases of these libraries (comma-separated: "+strings.Join(adapter.LibraryNames(), ",")+"; default: own)")
	explain := fs.Bool("explain", false, "show the expected outcome for every kernel state (absent, disabled, ABI 1-N, errata masks), root and unprivileged")
	jsonOut := fs.Bool("json", false, "print JSON (one array) instead of text")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cases, err := selectCases(sel)
	if err != nil {
		return err
	}
	var list []caseListing
	for _, c := range cases {
		l := caseListing{ID: c.ID(), Area: c.Area, Library: c.Library, Isolation: isolationName[c.Isolation],
			Variants: c.Variants, Omits: c.Omits, Source: c.Source, Row: check.RowSource(c), Covers: c.Covers,
			Feature: c.Feature, Shows: c.Shows, Skips: c.Skip != nil}
		if *explain {
			l.Expect = check.Explain(c)
		}
		list = append(list, l)
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	for _, l := range list {
		printListing(os.Stdout, l)
	}
	fmt.Printf("%d cases\n", len(list))
	return nil
}

// selectCases checks the selection (usage errors name what is valid) and
// returns the cases it picks.
func selectCases(sel selection) ([]check.Case, error) {
	st, err := sel.settings()
	if err != nil {
		return nil, err
	}
	cases, err := agent.Select(agent.AllCases(st.Libraries), st)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return cases, nil
}

var isolationName = map[check.Isolation]string{check.Thread: "thread", check.Process: "process"}

func printListing(w io.Writer, l caseListing) {
	fmt.Fprintln(w, l.ID)
	where := l.Source
	if l.Row != "" {
		where = "row " + l.Row + ", registered " + l.Source
	}
	fmt.Fprintf(w, "  at %s\n", where)
	var facts []string
	for _, v := range l.Variants {
		facts = append(facts, string(v.Dim)+"="+v.Value)
	}
	facts = append(facts, l.Isolation)
	if l.Feature != "" {
		facts = append(facts, "shows "+l.Feature+" "+string(l.Shows))
	}
	if len(l.Covers) > 0 {
		facts = append(facts, "covers "+strings.Join(l.Covers, " "))
	}
	fmt.Fprintf(w, "  %s\n", strings.Join(facts, " · "))
	for _, o := range l.Omits {
		fmt.Fprintf(w, "  not on %s=%s: %s\n", o.Dim, strings.Join(o.Values, ","), o.Why)
	}
	if len(l.Expect) > 0 && l.Skips {
		fmt.Fprintln(w, "  (skips where the environment lacks what it needs, probed at run time)")
	}
	for _, x := range l.Expect {
		who := ""
		if x.Priv != "both" {
			who = " " + x.Priv
		}
		if x.Errata != "" {
			who += ", " + x.Errata
		}
		line := fmt.Sprintf("  %s%s: %s", x.States, who, x.Want)
		for _, d := range x.Deviations {
			line += fmt.Sprintf("; %s if %s (%s)", d.Kind, d.Outcome, d.Why)
		}
		if x.Pruned != "" {
			line += "; not run: " + x.Pruned
		}
		fmt.Fprintln(w, line)
	}
}
