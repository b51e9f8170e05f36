// Package suites holds the conformance cases: short table rows, each with
// the policy and action it runs and the outcome the documentation promises
// for a given environment. Expectations state their ABI boundaries through
// this package's own ABI table (abi.go), never through the landlock
// package's, so a wrong row there shows up as failures here.
//
// The documentation the expectations come from is the kernel's: "landlock.rst"
// is Documentation/userspace-api/landlock.rst and "landlock.h" is
// include/uapi/linux/landlock.h (Linux 7.3). Known deviations (unfixed
// errata, fixes without an erratum bit) are catalogued in fixes.go.
package suites
