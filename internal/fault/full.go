package fault

import (
	"errors"
	"syscall"
)

// ErrStorageFull marks a write refused because the disk (or the store) is
// full. It is of kind Unavailable, so every caller that fails closed on
// Unavailable still does; the HTTP layer answers 503 storage_full with
// Retry-After. Backends mark their full errors with it (or keep the
// operating system's ENOSPC/EDQUOT in the chain); IsStorageFull finds both.
var ErrStorageFull = New(Unavailable, "storage is full")

// IsStorageFull reports whether err is a storage-full error: ErrStorageFull,
// or ENOSPC or EDQUOT from the operating system anywhere in its chain.
func IsStorageFull(err error) bool {
	return errors.Is(err, ErrStorageFull) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
