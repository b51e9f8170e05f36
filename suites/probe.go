package suites

import (
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/llconform/llconform/internal/role"
	"github.com/llconform/llconform/suites/check"
)

// Some cases need a second process that inherits the case's domain. The
// suite binary re-executes itself with ProbeEnv set; its role
// (internal/role) performs the action and prints its outcome.
const ProbeEnv = "LLCONFORM_PROBE"

var probeActions = map[string]func(arg string) error{
	"read": openRead,
}

func init() {
	role.Register(ProbeEnv, probeMain)
	role.Register(ProbesEnv, probesMain)
	role.Register(netnsChildEnv, func(spec string) int {
		fmt.Println(privilegedPortChild(spec))
		return 0
	})
}

// probeMain performs one probe action and prints its outcome.
func probeMain(spec string) int {
	action, arg, _ := strings.Cut(spec, ":")
	f, ok := probeActions[action]
	if !ok {
		fmt.Printf("unknown probe %q\n", action)
		return 2
	}
	fmt.Println(check.Outcome(f(arg)))
	return 0
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
		return "probe failed: " + check.Outcome(err)
	}
	return strings.TrimSpace(string(out))
}
