package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

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
func (s *StreamWriter) Header(env Env) error { return s.write(Event{Type: EventHeader, Env: &env}) }

// Case sends one case result.
func (s *StreamWriter) Case(c Case) error { return s.write(Event{Type: EventCase, Case: &c}) }

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
	Header  *Env
	Cases   []Case
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

// ReadStream parses JSON lines from r until EOF. Lines that do not parse
// as events are kept in Garbage; a partial stream is returned as far as it
// goes, with the read error if any.
func ReadStream(r io.Reader) (*Stream, error) {
	s := &Stream{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r\x00"))
		if line == "" {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			s.Garbage = append(s.Garbage, line)
			continue
		}
		switch {
		case ev.Type == EventHeader && ev.Env != nil && s.Header == nil:
			s.Header = ev.Env
		case ev.Type == EventCase && ev.Case != nil && s.Done == nil:
			s.Cases = append(s.Cases, *ev.Case)
		case ev.Type == EventDone && s.Done == nil:
			e := ev
			s.Done = &e
		default:
			s.Garbage = append(s.Garbage, line)
		}
	}
	return s, sc.Err()
}
