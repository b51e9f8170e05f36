// Command llconform checks that kernels (and the landlock library) do
// exactly what their Landlock ABI promises. This package only wires the
// other packages together.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/llconform/llconform/harness"
)

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

const usageHead = `llconform: Landlock conformance across kernels

Usage: llconform <command> [flags]

Commands:
`

func usage() {
	fmt.Fprint(os.Stderr, usageHead)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(os.Stderr, "\nRun 'llconform <command> -h' for the flags of a command.\n")
}

// exitError carries an exit status without another message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	harness.ChildMain() // re-executed roles: probes, process-isolated cases, the unprivileged pass
	if os.Getpid() == 1 {
		harness.AgentMain() // this binary is the VM's /init (see vm.Prepare)
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "llconform: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		if code, ok := err.(exitError); ok {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "llconform:", err)
		os.Exit(1)
	}
}

// listFlag is a comma-separated list flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
