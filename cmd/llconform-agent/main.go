// Command llconform-agent is the /init of the llconform initramfs (see
// agent.Main). The llconform command can serve as /init too, when it is
// statically linked and the source tree is not at hand.
package main

import (
	"fmt"
	"os"

	"github.com/llconform/llconform/agent"
)

func main() {
	agent.ChildMain() // re-executed roles: process-isolated cases, the unprivileged pass
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "llconform-agent runs as /init inside the llconform VM; use 'llconform native' on a host")
		os.Exit(2)
	}
	agent.Main()
}
