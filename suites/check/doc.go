// Package check is the case engine of the suites: what a conformance case
// is (Case, its Variants and Omits), what it may depend on (Env), what a
// running case gets (T, with its case directory, cleanups and fixture
// failures), the expectation builders (Since, DeniedFrom, ...) and the
// suites' own ABI table they derive every boundary from, the errata and
// fixes catalogue that turns a deviation into known or warn, the
// coverage items, and the registry the area files add their cases to
// (Build, Register, All). Explain makes the expectation model readable.
//
// It knows no area: the cases are in package suites, which imports this.
package check
