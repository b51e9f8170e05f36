// Command llconform-agent is the /init of the llconform initramfs (see
// harness.AgentMain). The llconform command can serve as /init too, when
// it is statically linked and the source tree is not at hand.
package main

import (
	"fmt"
	"os"

	"github.com/llconform/llconform/harness"
)

func main() {
	harness.ChildMain() // re-executed roles: probes, process-isolated cases, the unprivileged pass
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "llconform-agent runs as /init inside the llconform VM; use 'llconform native' on a host")
		os.Exit(2)
	}
	harness.AgentMain()
}
