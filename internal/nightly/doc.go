// Package nightly replays the nightly CI workflow,
// .github/workflows/nightly.yml, on this machine (see its tests): the run:
// steps as they are written there, and the parts of the actions it uses
// (checkout, artifacts, cache) played with directories laid out as those
// actions lay them out. It has no code outside its tests.
package nightly
