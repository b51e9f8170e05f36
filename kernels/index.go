package kernels

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Package is one binary package of a Debian index.
type Package struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"` // path relative to the mirror root
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Suite    string `json:"suite,omitempty"` // set by Resolve: the suite it was found in
}

// DefaultKeyring is the Debian archive keyring of the debian-archive-keyring
// package. Newer releases of the package ship it as .pgp as well.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

func defaultKeyring() string {
	if _, err := os.Stat(DefaultKeyring); err != nil {
		alt := strings.TrimSuffix(DefaultKeyring, ".gpg") + ".pgp"
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return DefaultKeyring
}

func readKeyring(path string) (openpgp.EntityList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Debian archive keyring: %w (apt-get install debian-archive-keyring, or set LLCONFORM_KEYRING or --keyring)", err)
	}
	kr, err := openpgp.ReadKeyRing(bytes.NewReader(b))
	if err != nil || len(kr) == 0 {
		// A user-given keyring may be ASCII-armored.
		if akr, aerr := openpgp.ReadArmoredKeyRing(bytes.NewReader(b)); aerr == nil && len(akr) > 0 {
			return akr, nil
		}
		return nil, fmt.Errorf("%s is not an OpenPGP keyring (%v): apt-get install debian-archive-keyring, or set LLCONFORM_KEYRING", path, err)
	}
	return kr, nil
}

// release is the signed text of an InRelease file.
type release struct {
	text  []byte
	date  time.Time // Date:, zero if absent
	until time.Time // Valid-Until:, zero if absent
}

// verifyInRelease checks the clearsigned InRelease of suite against the
// keyring and returns its signed text. Debian signs with several keys at
// once; one good signature from the keyring is enough.
func verifyInRelease(data []byte, keyring openpgp.EntityList, suite string) (release, error) {
	block, _ := clearsign.Decode(data)
	if block == nil {
		return release{}, fmt.Errorf("InRelease of %s is not clearsigned: is the mirror a Debian archive?", suite)
	}
	sigs, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return release{}, fmt.Errorf("InRelease of %s: reading the signature: %w", suite, err)
	}
	var errs []error
	pr := packet.NewReader(bytes.NewReader(sigs))
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			continue
		}
		var one bytes.Buffer
		if err := sig.Serialize(&one); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(block.Bytes), &one, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		rel := parseRelease(block.Plaintext)
		if err := rel.checkSuite(suite); err != nil {
			return release{}, err
		}
		return rel, nil
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no signature"))
	}
	return release{}, fmt.Errorf("bad signature on the InRelease of %s (%w): the mirror serves an index the Debian archive keyring did not sign; check the mirror, or update debian-archive-keyring", suite, errors.Join(errs...))
}

func parseRelease(text []byte) release {
	r := release{text: text}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "Date":
			r.date, _ = time.Parse(time.RFC1123, v)
		case "Valid-Until":
			r.until, _ = time.Parse(time.RFC1123, v)
		}
	}
	return r
}

// checkSuite refuses a correctly signed Release of another suite, which a
// mirror could otherwise substitute (e.g. an old suite for a new one).
func (r release) checkSuite(suite string) error {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(r.text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok && (k == "Suite" || k == "Codename") {
			if v == suite {
				return nil
			}
			names = append(names, v)
		}
	}
	if len(names) == 0 {
		return nil // nothing to compare against
	}
	return fmt.Errorf("the signed InRelease at dists/%s is for %s: the mirror is misconfigured", suite, strings.Join(names, "/"))
}

// hash returns the SHA256 and size the Release text gives for path.
func (r release) hash(path string) (string, int64, error) {
	inSHA := false
	sc := bufio.NewScanner(bytes.NewReader(r.text))
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

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// parsePackages reads the stanzas of an uncompressed Packages file whose
// package name matches re. Stanzas without a file or hash are useless to
// us and dropped.
func parsePackages(r io.Reader, re *regexp.Regexp) ([]Package, error) {
	var out []Package
	var cur Package
	keep := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	flush := func() {
		if keep && cur.Filename != "" && cur.SHA256 != "" && cur.Version != "" {
			out = append(out, cur)
		}
		cur, keep = Package{}, false
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			flush()
			continue
		}
		// Fast path: only five fields matter, and continuation lines
		// (long descriptions) never do.
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			continue
		}
		switch string(k) {
		case "Package":
			cur.Name = string(v)
			keep = re.MatchString(cur.Name)
		case "Version":
			if keep {
				cur.Version = string(v)
			}
		case "Filename":
			if keep {
				cur.Filename = string(v)
			}
		case "SHA256":
			if keep {
				cur.SHA256 = string(v)
			}
		case "Size":
			if keep {
				cur.Size, _ = strconv.ParseInt(string(v), 10, 64)
			}
		}
	}
	flush()
	return out, sc.Err()
}
