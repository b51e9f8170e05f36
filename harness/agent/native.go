package agent

import (
	"bytes"
	"io"
	"time"

	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/results"
)

// Native runs the suites on this machine's kernel, root and (when root)
// unprivileged, and returns a one-kernel run document. The stream also
// goes to extra (e.g. --json), when given. With expectABI the kernel must
// report Landlock enabled with that ABI (ABI 0: absent or disabled is not
// distinguished here, so use a VM run for those).
func Native(s protocol.Settings, args []string, extra io.Writer, expectABI *int) (*results.Run, error) {
	var buf bytes.Buffer
	sink := io.Writer(&buf)
	if extra != nil {
		sink = io.MultiWriter(&buf, extra)
	}
	start := time.Now()
	runErr := Suite(s, protocol.NewStreamWriter(sink), true)
	st, err := protocol.ReadStream(&buf)
	if err != nil {
		return nil, err
	}
	kr := results.KernelRun{Name: "native", Status: results.StatusComplete, Cases: st.Cases}
	if st.Header != nil {
		kr.Env = *st.Header
		kr.Name = "native-" + st.Header.Release
		kr.Arch, _ = arch.OfUname(st.Header.Arch)
	}
	if ok, why := st.Complete(); !ok {
		kr.Status, kr.Reason = results.StatusBroken, why
	}
	if expectABI != nil {
		kr.Env.ExpectedABI = expectABI
		if c, ok := results.StateCase(landlock.Enabled, expectABI, kr.Env); ok {
			kr.Cases = append(kr.Cases, c)
		}
	}
	kr.Timings.SuitesMS = time.Since(start).Milliseconds()
	run := results.NewRun(start, args, []results.KernelRun{kr})
	return run, runErr
}
