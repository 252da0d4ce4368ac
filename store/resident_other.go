//go:build !linux

package store

// releasePages does nothing where the kernel's page accounting is not
// Linux's.
func releasePages(addr uintptr, n int64) error { return nil }
