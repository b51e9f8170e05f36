package protocol

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/llconform/llconform/results"
)

// Record types of the result stream.
const (
	EventHeader = "header"
	EventCase   = "case"
	EventDone   = "done"
)

// Event is one JSON line of the result stream.
type Event struct {
	Type  string        `json:"type"`
	Env   *results.Env  `json:"env,omitempty"`
	Case  *results.Case `json:"case,omitempty"`
	Count int           `json:"count,omitempty"` // done: number of case records sent
	Error string        `json:"error,omitempty"` // done: a fatal agent error, if any
}

// StreamWriter writes the JSON-lines stream of one suite run. It is safe
// for concurrent use and counts the case events it sent for the trailer.
type StreamWriter struct {
	mu    sync.Mutex
	w     io.Writer
	count int
	err   error
}

// NewStreamWriter returns a writer of JSON lines to w.
func NewStreamWriter(w io.Writer) *StreamWriter { return &StreamWriter{w: w} }

func (s *StreamWriter) write(ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if ev.Type == EventCase {
		s.count++
	}
	_, s.err = s.w.Write(append(b, '\n'))
	return s.err
}

// Header sends the environment record; it must come first.
func (s *StreamWriter) Header(env results.Env) error {
	return s.write(Event{Type: EventHeader, Env: &env})
}

// Case sends one case result.
func (s *StreamWriter) Case(c results.Case) error { return s.write(Event{Type: EventCase, Case: &c}) }

// Done sends the trailer with the number of case events sent. fatal, if
// non-empty, says why the run stopped early.
func (s *StreamWriter) Done(fatal string) error {
	s.mu.Lock()
	n := s.count
	s.mu.Unlock()
	return s.write(Event{Type: EventDone, Count: n, Error: fatal})
}

// Stream is a parsed suite stream.
type Stream struct {
	Header  *results.Env
	Cases   []results.Case
	Done    *Event
	Garbage []string // lines that were not events (kept for the report)
}

// Complete reports whether the stream has a header and a done record whose
// count matches the case events received, and why not otherwise. Anything
// short of complete is "broken", never "pass".
func (s *Stream) Complete() (bool, string) {
	switch {
	case s.Header == nil:
		return false, "no header record: the agent never started or its output was lost"
	case s.Done == nil:
		return false, fmt.Sprintf("no done record after %d cases: crash, hang or truncated output", len(s.Cases))
	case s.Done.Count != len(s.Cases):
		return false, fmt.Sprintf("done record counts %d cases, %d received", s.Done.Count, len(s.Cases))
	case s.Done.Error != "":
		return false, "agent error: " + s.Done.Error
	}
	return true, ""
}

// Add parses one line of the result port into the stream and returns the
// record, if the line was one. Lines that are not records are kept in
// Garbage; records after the done record, or a second header, too.
func (s *Stream) Add(line []byte) (Event, bool) {
	text := strings.TrimSpace(strings.TrimRight(string(line), "\r\x00"))
	if text == "" {
		return Event{}, false
	}
	var ev Event
	if err := json.Unmarshal([]byte(text), &ev); err != nil {
		s.Garbage = append(s.Garbage, text)
		return Event{}, false
	}
	switch {
	case ev.Type == EventHeader && ev.Env != nil && s.Header == nil:
		s.Header = ev.Env
	case ev.Type == EventCase && ev.Case != nil && s.Header != nil && s.Done == nil:
		s.Cases = append(s.Cases, *ev.Case)
	case ev.Type == EventDone && s.Header != nil && s.Done == nil:
		e := ev
		s.Done = &e
	default:
		s.Garbage = append(s.Garbage, text)
		return Event{}, false
	}
	return ev, true
}

// ReadStream parses the lines of r until EOF. A partial stream is
// returned as far as it goes, with the read error if any.
func ReadStream(r io.Reader) (*Stream, error) {
	s := &Stream{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		s.Add(sc.Bytes())
	}
	return s, sc.Err()
}
