// Package sqlite is the embedded store backend: one SQLite database file in
// WAL mode, driven by the pure-Go modernc.org/sqlite driver, with embedded
// goose migrations.
//
// Writes go through a single connection (SQLite allows one writer; a pool of
// writers would only contend on the lock), reads through a small pool.
// secure_delete is on so that deleted rows (revoked or destroyed key
// material) are overwritten in the database file, and destroying key
// material truncates the WAL so no copy of the old page survives there.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // readers
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	pragmas := []string{
		"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)",
		"synchronous(FULL)", "secure_delete(1)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &Store{w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fault.Wrap(fault.Unavailable, "database migration failed", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// Ping checks that the database answers reads and writes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fault.Wrap(fault.Unavailable, "store unavailable", err)
	}
	return nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// classify turns driver errors into fault kinds.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fault.Wrap(fault.NotFound, "not found", fmt.Errorf("%s: %w", op, err))
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_CONSTRAINT:
			return fault.Wrap(fault.Conflict, "already exists", fmt.Errorf("%s: %w", op, err))
		case sqlite3lib.SQLITE_FULL:
			return fault.Wrap(fault.Unavailable, "storage is full", fmt.Errorf("%s: %w: %w", op, fault.ErrStorageFull, err))
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_CANTOPEN:
			return fault.Wrap(fault.Unavailable, "store unavailable", fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
