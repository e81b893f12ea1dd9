package fault

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestIsStorageFull(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"sentinel wrapped", fmt.Errorf("commit: %w", ErrStorageFull), true},
		{"ENOSPC in a path error", Wrap(Unavailable, "blob store unavailable", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), true},
		{"EDQUOT", fmt.Errorf("sync: %w", syscall.EDQUOT), true},
		{"other I/O error", Wrap(Unavailable, "blob store unavailable", syscall.EIO), false},
		{"plain unavailable", New(Unavailable, "down"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsStorageFull(tt.err); got != tt.want {
				t.Errorf("IsStorageFull(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(ErrStorageFull, Unavailable) {
		t.Error("ErrStorageFull is not of kind Unavailable: callers that fail closed on Unavailable would miss it")
	}
}
