package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFilesArePrivate is the regression for obscura.db, -wal and -shm
// being created 0644 (world-readable under the usual umask), and narrows
// files an older version left 0644.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, whatever the test runner's
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "obscura.db")
	s := openWithTenant(t, path, time.Now().UTC())
	check := func(when string) {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if m := fi.Mode().Perm(); m != FileMode {
				t.Errorf("%s: %s has mode %o, want %o", when, filepath.Base(p), m, FileMode)
			}
		}
	}
	check("new database")
	s.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o644)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Tenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	check("reopened 0644 database")
}
