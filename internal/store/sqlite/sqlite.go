// Package sqlite is the embedded store backend: one SQLite database file in
// WAL mode, driven by the pure-Go modernc.org/sqlite driver, with embedded
// goose migrations. The queries are internal/store/sqlstore's, shared with
// the Postgres backend; this package opens the database, gives the
// dialect (errors, max, rowid, the WAL checkpoint) and keeps the writer.
//
// Writes go through a single connection (SQLite allows one writer; a pool of
// writers would only contend on the lock), reads through a small pool. The
// writer connection is handed out in two lanes: writes on an interactive
// request's path (store.Interactive: uploads, the audit entries every
// request waits for) go before queued background writes (analysis
// results, sweeps, purges), so a burst of analyses does not put every
// upload and read behind its writes.
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
	"slices"
	"sync"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
	"github.com/obscuraproject/obscura/internal/store/sqlstore/genstore"
	"github.com/obscuraproject/obscura/internal/store/sqlstore/subjectstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store: the shared SQL stores over the writer and
// the readers.
type Store struct {
	*sqlstore.Store
	*subjectstore.Subjects
	*genstore.Generators
	w *writer // the one writer connection, in two lanes
	r *sql.DB // readers
}

// dialect is SQLite's side of the SQL core: one writer (no explicit
// locks), ? placeholders as they are, max and rowid, and a WAL truncated
// after key material is deleted.
var dialect = sqlstore.Dialect{
	Classify: classify,
	Greatest: "max",
	RowID:    "rowid",
	// The range on the index is narrowed by the prefix; substr makes the
	// match exact whatever bytes follow it.
	HasPrefix: func(col, p string) string {
		return col + " >= " + p + " AND substr(" + col + ", 1, length(" + p + ")) = " + p
	},
	AfterDestroy: `PRAGMA wal_checkpoint(TRUNCATE)`,
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
	s := &Store{w: &writer{db: w}, r: r}
	c := sqlstore.NewConn(dialect, s.w, r)
	s.Store, s.Subjects, s.Generators = sqlstore.New(c), subjectstore.New(c), genstore.New(c)
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
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w.db, sub)
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

// writer is the single writer connection behind a two-lane gate: at most
// one user holds the connection (a statement, or a transaction from BeginTx
// to Commit or Rollback); the next is the longest-waiting interactive one
// (store.Interactive), else the longest-waiting background one. After
// maxInteractiveRun interactive grants in a row while background writes
// wait, one background write goes, so a stream of interactive writes
// cannot starve them. Without the gate database/sql hands the one
// connection to a random waiter.
type writer struct {
	db *sql.DB

	mu     sync.Mutex
	held   bool
	run    int                // interactive grants in a row past waiting background writes
	lanes  [2][]chan struct{} // waiters: laneInteractive, laneBackground
	grants uint64             // grants so far (tests observe the order)
}

const (
	laneInteractive = iota
	laneBackground
)

// maxInteractiveRun bounds how long background writes wait behind
// interactive ones: a background write goes after at most this many.
const maxInteractiveRun = 8

// acquire waits for the connection in ctx's lane.
func (w *writer) acquire(ctx context.Context) error {
	lane := laneBackground
	if store.IsInteractive(ctx) {
		lane = laneInteractive
	}
	w.mu.Lock()
	if !w.held {
		w.held = true
		w.grants++
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.lanes[lane] = append(w.lanes[lane], ch)
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		if i := slices.Index(w.lanes[lane], ch); i >= 0 {
			w.lanes[lane] = slices.Delete(w.lanes[lane], i, i+1)
			w.mu.Unlock()
			return ctx.Err()
		}
		w.mu.Unlock()
		w.release() // granted as ctx ended: pass it on
		return ctx.Err()
	}
}

// release hands the connection to the next waiter, or frees it.
func (w *writer) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	hi, lo := len(w.lanes[laneInteractive]), len(w.lanes[laneBackground])
	var lane int
	switch {
	case hi > 0 && (lo == 0 || w.run < maxInteractiveRun):
		lane = laneInteractive
		if lo > 0 {
			w.run++
		}
	case lo > 0:
		lane, w.run = laneBackground, 0
	default:
		w.held = false
		return
	}
	ch := w.lanes[lane][0]
	w.lanes[lane] = w.lanes[lane][1:]
	w.grants++
	close(ch) // the connection passes to the waiter; held stays true
}

// ExecContext runs a statement on the writer connection.
func (w *writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := w.acquire(ctx); err != nil {
		return nil, err
	}
	defer w.release()
	return w.db.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns one row (UPDATE … RETURNING)
// on the writer connection. The gate is released when the call returns;
// the connection itself when the row is scanned.
func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := w.acquire(ctx); err != nil {
		return w.db.QueryRowContext(ctx, query, args...) // ctx is done: the row carries its error
	}
	defer w.release()
	return w.db.QueryRowContext(ctx, query, args...)
}

// BeginTx starts a transaction that holds the writer until Commit or
// Rollback.
func (w *writer) BeginTx(ctx context.Context, opts *sql.TxOptions) (sqlstore.Tx, error) {
	if err := w.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := w.db.BeginTx(ctx, opts)
	if err != nil {
		w.release()
		return nil, err
	}
	return &writeTx{Tx: tx, release: sync.OnceFunc(w.release)}, nil
}

// Close closes the writer connection.
func (w *writer) Close() error { return w.db.Close() }

// writeTx is a transaction on the writer; Commit or Rollback (the first
// of them; callers defer Rollback) gives the writer to the next waiter.
type writeTx struct {
	*sql.Tx
	release func()
}

// Commit commits the transaction and releases the writer.
func (t *writeTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

// Rollback rolls the transaction back (a no-op error after Commit) and
// releases the writer.
func (t *writeTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}
