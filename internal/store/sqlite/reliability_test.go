package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// A full database (SQLITE_FULL, injected with max_page_count) is a
// storage-full error of kind Unavailable, never an unclassified one, and
// writes work again once there is room, without reopening.
func TestFullDatabaseIsStorageFull(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := openWithTenant(t, filepath.Join(t.TempDir(), "obscura.db"), now)
	defer s.Close()
	if err := s.ProbeWrite(ctx, now); err != nil {
		t.Fatalf("probe on a healthy store: %v", err)
	}
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := range 10000 {
		up := store.Upload{ID: fmt.Sprintf("up_%05d_%0200d", i, 0), TenantID: "t1", SubjectHash: "h", CreatedAt: now, ExpiresAt: now}
		if full = s.CreateUpload(ctx, up); full != nil {
			break
		}
	}
	if !fault.IsStorageFull(full) || !errors.Is(full, fault.Unavailable) {
		t.Fatalf("write to a full database: %v, want a storage-full Unavailable error", full)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUpload(ctx, store.Upload{ID: "up_after", TenantID: "t1", SubjectHash: "h", CreatedAt: now, ExpiresAt: now}); err != nil {
		t.Errorf("write after room was made: %v", err)
	}
}
