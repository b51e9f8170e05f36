package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llconform/llconform/landlock"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func kernelABI(name string, abi int, errata uint64, cases ...Case) KernelRun {
	return KernelRun{Name: name, Arch: "amd64", Status: StatusComplete, Cases: cases,
		Env: Env{Release: name, LandlockStatus: landlock.Enabled, ABI: abi, Errata: errata, ErrataKnown: true}}
}

func withVerdict(c Case, v Verdict, observed, detail string) Case {
	c.Verdict, c.Observed, c.Detail = v, observed, detail
	return c
}

// The 6.12 vs 6.18 comparison: what their ABIs and errata explain is
// marked so, every other difference is not, and the cases they observed
// alike are not listed.
func TestDiffKernelsExplains(t *testing.T) {
	same := pass("fs", "read_file", "root", "EACCES")
	sameOtherDetail := pass("tcp", "bind", "root", "EACCES")
	abiOld, abiNew := pass("base", "abi/version_query", "root", "ABI 6"), pass("base", "abi/version_query", "root", "ABI 7")
	erratum := pass("errata", "4_whiteout", "root", "fixed")
	deviates := pass("tcp", "fastopen", "unpriv", "EACCES")
	skipped := Case{Area: "fs", Name: "overlay", Priv: "root", Verdict: Skip, Detail: "no overlayfs module"}
	onlyNew := pass("downgrade", "ceiling_7/fs", "root", "EACCES")

	old := kernelABI("6.12", 6, 0xf,
		same, withVerdict(sameOtherDetail, Pass, "EACCES", "library: fully enforced at effective ABI 6"),
		abiOld, erratum, deviates, skipped)
	new := kernelABI("6.18", 7, 0x7,
		same, withVerdict(sameOtherDetail, Pass, "EACCES", "library: fully enforced at effective ABI 7"),
		abiNew, withVerdict(erratum, Known, "unfixed", "erratum 4 not fixed"),
		withVerdict(deviates, Warn, "ok", "the kernel lacks a fix"), withVerdict(skipped, Skip, "", "no overlayfs module: ENOEXEC"),
		onlyNew)
	d := DiffKernels(&Run{ID: "r1"}, &old, &Run{ID: "r1"}, &new)

	var got []string
	for _, c := range d.Differences {
		got = append(got, c.ID+" "+explainedWord(c.Explained))
	}
	assert.DeepEqual(t, got, []string{
		// In the cases' area order (fs, tcp, base, errata, downgrade).
		"fs/overlay/root UNEXPLAINED",
		"tcp/fastopen/unpriv UNEXPLAINED",
		"base/abi/version_query/root explained",
		"errata/4_whiteout/root explained",
		"downgrade/ceiling_7/fs/root explained",
	})
	assert.Equal(t, d.Same, 2, "a detail that only names the kernel's ABI is no difference")
	assert.Equal(t, d.Explained, 3)
	assert.Equal(t, d.Unexplained, 2)
	assert.Check(t, is.Contains(d.Differences[1].Why, "6.18/amd64: warn (the kernel lacks a fix)"))
	assert.Check(t, is.Equal(d.Differences[2].Why, "expected ABI 6 on ABI 6, ABI 7 on ABI 7"))
	assert.Check(t, is.Contains(d.Differences[3].Why, "erratum: 6.18/amd64: erratum 4 not fixed"))
	assert.Check(t, d.Differences[4].Old == nil && d.Differences[4].New != nil)

	var text bytes.Buffer
	assert.NilError(t, d.WriteText(&text))
	for _, want := range []string{
		"diff 6.12/amd64 (ABI 6) vs 6.18/amd64 (ABI 7)",
		"5 cases differ: 2 unexplained, 3 explained by the ABI or errata; 2 alike",
		"\nfs: 1 (1 unexplained)\n",
		"! tcp/fastopen/unpriv: pass EACCES → warn ok\n",
		"  base/abi/version_query/root: pass ABI 6 → pass ABI 7\n    explained: expected ABI 6 on ABI 6, ABI 7 on ABI 7\n",
		"! fs/overlay/root: skip (no overlayfs module) → skip (no overlayfs module: ENOEXEC)\n",
	} {
		assert.Check(t, is.Contains(text.String(), want))
	}
	assert.Check(t, !strings.Contains(text.String(), "read_file"))

	var md bytes.Buffer
	assert.NilError(t, d.WriteMarkdown(&md))
	assert.Check(t, is.Contains(md.String(), "### tcp\n\n| case | 6.12/amd64 | 6.18/amd64 | |\n|---|---|---|---|\n| `tcp/fastopen/unpriv` | pass EACCES | warn ok | **unexplained**: "))

	b, err := json.Marshal(d)
	assert.NilError(t, err)
	var back KernelDiff
	assert.NilError(t, json.Unmarshal(b, &back))
	assert.DeepEqual(t, back, d)
}

