// Command llconform checks that kernels (and the landlock library) do
// exactly what their Landlock ABI promises. This package is the CLI only:
// flags, printing and exit codes; the work is in agent, matrix, kernels,
// vm and results.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/internal/sysmon"
	"github.com/llconform/llconform/results"
	"golang.org/x/term"
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
	fmt.Fprint(os.Stderr, "\nRun 'llconform <command> -h' for the flags of a command.\n"+
		"Exit status: 0 every cell passed, 1 a cell failed or broke (or a regression), 2 bad usage or unreadable input.\n")
}

// Exit statuses.
const (
	exitFailed = 1 // a failing or broken cell, an incomplete run, a regression
	exitUsage  = 2 // bad usage, unreadable input
)

// exitError carries an exit status without another message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is bad usage: the message says what is valid; exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	sysmon.Quiet() // in the VM: the runtime's monitor below the cases (internal/sysmon)
	role.Run()     // a re-executed child (a process-isolated case, the unprivileged pass, a probe) does its part and exits
	if os.Getpid() == 1 {
		agent.Main() // this binary is the VM's /init (see vm.Prepare)
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(exitUsage)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "llconform: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(exitUsage)
	}
	err := cmd.run(os.Args[2:])
	var code exitError
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "llconform %s: %v\n", os.Args[1], err)
		os.Exit(exitUsage)
	default:
		fmt.Fprintln(os.Stderr, "llconform:", err)
		os.Exit(exitFailed)
	}
}

// exitFor maps a run to the command's result: nil when it passed.
func exitFor(run *results.Run, strict bool) error {
	if run.Passed(strict) {
		return nil
	}
	return exitError(exitFailed)
}

// isTerminal reports whether f is a terminal (colour on).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

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

// stoppable is the context of a command that boots VMs or fetches: it ends
// on Ctrl-C and on SIGTERM (timeout(1), a CI job's cancel), so that the
// VMs are killed and the partial results written, not left running.
func stoppable() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
