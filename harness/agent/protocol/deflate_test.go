package protocol

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/llconform/llconform/results"
	"gotest.tools/v3/assert"
)

// sizeCounter remembers how many compressed bytes each record had
// reached the port by.
type sizeCounter struct {
	bytes.Buffer
	ends []int
}

// compressed writes a header, n case records and the done record through
// a DeflateWriter, after a line of noise, and returns the port's bytes
// and the port length at which each record was complete.
func compressed(t *testing.T, n int) (*sizeCounter, []results.Case) {
	port := &sizeCounter{}
	port.WriteString("\x00early noise\n")
	dw, err := NewDeflateWriter(port)
	assert.NilError(t, err)
	w := NewStreamWriter(endRecorder{dw, port})
	assert.NilError(t, w.Header(results.Env{ABI: 11}))
	var cases []results.Case
	for i := range n {
		c := results.Case{Area: "fs", Name: fmt.Sprintf("read_file/allowed_%d", i), Priv: "root", Expected: "ok", Observed: "ok",
			Verdict: results.Pass, Detail: "library: fully enforced at effective ABI 11", DurationUS: int64(1000 + i)}
		cases = append(cases, c)
		assert.NilError(t, w.Case(c))
	}
	assert.NilError(t, w.Done(""))
	assert.NilError(t, dw.Close())
	return port, cases
}

type endRecorder struct {
	dw   *DeflateWriter
	port *sizeCounter
}

func (e endRecorder) Write(p []byte) (int, error) {
	n, err := e.dw.Write(p)
	e.port.ends = append(e.port.ends, e.port.Len())
	return n, err
}

// The compressed stream reads back whole, the noise before its marker as
// garbage, at a third of the plain size or less.
func TestDeflateStreamRoundTrip(t *testing.T) {
	port, cases := compressed(t, 300)
	s, err := ReadStream(PortReader(bytes.NewReader(port.Bytes())))
	assert.NilError(t, err)
	ok, why := s.Complete()
	assert.Assert(t, ok, why)
	assert.DeepEqual(t, s.Cases, cases)
	assert.DeepEqual(t, s.Garbage, []string{"\x00early noise"})

	var plain bytes.Buffer
	w := NewStreamWriter(&plain)
	w.Header(results.Env{ABI: 11})
	for _, c := range cases {
		w.Case(c)
	}
	w.Done("")
	assert.Assert(t, port.Len()*3 <= plain.Len(), "compressed %d bytes, plain %d", port.Len(), plain.Len())
}

// A stream cut anywhere keeps every record the port had whole before the
// cut, in order, and is complete once the done record is (its data can
// inflate a few bytes before its flush marker has arrived).
func TestDeflateStreamCutShort(t *testing.T) {
	port, cases := compressed(t, 20)
	all := port.Bytes()
	for cut := 0; cut < len(all); cut++ {
		s, _ := ReadStream(PortReader(bytes.NewReader(all[:cut])))
		whole := 0 // the header and the cases complete by cut
		for _, end := range port.ends {
			if end <= cut {
				whole++
			}
		}
		ok, _ := s.Complete()
		if cut >= port.ends[len(port.ends)-1] {
			assert.Assert(t, ok, "cut at %d of %d", cut, len(all))
		} else if ok {
			assert.Equal(t, len(s.Cases), len(cases), "cut at %d: complete with cases missing", cut)
		}
		got := len(s.Cases)
		if s.Header != nil {
			got++
		}
		assert.Assert(t, got >= min(whole, len(cases)+1), "cut at %d: %d records read, %d were whole", cut, got, whole)
		for i, c := range s.Cases {
			assert.DeepEqual(t, c, cases[i])
		}
	}
}

// A port without the marker reads as it is.
func TestPlainPortPassesThrough(t *testing.T) {
	in := "noise\n{\"type\":\"header\",\"env\":{}}\nlast line without newline"
	var out bytes.Buffer
	_, err := out.ReadFrom(PortReader(bytes.NewReader([]byte(in))))
	assert.NilError(t, err)
	assert.Equal(t, out.String(), in)
}
