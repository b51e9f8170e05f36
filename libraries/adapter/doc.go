// Package adapter drives each Landlock library the library cases run
// against (own: this tree's landlock package; go-landlock; the kernel's
// sandboxer) from one request: read-only and read-write trees, ports,
// scopes. An adapter says what its library promises for a kernel and a
// ceiling (Promise, from the library's own documentation) and returns
// what the probes observed under its sandbox. The rows that use them are
// the library cases in package suites; package libraries (the parent)
// builds what a library needs in the initramfs on the host.
package adapter
