package libraries

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"runtime"
	"strings"

	"github.com/llconform/llconform/internal/arch"
	"github.com/ulikunitz/xz"
)

// SourceFiles finds the source tarball (usr/src/linux-source-*.tar.xz) in
// the payload of a linux-source package and gives each regular file whose
// path match matches to put, with the submatches and the content, until
// put says it is done or the tarball ends.
func SourceFiles(payload *tar.Reader, match *regexp.Regexp, put func(m []string, data []byte) (done bool, err error)) error {
	for {
		h, err := payload.Next()
		if err == io.EOF {
			return errors.New("no usr/src/linux-source-*.tar.xz in the package")
		}
		if err != nil {
			return err
		}
		if !strings.HasPrefix(strings.TrimPrefix(h.Name, "./"), "usr/src/linux-source-") || !strings.HasSuffix(h.Name, ".tar.xz") {
			continue
		}
		xr, err := xz.NewReader(payload)
		if err != nil {
			return err
		}
		src := tar.NewReader(xr)
		for {
			h, err := src.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			m := match.FindStringSubmatch(h.Name)
			if m == nil || h.Typeflag != tar.TypeReg {
				continue
			}
			b, err := io.ReadAll(src)
			if err != nil {
				return err
			}
			if done, err := put(m, b); done || err != nil {
				return err
			}
		}
	}
}

// triplets are the GNU triplets and Debian's cross-compiler packages of
// the guest architectures.
var triplets = map[arch.Arch]struct{ goarch, triplet, cross string }{
	arch.AMD64: {"amd64", "x86_64-linux-gnu", "gcc-x86-64-linux-gnu libc6-dev-amd64-cross"},
	arch.ARM64: {"arm64", "aarch64-linux-gnu", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross"},
}

// CompilerFor finds the C compiler that builds static programs for a
// guest of architecture a: gcc for this host's own, Debian's cross
// compiler for another. install is the command that provides it and the
// guest architecture's packages libs (e.g. libcap-dev), for the caller's
// error messages; the error of a missing compiler says it.
func CompilerFor(a arch.Arch, libs ...string) (gcc, install string, err error) {
	t, ok := triplets[a]
	if !ok {
		return "", "", fmt.Errorf("no C compiler known for %q", a)
	}
	name := "gcc"
	if t.goarch == runtime.GOARCH {
		install = strings.Join(append([]string{"apt-get install gcc libc6-dev"}, libs...), " ")
	} else {
		name = t.triplet + "-gcc"
		install = "apt-get install " + t.cross
		for _, l := range libs {
			install += " " + l + ":" + string(a)
		}
		if len(libs) > 0 {
			// The other architecture's libraries come from its index.
			install = fmt.Sprintf("dpkg --add-architecture %s && apt-get update && %s", a, install)
		}
	}
	if gcc, err = exec.LookPath(name); err != nil {
		return "", install, fmt.Errorf("%s not found: %s", name, install)
	}
	return gcc, install, nil
}
