package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/storetest"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := openCopy(t, filepath.Join(t.TempDir(), "obscura.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// openCopy opens a new store at path from a copy of one migrated per test
// binary (sqlitetest): the same bytes a fresh Open writes, without running
// every migration again (10 s per store under -race on a loaded machine,
// 0.4 s for a copy). The tests of a new database's own files, of
// migrating and of reopening call Open on a new path instead.
func openCopy(t *testing.T, path string) (*Store, error) {
	return sqlitetest.Open(t, "migrated", path, Open)
}

// openWithTenant opens a store at path holding tenant "t1" (key "k").
func openWithTenant(t *testing.T, path string, now time.Time) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "n", CreatedAt: now}, store.APIKey{ID: "k", TenantID: "t1", SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "obscura.db")
	s := openWithTenant(t, path, time.Now().UTC())
	s.Close()
	s, err := Open(ctx, path) // migrations must be idempotent
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Tenant(ctx, "t1"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

// TestDestroyLeavesNoBytes plants a marker in wrapped key material, destroys
// it and scans the database file and its WAL for the marker.
func TestDestroyLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC()
	s := openWithTenant(t, filepath.Join(dir, "obscura.db"), now)
	defer s.Close()
	marker := []byte("MARKER-7f3a9c-wrapped-scope-key-bytes")
	if err := s.CreateScopeKey(ctx, store.ScopeKey{ID: "sk", TenantID: "t1", SubjectHash: "h", Purpose: "face_recognition", KEKVersion: 1, Wrapped: marker, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if !scanDir(t, dir, marker) {
		t.Fatal("marker not found before destroy: the scan cannot detect anything")
	}
	if n, err := s.DestroyScopeKeys(ctx, "t1", "h", "face_recognition"); err != nil || n != 1 {
		t.Fatalf("destroy: %d, %v", n, err)
	}
	if scanDir(t, dir, marker) {
		t.Error("destroyed key material still present in the database files")
	}
}

func scanDir(t *testing.T, dir string, marker []byte) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker) {
			return true
		}
	}
	return false
}
