package fsblob

import (
	"context"
	"testing"
)

// TestDeleteUnderMissingDirectory: deleting a key whose directory was
// never created (or already removed) is not an error — forgetting what
// is already gone must be idempotent (the derived-data registry relies
// on it; before the fix the directory fsync failed).
func TestDeleteUnderMissingDirectory(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), "t/ten_a/s/h/face_recognition/gallery"); err != nil {
		t.Errorf("Delete = %v, want nil", err)
	}
}
