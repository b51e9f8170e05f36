// Package debtest makes the archives the tests of the package readers
// feed them: tar streams and xz-compressed data, as in a .deb's payload.
package debtest

import (
	"archive/tar"
	"bytes"
	"testing"

	"github.com/ulikunitz/xz"
	"gotest.tools/v3/assert"
)

// Tar is a tar stream of regular files.
func Tar(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for name, data := range files {
		assert.NilError(t, w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := w.Write(data)
		assert.NilError(t, err)
	}
	assert.NilError(t, w.Close())
	return b.Bytes()
}

// Xz is data xz-compressed.
func Xz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	assert.NilError(t, err)
	_, err = w.Write(data)
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	return b.Bytes()
}
