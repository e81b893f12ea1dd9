package fsblob

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPermissionsAndSweep(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "a/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "objects", "a", "b"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("object mode %o, want 600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Join(dir, "objects", "a"))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o, want 700", di.Mode().Perm())
	}
	// A temp file left by a crash is swept on open and never listed.
	os.WriteFile(filepath.Join(dir, "tmp", "deadbeef"), []byte("partial"), 0o600)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "deadbeef")); !os.IsNotExist(err) {
		t.Error("leftover temp file not swept")
	}
}
