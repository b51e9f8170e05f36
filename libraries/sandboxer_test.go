package libraries

import (
	"archive/tar"
	"bytes"
	"testing"

	"github.com/ulikunitz/xz"
	"gotest.tools/v3/assert"
)

func tarOf(t *testing.T, files map[string][]byte) []byte {
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

func xzOf(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	assert.NilError(t, err)
	_, err = w.Write(data)
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	return b.Bytes()
}

// The sources come out of the tarball inside the package payload, and
// nothing else does.
func TestSourceFiles(t *testing.T) {
	src := tarOf(t, map[string][]byte{
		"linux-source-7.3/Makefile":                                     []byte("VERSION = 7\n"),
		"linux-source-7.3/samples/landlock/sandboxer.c":                 []byte("int main(void) { return 0; }\n"),
		"linux-source-7.3/include/uapi/linux/landlock.h":                []byte("#define LANDLOCK_ACCESS_FS_EXECUTE 1\n"),
		"linux-source-7.3/tools/testing/selftests/landlock/base_test.c": []byte("x"),
	})
	payload := tarOf(t, map[string][]byte{"./usr/src/linux-source-7.3.tar.xz": xzOf(t, src)})
	got, err := sourceFiles(tar.NewReader(bytes.NewReader(payload)))
	assert.NilError(t, err)
	assert.Equal(t, len(got), 2)
	assert.Equal(t, string(got["sandboxer.c"]), "int main(void) { return 0; }\n")
	assert.Equal(t, string(got["landlock.h"]), "#define LANDLOCK_ACCESS_FS_EXECUTE 1\n")

	_, err = sourceFiles(tar.NewReader(bytes.NewReader(tarOf(t, map[string][]byte{"./usr/share/doc/x": []byte("x")}))))
	assert.ErrorContains(t, err, "no usr/src/linux-source-*.tar.xz")
}
