// Package role is the one registry of the roles a re-executed llconform
// process can take: a process-isolated case, the unprivileged pass, a
// probe that inherits a case's domain, a child in its own namespaces.
// A role is named by the environment variable that selects it; packages
// register theirs at init, and Run, called first in every main and
// TestMain that runs cases, performs the role this process was started
// for and exits. Nothing exits at init.
package role

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Main is a role's body: it gets its variable's value and returns the
// process's exit status.
type Main func(value string) int

var roles = map[string]Main{}

// Register adds a role, selected by the environment variable name.
func Register(name string, m Main) {
	if _, dup := roles[name]; dup {
		panic("role: " + name + " registered twice")
	}
	roles[name] = m
}

// Names lists the registered roles' variables, sorted.
func Names() []string {
	var out []string
	for n := range roles {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Run performs this process's role and exits, if it has one; it returns
// when the process has none. Two roles at once are a harness bug (a
// child that inherited its parent's role: see Environ), exit 3.
func Run() {
	var mine []string
	for _, n := range Names() {
		if _, ok := os.LookupEnv(n); ok {
			mine = append(mine, n)
		}
	}
	switch len(mine) {
	case 0:
		return
	case 1:
		os.Exit(roles[mine[0]](os.Getenv(mine[0])))
	}
	fmt.Fprintf(os.Stderr, "llconform: this process has more than one role (%s)\n", strings.Join(mine, ", "))
	os.Exit(3)
}

// Environ is base without any role's variable, plus the role name=value:
// the environment of a child started for that role.
func Environ(base []string, name, value string) []string {
	out := make([]string, 0, len(base)+1)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, isRole := roles[k]; !isRole {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}
