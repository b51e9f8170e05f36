package suites

import "runtime"

// onOtherThread runs f on a fresh OS thread outside any case domain and
// returns its result. New threads start from Go's template thread, so
// they carry no Landlock domain of the caller.
func onOtherThread(f func() string) string {
	res := make(chan string)
	go func() {
		runtime.LockOSThread() // a thread of its own, discarded afterwards
		res <- f()
	}()
	return <-res
}
