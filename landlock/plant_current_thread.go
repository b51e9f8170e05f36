//go:build llconform_plant_current_thread

package landlock

// This file is built only for the planted-defect test of the suites
// (suites/planted_test.go): the library then restricts only the calling
// thread, as a library would that forgets TSYNC or the pre-TSYNC path.
func init() { plantedCurrentThreadOnly = true }
