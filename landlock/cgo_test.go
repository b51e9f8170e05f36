//go:build cgo

package landlock

func init() { cgoEnabled = true }
