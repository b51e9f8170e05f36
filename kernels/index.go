package kernels

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ulikunitz/xz"
)

// Package is one binary package of a Debian index.
type Package struct {
	Name, Version, Filename, SHA256 string
	Size                            int64
}

// DefaultKeyring is the Debian archive keyring.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// verifyInRelease checks the clearsigned InRelease against the keyring and
// returns the signed text.
func verifyInRelease(data []byte, keyringPath string) ([]byte, error) {
	f, err := os.Open(keyringPath)
	if err != nil {
		return nil, fmt.Errorf("reading the Debian archive keyring: %w (apt-get install debian-archive-keyring, or set LLCONFORM_KEYRING)", err)
	}
	defer f.Close()
	keyring, err := openpgp.ReadKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OpenPGP keyring: %w", keyringPath, err)
	}
	block, _ := clearsign.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("InRelease is not clearsigned")
	}
	if _, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(block.Bytes), block.ArmoredSignature.Body, nil); err != nil {
		return nil, fmt.Errorf("InRelease signature does not verify against %s: %w", keyringPath, err)
	}
	return block.Plaintext, nil
}

// releaseHash returns the SHA256 and size the Release text gives for path.
func releaseHash(release []byte, path string) (string, int64, error) {
	inSHA := false
	sc := bufio.NewScanner(bytes.NewReader(release))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			inSHA = strings.HasPrefix(line, "SHA256:")
			continue
		}
		f := strings.Fields(line)
		if inSHA && len(f) == 3 && f[2] == path {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return f[0], n, err
		}
	}
	return "", 0, fmt.Errorf("the signed Release does not list %s", path)
}

func checkSHA256(data []byte, want string) error {
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("sha256 %s, the signed index says %s", got, want)
	}
	return nil
}

// parsePackages reads the stanzas of an uncompressed Packages file whose
// package name matches re.
func parsePackages(r io.Reader, re *regexp.Regexp) ([]Package, error) {
	var out []Package
	var cur Package
	keep := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	flush := func() {
		if keep && cur.Filename != "" && cur.SHA256 != "" {
			out = append(out, cur)
		}
		cur, keep = Package{}, false
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "Package":
			cur.Name, keep = v, re.MatchString(v)
		case "Version":
			cur.Version = v
		case "Filename":
			cur.Filename = v
		case "SHA256":
			cur.SHA256 = v
		case "Size":
			cur.Size, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	flush()
	return out, sc.Err()
}

// newest returns the package with the highest Debian version.
func newest(pkgs []Package) (Package, bool) {
	if len(pkgs) == 0 {
		return Package{}, false
	}
	best := pkgs[0]
	for _, p := range pkgs[1:] {
		if CompareVersions(p.Version, best.Version) > 0 {
			best = p
		}
	}
	return best, true
}

func unxz(data []byte) (io.Reader, error) { return xz.NewReader(bytes.NewReader(data)) }
