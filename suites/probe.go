package suites

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Some cases need a second process that inherits the case's domain. The
// suite binary re-executes itself with ProbeEnv set; ProbeMain, called at
// the top of every main and TestMain, performs the action and prints its
// outcome.
const ProbeEnv = "LLCONFORM_PROBE"

var probeActions = map[string]func(arg string) error{
	"read": openRead,
}

// ProbeMain runs a probe action and exits if this process is a probe.
func ProbeMain() {
	probesMain()
	spec, ok := os.LookupEnv(ProbeEnv)
	if !ok {
		return
	}
	action, arg, _ := strings.Cut(spec, ":")
	f, ok := probeActions[action]
	if !ok {
		fmt.Printf("unknown probe %q\n", action)
		os.Exit(2)
	}
	fmt.Println(Outcome(f(arg)))
	os.Exit(0)
}

// probe runs action in a child of the calling thread and returns its
// outcome. The child is forked from the calling (locked) thread, so it
// inherits that thread's domain.
func probe(self, action, arg string) string {
	cmd := exec.Command(self)
	cmd.Env = []string{ProbeEnv + "=" + action + ":" + arg}
	// Pipes, not /dev/null: the caller's domain may deny opening it.
	cmd.Stdin, cmd.Stderr = strings.NewReader(""), io.Discard
	out, err := cmd.Output()
	if err != nil {
		return "probe failed: " + Outcome(err)
	}
	return strings.TrimSpace(string(out))
}
