package selftests

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/llconform/llconform/internal/debtest"

	"github.com/llconform/llconform/internal/arch"
	"gotest.tools/v3/assert"
)

// The helpers come from the Makefile's TEST_GEN_PROGS_EXTENDED, over
// continued lines and later additions; the other lists are not helpers.
func TestHelpers(t *testing.T) {
	mk := []byte(`CFLAGS += -Wall -O2 $(KHDR_INCLUDES)
src_test := $(wildcard *_test.c)
TEST_GEN_PROGS := $(src_test:.c=)
TEST_GEN_PROGS += fs_bench

TEST_GEN_PROGS_EXTENDED := \
	true \
	sandbox-and-launch \
	wait-pipe \
	wait-pipe-sandbox
TEST_GEN_PROGS_EXTENDED += true later

$(TEST_GEN_PROGS_EXTENDED): LDFLAGS += -static
`)
	assert.DeepEqual(t, helpers(mk), []string{"true", "sandbox-and-launch", "wait-pipe", "wait-pipe-sandbox", "later"})
	assert.Equal(t, len(helpers([]byte("TEST_GEN_PROGS := a_test\n"))), 0)
}

// The tests are the *_test.c files, in name order; fs_bench is not one.
func TestPrograms(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"net_test.c", "base_test.c", "fs_bench.c", "true.c", "common.h"} {
		assert.NilError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	got, err := programs(dir)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"base_test", "net_test"})
	_, err = programs(t.TempDir())
	assert.ErrorContains(t, err, "no *_test.c")
}

// A UAPI header comes out as `make headers_install` writes it.
func TestExportHeader(t *testing.T) {
	in := `#ifndef _UAPI_LINUX_LANDLOCK_H
#define _UAPI_LINUX_LANDLOCK_H
#include <linux/compiler.h>
#include <linux/types.h>
struct landlock_path_beneath_attr {
	__u64 allowed_access;
	__s32 parent_fd;
} __packed;
static inline int f(void __user *p, const char __force *q) { asm ("" ::: "memory"); return 0; }
__attribute_const__ int g(void);
#endif /* _UAPI_LINUX_LANDLOCK_H */`
	want := `#ifndef _LINUX_LANDLOCK_H
#define _LINUX_LANDLOCK_H

#include <linux/types.h>
struct landlock_path_beneath_attr {
	__u64 allowed_access;
	__s32 parent_fd;
} __attribute__((packed));
static __inline__ int f(void *p, const char *q) { __asm__ ("" ::: "memory"); return 0; }
 int g(void);
#endif /* _LINUX_LANDLOCK_H */`
	assert.Equal(t, string(exportHeader([]byte(in))), want)
}

// The selftests, the kselftest headers and the UAPI headers (prepared)
// come out of the tarball inside the package payload, and nothing else.
func TestSourceFiles(t *testing.T) {
	src := debtest.Tar(t, map[string][]byte{
		"linux-source-7.3/Makefile":                                      []byte("VERSION = 7\n"),
		"linux-source-7.3/samples/landlock/sandboxer.c":                  []byte("x"),
		"linux-source-7.3/include/uapi/linux/landlock.h":                 []byte("#ifndef _UAPI_LINUX_LANDLOCK_H\n"),
		"linux-source-7.3/include/uapi/linux/netfilter/x.h":              []byte("y"),
		"linux-source-7.3/include/linux/landlock.h":                      []byte("kernel-internal"),
		"linux-source-7.3/tools/testing/selftests/kselftest_harness.h":   []byte("h"),
		"linux-source-7.3/tools/testing/selftests/kselftest.h":           []byte("k"),
		"linux-source-7.3/tools/testing/selftests/lib.mk":                []byte("mk"),
		"linux-source-7.3/tools/testing/selftests/landlock/Makefile":     []byte("TEST_GEN_PROGS_EXTENDED := true\n"),
		"linux-source-7.3/tools/testing/selftests/landlock/base_test.c":  []byte("int main(void) { return 0; }\n"),
		"linux-source-7.3/tools/testing/selftests/seccomp/seccomp_bpf.c": []byte("z"),
	})
	payload := debtest.Tar(t, map[string][]byte{"./usr/src/linux-source-7.3.tar.xz": debtest.Xz(t, src)})
	got := map[string]string{}
	err := sourceFiles(tar.NewReader(bytes.NewReader(payload)), func(name string, b []byte) error {
		got[name] = string(b)
		return nil
	})
	assert.NilError(t, err)
	assert.DeepEqual(t, got, map[string]string{
		"usr/include/linux/landlock.h":    "#ifndef _LINUX_LANDLOCK_H\n",
		"usr/include/linux/netfilter/x.h": "y",
		"selftests/kselftest_harness.h":   "h",
		"selftests/kselftest.h":           "k",
		"selftests/landlock/Makefile":     "TEST_GEN_PROGS_EXTENDED := true\n",
		"selftests/landlock/base_test.c":  "int main(void) { return 0; }\n",
	})

	// A tree without the selftests is an error that says what it lacks.
	src = debtest.Tar(t, map[string][]byte{"linux-source-5.10/include/uapi/linux/landlock.h": []byte("x")})
	payload = debtest.Tar(t, map[string][]byte{"./usr/src/linux-source-5.10.tar.xz": debtest.Xz(t, src)})
	err = sourceFiles(tar.NewReader(bytes.NewReader(payload)), func(string, []byte) error { return nil })
	assert.ErrorContains(t, err, "lacks selftests/landlock/Makefile")

	err = sourceFiles(tar.NewReader(bytes.NewReader(debtest.Tar(t, map[string][]byte{"./usr/share/doc/x": []byte("x")}))), nil)
	assert.ErrorContains(t, err, "no usr/src/linux-source-*.tar.xz")
}

// A compiler that cannot find libcap.a prints the bare name back: the
// error then says what to install.
func TestCheckLibcap(t *testing.T) {
	dir := t.TempDir()
	gcc := filepath.Join(dir, "gcc")
	assert.NilError(t, os.WriteFile(gcc, []byte("#!/bin/sh\necho libcap.a\n"), 0o755))
	tc := toolchain{arch: arch.ARM64, gcc: gcc, install: "apt-get install libcap-dev:arm64"}
	assert.ErrorContains(t, tc.check(context.Background()), "no libcap.a for arm64: apt-get install libcap-dev:arm64")

	assert.NilError(t, os.WriteFile(gcc, []byte("#!/bin/sh\necho /usr/lib/aarch64-linux-gnu/libcap.a\n"), 0o755))
	assert.NilError(t, tc.check(context.Background()))
}
