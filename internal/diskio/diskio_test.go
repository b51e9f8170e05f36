package diskio

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
)

func TestWriteAtomicConcurrentWritersLeaveOneWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			assert.Check(t, WriteAtomic(path, []byte(fmt.Sprintf("writer %02d", i)), 0o644))
		}(i)
	}
	wg.Wait()
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Equal(t, len(b), len("writer 00"))
	left, _ := os.ReadDir(dir)
	assert.Equal(t, len(left), 1, "no temporary files left behind")
}

func TestCacheDirHonoursTheEnvironment(t *testing.T) {
	t.Setenv("LLCONFORM_CACHE", "/x/cache")
	d, err := CacheDir("vm")
	assert.NilError(t, err)
	assert.Equal(t, d, "/x/cache/vm")
}
