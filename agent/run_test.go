package agent

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestBatchWriterKeepsRecordsWhole(t *testing.T) {
	var out strings.Builder
	b := newBatchWriter(&out, 10, time.Hour)
	b.Write([]byte("aaaa\n"))
	assert.Equal(t, out.String(), "", "buffered below the size")
	b.Write([]byte("bbbbbbbb\n"))
	assert.Equal(t, out.String(), "aaaa\nbbbbbbbb\n", "passed on whole once the size is reached")
	b.Write([]byte("c\n"))
	assert.NilError(t, b.Flush())
	assert.Equal(t, out.String(), "aaaa\nbbbbbbbb\nc\n")

	out.Reset()
	late := newBatchWriter(&out, 1<<20, 0)
	late.Write([]byte("x\n"))
	assert.Equal(t, out.String(), "x\n", "a write after the delay flushes")
}
