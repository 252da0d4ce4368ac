package store

import "syscall"

// releasePages tells the kernel the n bytes of the file's shared mapping at
// addr are not needed: for a mapping of a file (not anonymous memory) the
// data stays in the file and the page cache, and a later read maps it again.
func releasePages(addr uintptr, n int64) error {
	if addr == 0 || n <= 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(n), syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
