// Command llconform-agent is the /init of the llconform initramfs (see
// agent.Main). The llconform command can serve as /init too, when it is
// statically linked and the source tree is not at hand.
package main

import (
	"fmt"
	"os"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/internal/sysmon"
)

func main() {
	sysmon.Quiet() // in the VM: the runtime's monitor below the cases (internal/sysmon)
	role.Run()     // a re-executed child (a process-isolated case, the unprivileged pass, a probe) does its part and exits
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "llconform-agent runs as /init inside the llconform VM; use 'llconform native' on a host")
		os.Exit(2)
	}
	agent.Main()
}
