package postgres

import (
	"context"
	"testing"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
	"github.com/obscuraproject/obscura/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migrated returns the URL of a fresh database with every migration
// applied (copied from a template migrated once).
func migrated(t *testing.T) string {
	t.Helper()
	return pgtest.Clone(t, "migrated", func(url string) error {
		s, err := Open(context.Background(), url)
		if err != nil {
			return err
		}
		return s.Close()
	})
}

// open opens a store on a fresh, migrated database of the test cluster.
func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the whole store conformance suite, every case the
// SQLite backend runs, on Postgres.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}
