package kernels

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestProgressIsThrottled(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := newProgress(io.Discard, &out, "7.1 (linux-binary-7.1.13)", 100<<20)
	p.now = func() time.Time { return clock }
	p.start, p.last = clock, clock
	for range 100 { // 100 MiB over 3.5 s
		clock = clock.Add(35 * time.Millisecond)
		p.Write(make([]byte, 1<<20))
	}
	p.done()
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	assert.Equal(t, len(lines), 4, out.String()) // at 1 s, 2 s, 3 s, and the end
	assert.Equal(t, lines[3], "  downloaded 7.1 (linux-binary-7.1.13): 100.0 MiB of 100.0 MiB (100%) in 3.5s")
	assert.Assert(t, strings.HasPrefix(lines[0], "  downloading 7.1 (linux-binary-7.1.13): 29.0 MiB of 100.0 MiB (29%) in 1.0s"), lines[0])
}
