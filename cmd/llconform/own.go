package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/llconform/llconform/harness/agent"
	"github.com/llconform/llconform/harness/agent/protocol"
	"github.com/llconform/llconform/harness/matrix"
	"github.com/llconform/llconform/kernels"
	"github.com/llconform/llconform/kernels/kconfig"
)

// own is how run treats the user's own kernels: the name they gave, the
// directory of their modules, and the selection (for counting the cases a
// missing option costs).
type own struct {
	name     string
	modules  string
	settings protocol.Settings
}

// target turns a user's kernel into a target: its config is checked
// before it boots (a missing option is a warning, and a note of the
// kernel: the kernel still runs), and its modules of the guest modules
// come along as a catalog kernel's do.
func (o own) target(path string, k kernels.Kernel) (matrix.Target, error) {
	t := matrix.TargetOf(k)
	data, source, err := kernels.OwnConfig(path)
	if err != nil {
		return t, err
	}
	if data != nil {
		cfg, err := kconfig.Parse(bytes.NewReader(data))
		if err != nil {
			return t, fmt.Errorf("%s: %w", source, err)
		}
		if missing := cfg.Missing(); len(missing) > 0 {
			ids, err := o.caseIDs()
			if err != nil {
				return t, err
			}
			for _, w := range configWarnings(missing, ids) {
				fmt.Fprintf(os.Stderr, "warning: %s: %s\n", k.Name, w)
				t.Notes = append(t.Notes, w+" (kernel config "+source+")")
			}
			fmt.Fprintf(os.Stderr, "warning: %s: its config lacks %d option%s the suites need: 'llconform kconfig' prints them all; it runs anyway\n",
				k.Name, len(missing), plural(len(missing)))
		}
	}
	mods, from, err := kernels.OwnModules(path, o.modules, kernels.GuestModules)
	if err != nil {
		return t, fmt.Errorf("%s: its modules: %w", k.Name, err)
	}
	if len(mods) > 0 {
		fmt.Fprintf(os.Stderr, "%s: %d module%s from %s for the guest\n", k.Name, len(mods), plural(len(mods)), from)
		t.Modules, t.OwnModules = mods, true
	}
	return t, nil
}

// caseIDs are the IDs (area/name) of the cases the run selects.
func (o own) caseIDs() ([]string, error) {
	cases, err := agent.Select(agent.AllCases(o.settings.Libraries), o.settings)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.Area + "/" + c.Name
	}
	return ids, nil
}
