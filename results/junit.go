package results

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JUnit XML types, in the common Jenkins/Ant dialect that CI systems read.
type (
	JUnitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}
	JUnitSuite struct {
		Name       string           `xml:"name,attr"`
		Tests      int              `xml:"tests,attr"`
		Failures   int              `xml:"failures,attr"`
		Errors     int              `xml:"errors,attr"`
		Skipped    int              `xml:"skipped,attr"`
		Time       string           `xml:"time,attr"`
		Properties *JUnitProperties `xml:"properties,omitempty"`
		Cases      []JUnitCase      `xml:"testcase"`
	}
	JUnitProperties struct {
		Property []JUnitProperty `xml:"property"`
	}
	JUnitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	JUnitCase struct {
		ClassName string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *JUnitProblem `xml:"failure,omitempty"`
		Error     *JUnitProblem `xml:"error,omitempty"`
		Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
		// Properties and SystemOut keep warn and known visible: such a
		// case is reported as passed (not a failure), carries a
		// "verdict" property and says why on its standard output.
		Properties *JUnitProperties `xml:"properties,omitempty"`
		SystemOut  string           `xml:"system-out,omitempty"`
	}
	JUnitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",cdata"` // keeps console lines readable in the raw file
	}
	JUnitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// JUnitReport converts one kernel run: a testsuite per area, a testcase
// per case (classname kernel/arch.area, name name[priv]); a broken run adds an
// error testcase with the reason and the console tail.
func JUnitReport(k KernelRun) JUnitSuites {
	run := &Run{Kernels: []KernelRun{k}}
	m := NewMatrix(run)
	kr := m.Kernels[0]
	name := kr.Key() // "7.3/arm64": the same series on two architectures are two kernels
	out := JUnitSuites{Name: "llconform " + name}
	props := junitProps(kr)
	var totalUS int64
	add := func(s JUnitSuite) {
		out.Suites = append(out.Suites, s)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
	}
	if kr.Broken() {
		msg := "kernel run broken: " + kr.BrokenReason()
		text := msg
		if tail := lastConsoleTail(kr); tail != "" {
			text += "\n\nconsole tail:\n" + tail
		}
		add(JUnitSuite{Name: name + ".kernel", Tests: 1, Errors: 1, Time: "0", Properties: props,
			Cases: []JUnitCase{{ClassName: name + ".kernel", Name: "run", Time: seconds(k.Timings.WallMS * 1000),
				Error: &JUnitProblem{Message: msg, Type: "broken", Text: xmlSafe(text)}}}})
		props = nil
	} else if r, why := kr.Retried(); r {
		// A completed retry is no failure, but must not go unseen.
		add(JUnitSuite{Name: name + ".kernel", Tests: 1, Time: "0", Properties: props,
			Cases: []JUnitCase{{ClassName: name + ".kernel", Name: "run", Time: seconds(k.Timings.WallMS * 1000),
				Properties: &JUnitProperties{Property: []JUnitProperty{{Name: "verdict", Value: "retried"}}},
				SystemOut:  xmlSafe("RETRIED: the first boot was " + why + "; the retry completed")}}})
		props = nil
	}
	for a, area := range m.Areas {
		cell := m.Cells[a][0]
		s := JUnitSuite{Name: name + "." + area, Properties: props}
		props = nil // once per file is enough
		var us int64
		for _, c := range cell.Cases {
			jc := JUnitCase{ClassName: name + "." + area, Name: c.Name + "[" + c.Priv + "]", Time: seconds(c.DurationUS)}
			us += c.DurationUS
			switch c.Verdict {
			case Pass:
			case Fail:
				jc.Failure = &JUnitProblem{Message: "expected " + orNone(c.Expected) + ", observed " + orNone(c.Observed),
					Type: "fail", Text: xmlSafe(c.Detail)}
				s.Failures++
			case Skip:
				jc.Skipped = &JUnitSkipped{Message: c.Detail}
				s.Skipped++
			case Warn, Known:
				jc.Properties = &JUnitProperties{Property: []JUnitProperty{{Name: "verdict", Value: string(c.Verdict)}}}
				jc.SystemOut = xmlSafe(strings.ToUpper(string(c.Verdict)) + ": expected " + orNone(c.Expected) +
					", observed " + orNone(c.Observed) + ": " + c.Detail)
			default:
				msg := "broken"
				if c.Detail != "" {
					msg += ": " + c.Detail
				}
				jc.Error = &JUnitProblem{Message: msg, Type: string(c.Verdict),
					Text: xmlSafe("expected " + orNone(c.Expected) + ", observed " + orNone(c.Observed))}
				s.Errors++
			}
			s.Cases = append(s.Cases, jc)
		}
		s.Tests = len(s.Cases)
		s.Time = seconds(us)
		totalUS += us
		add(s)
	}
	out.Time = seconds(totalUS)
	return out
}

// JUnit writes the junit.xml of one kernel run.
func JUnit(w io.Writer, k KernelRun) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnitReport(k)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// xmlSafe replaces the characters XML 1.0 cannot hold (console escape
// sequences, NULs) with U+FFFD: encoding/xml does so for attributes and
// character data, but writes CDATA as is.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

func seconds(us int64) string {
	return strconv.FormatFloat(float64(us)/1e6, 'f', 6, 64)
}

// junitProps carries the kernel's environment, so a CI page shows which
// kernel build a result belongs to.
func junitProps(k *KernelRun) *JUnitProperties {
	e := k.Env
	var ps []JUnitProperty
	add := func(name, value string) {
		if value != "" {
			ps = append(ps, JUnitProperty{Name: name, Value: value})
		}
	}
	add("kernel", k.Name)
	add("flavour", k.Flavour)
	add("arch", string(k.Architecture()))
	add("status", string(k.Status))
	add("release", e.Release)
	add("landlock", LandlockState(e))
	if e.ErrataKnown {
		add("errata", fmt.Sprintf("%#x", e.Errata))
	}
	add("lsm", e.LSM)
	add("package", e.Package)
	add("package_version", e.PackageVersion)
	add("suite", e.Suite)
	add("sha256", e.SHA256)
	add("cmdline", e.Cmdline)
	add("accel", e.Accel)
	for i, f := range k.Flags {
		add(fmt.Sprintf("flag%d", i+1), f)
	}
	return &JUnitProperties{Property: ps}
}