// Two uploads of one series (the same ABI): a case only one of them ran
// is unexplained, and kernels observing alike have nothing to list.
func TestDiffKernelsSameABI(t *testing.T) {
	a := pass("fs", "read_file", "root", "EACCES")
	b := pass("scope", "signal", "root", "EPERM")
	old := kernelABI("7.2.6", 10, 0xf, a, b)
	new := kernelABI("7.2.12", 10, 0xf, a)
	d := DiffKernels(nil, &old, nil, &new)
	assert.Equal(t, len(d.Differences), 1)
	assert.Check(t, !d.Differences[0].Explained)
	assert.Check(t, is.Contains(d.Differences[0].Why, "only on 7.2.6/amd64: 7.2.12/amd64, of the same Landlock state, did not report it"))

	new.Cases = append(new.Cases, b)
	d = DiffKernels(nil, &old, nil, &new)
	assert.Assert(t, d.Empty())
	assert.Equal(t, d.Summary(), "no observation differs (2 cases alike)")
	// The same expectation, another outcome: never explained.
	new.Cases[1] = withVerdict(b, Fail, "ok", "")
	d = DiffKernels(nil, &old, nil, &new)
	assert.Equal(t, d.Unexplained, 1)
}

func TestFindKernel(t *testing.T) {
	run := &Run{ID: "r", Kernels: []KernelRun{{Name: "7.3", Arch: "amd64"}, {Name: "7.3", Arch: "arm64"}, {Name: "7.3-rt", Arch: "amd64"}}}
	k, err := FindKernel(run, "7.3-rt")
	assert.NilError(t, err)
	assert.Equal(t, k.Key(), "7.3-rt/amd64")
	k, err = FindKernel(run, "7.3/arm64")
	assert.NilError(t, err)
	assert.Equal(t, k.Key(), "7.3/arm64")
	_, err = FindKernel(run, "7.3")
	assert.ErrorContains(t, err, "on several architectures: name one as NAME/ARCH")
	_, err = FindKernel(run, "6.1")
	assert.ErrorContains(t, err, `no kernel "6.1" in run r (have: 7.3/amd64, 7.3/arm64, 7.3-rt/amd64)`)
}

func TestSameABIPairs(t *testing.T) {
	run := &Run{Kernels: []KernelRun{kernelABI("7.2", 10, 0), kernelABI("7.3", 11, 0), kernelABI("7.3-rt", 11, 0), kernelABI("7.3-generic", 11, 0)}}
	run.Kernels = append(run.Kernels, kernelABI("7.3", 11, 0))
	run.Kernels[4].Arch = "arm64"
	var got []string
	for _, p := range SameABIPairs(run) {
		got = append(got, p[0].Key()+" "+p[1].Key())
	}
	assert.DeepEqual(t, got, []string{"7.3/amd64 7.3-rt/amd64", "7.3/amd64 7.3-generic/amd64"})
}

// The HTML report shows what two columns of the same ABI observed
// differently, and nothing for a run without such columns.
func TestHTMLDifferences(t *testing.T) {
	a := pass("scope", "signal", "root", "EPERM")
	run := &Run{ID: "r", Kernels: []KernelRun{
		kernelABI("7.2", 10, 0xf, a),
		kernelABI("7.3", 11, 0xf, a),
		kernelABI("7.3-rt", 11, 0xf, withVerdict(a, Fail, "ok", "")),
	}}
	var b bytes.Buffer
	assert.NilError(t, HTML(&b, run))
	out := b.String()
	assert.Check(t, is.Contains(out, `<h2 id="differences">Differences between kernels of the same ABI</h2>`))
	assert.Check(t, is.Contains(out, `<summary><span class="area">7.3/amd64 (ABI 11) vs 7.3-rt/amd64 (ABI 11)</span> <span class="why">1 case differs: 1 unexplained`))
	assert.Check(t, is.Contains(out, `<td class="mono">scope/signal/root</td><td>pass EPERM</td><td>fail ok</td><td class="warn">unexplained: 7.3-rt/amd64: fail</td>`))
	assert.Check(t, !strings.Contains(out, "7.2/amd64 (ABI 10) vs"))

	b.Reset()
	assert.NilError(t, HTML(&b, fixture()))
	assert.Check(t, !strings.Contains(b.String(), "Differences between"))
}
