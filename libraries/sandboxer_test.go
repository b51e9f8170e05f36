package libraries

import (
	"archive/tar"
	"bytes"
	"testing"

	"github.com/llconform/llconform/internal/debtest"

	"gotest.tools/v3/assert"
)

// The sources come out of the tarball inside the package payload, and
// nothing else does.
func TestSourceFiles(t *testing.T) {
	src := debtest.Tar(t, map[string][]byte{
		"linux-source-7.3/Makefile":                                     []byte("VERSION = 7\n"),
		"linux-source-7.3/samples/landlock/sandboxer.c":                 []byte("int main(void) { return 0; }\n"),
		"linux-source-7.3/include/uapi/linux/landlock.h":                []byte("#define LANDLOCK_ACCESS_FS_EXECUTE 1\n"),
		"linux-source-7.3/tools/testing/selftests/landlock/base_test.c": []byte("x"),
	})
	payload := debtest.Tar(t, map[string][]byte{"./usr/src/linux-source-7.3.tar.xz": debtest.Xz(t, src)})
	got, err := sourceFiles(tar.NewReader(bytes.NewReader(payload)))
	assert.NilError(t, err)
	assert.Equal(t, len(got), 2)
	assert.Equal(t, string(got["sandboxer.c"]), "int main(void) { return 0; }\n")
	assert.Equal(t, string(got["landlock.h"]), "#define LANDLOCK_ACCESS_FS_EXECUTE 1\n")

	_, err = sourceFiles(tar.NewReader(bytes.NewReader(debtest.Tar(t, map[string][]byte{"./usr/share/doc/x": []byte("x")}))))
	assert.ErrorContains(t, err, "no usr/src/linux-source-*.tar.xz")
}
