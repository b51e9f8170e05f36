package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llconform/llconform/internal/arch"
	"github.com/llconform/llconform/kernels/kconfig"
)

func init() {
	commands["kconfig"] = command{"print the kernel config fragment the suites need, or --check a .config against it", runKconfig}
}

func runKconfig(args []string) error {
	fs := flag.NewFlagSet("kconfig", flag.ContinueOnError)
	check := fs.String("check", "", "check this .config (or a build directory holding one): list what is missing, exit 1 if anything is")
	archName := fs.String("arch", "", "the fragment of this architecture only ("+arch.Names()+"; default: every option, each marked)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: llconform kconfig [--arch ARCH] > llconform.config\n"+
			"       llconform kconfig --check PATH/.config\n\n"+
			"Exit status: 0 the fragment, or nothing missing; 1 options missing; 2 bad usage or unreadable .config.")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var a arch.Arch
	if *archName != "" {
		var err error
		if a, err = arch.Parse(*archName); err != nil {
			return usagef("--arch %s: want %s", *archName, arch.Names())
		}
	}
	if *check == "" {
		fmt.Print(kconfig.Fragment(a))
		return nil
	}
	path := configPath(*check)
	cfg, err := kconfig.Load(path)
	if err != nil {
		return usagef("--check %s: %v (give a kernel's .config or its build directory)", *check, err)
	}
	if len(cfg) == 0 {
		return usagef("--check %s: no CONFIG_ option in it: not a kernel .config", path)
	}
	missing := cfg.Missing()
	ids, err := (own{}).caseIDs()
	if err != nil {
		return err
	}
	for _, w := range configWarnings(missing, ids) {
		fmt.Println(w)
	}
	if len(missing) > 0 {
		fmt.Printf("%s lacks %d option%s: merge 'llconform kconfig' into it (see the README, \"Testing your own kernel\")\n",
			path, len(missing), plural(len(missing)))
		return exitError(exitFailed)
	}
	fmt.Printf("%s has every option the suites need\n", path)
	return nil
}

// configPath is the .config of a build directory, or the path itself.
func configPath(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return filepath.Join(p, ".config")
	}
	return p
}

// configWarnings says, per missing option, what it costs, counting the
// cases (their IDs, area/name) it would skip.
func configWarnings(missing []kconfig.Option, ids []string) []string {
	out := make([]string, len(missing))
	for i, o := range missing {
		out[i] = o.Warning(ids)
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
