package check

// Coverage items: the behaviour groups the suites promise to check. The
// "§" items follow the sections of the conformance inventory the cases
// were planned from (the kernel's selftests and LTP, per behaviour area);
// the others are the behaviour groups of this project's coverage work. A
// case names the items it checks in Case.Covers; COVERAGE.md in the
// repository is generated from them (TestCoverageTableIsCurrent), never
// kept by hand.

// CoverageItem is one group of behaviours.
type CoverageItem struct {
	ID    string
	Title string
}

// CoverageItems lists every item, in the order of the table.
var CoverageItems = []CoverageItem{
	{"§3.1", "Syscall argument validation: every errno of the three syscalls, in the documented check order"},
	{"§3.2", "Filesystem rights: the operation of each right and its denial errno"},
	{"§3.3", "REFER, rename, link: EXDEV versus EACCES"},
	{"§3.4", "Layers and inheritance"},
	{"§3.5", "Bind mounts and OverlayFS"},
	{"§3.6", "Truncate and fd-bound rights"},
	{"§3.7", "IOCTL_DEV"},
	{"§3.8", "TCP bind and connect"},
	{"§3.9", "UDP"},
	{"§3.10", "Scopes: abstract UNIX sockets, signals; RESOLVE_UNIX"},
	{"§3.11", "Special behaviours: mount, chroot, /proc, ptrace"},
	{"§3.12", "TSYNC"},
	{"§3.13", "Logging flags, ruleset_fd -1"},
	{"§3.14", "Quiet flag and masks"},
	{"§3.15", "NO_NEW_PRIVS flag"},
	{"§6.1", "Best-effort downgrade of the library, every ABI"},
	{"§6.2", "Struct size and field compatibility"},
	{"§6.3", "ABI feature probes"},
	{"§6.4", "Errata bit versus observed behaviour"},
	{"§6.5", "Layer limit across kernels"},
	{"§6.6", "TSYNC really restricts sibling threads"},
	{"§6.7", "NO_NEW_PRIVS flag fallback"},
	{"§6.8", "Restrict-flag ordering across ABIs"},
	{"§6.9", "Errno stability per right; EACCES over EXDEV"},
	{"§6.10", "Fixes without an erratum bit"},
	{"§6.11", "Fd-bound rights across versions"},
	{"§6.12", "Quiet never changes decisions"},
	{"§6.13", "Scope semantics"},
	{"§6.14", "Topology changes"},
	{"§6.15", "Detection paths: ENOSYS, EOPNOTSUPP, ABI"},
	{"§6.16", "Rarely tested errno paths"},
	{"§6.17", "Unprivileged portability"},

	{"fs.1", "REFER, rename, link: widening, denial, precedence, exchange, whiteout, directories, layers, mount roots"},
	{"fs.2", "Disconnected directories (erratum 3)"},
	{"fs.3", "Mount topology: mount, umount, remount, move_mount, pivot_root; rules on and over mount points; bind and overlay mounts"},
	{"fs.4", "Path walk: relative paths, .., chroot, symlinks"},
	{"fs.5", "Special filesystems and /proc"},
	{"fs.6", "Layers and inheritance"},
	{"fs.7", "Execute: execve and execveat(AT_EXECVE_CHECK)"},
	{"fs.8", "MAKE_SOCK through bind, MAKE_FIFO, MAKE_SYM"},
	{"fs.9", "Truncate and fd-bound rights: memfd, O_PATH, fds passed to other processes, layer stages"},
	{"fs.10", "IOCTL: always-allowed and denied commands on every kind of file"},

	{"sec.1", "Credentials: CVE-2024-42318, exec, setuid-style changes, clone"},
	{"sec.2", "ptrace: attach and traceme in every topology; PTRACE_MODE_READ checks; Yama"},
	{"sec.3", "Signals: real signals through every sending syscall, SIGIO/SIGURG, threads, nesting"},
	{"sec.4", "Abstract UNIX sockets: every type and topology, SCM_RIGHTS, socketpair"},
	{"sec.5", "RESOLVE_UNIX topologies and exemptions"},
	{"sec.6", "Audit records: logging flags, quiet, domains"},
	{"obs.1", "Trace events (7.3): syscall, denial, rule-evaluation and lifecycle events, logged against audit, escaping, who may read them"},
	{"obs.2", "Audit records per behaviour: the blocker of every right, network fields, domain deallocation and denial counts"},

	{"net.1", "TCP and UDP edges: layers, port limits, port 0, families, mapped addresses, MPTCP, SCTP, TFO"},
	{"net.2", "TSYNC under competition and interruption"},
	{"net.3", "Syscall contract edges: check order, EBADFD, EBADF, ruleset fd I/O"},
}
