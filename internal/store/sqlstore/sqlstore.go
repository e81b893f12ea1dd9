// Package sqlstore is the one SQL implementation of the store interfaces
// (internal/store), shared by the embedded SQLite backend
// (internal/store/sqlite) and the PostgreSQL backend
// (internal/store/postgres). Each domain's queries are written once here,
// one file per store interface; a backend opens its database (driver,
// pragmas or pool, its own goose migrations) and hands this package two
// handles and its Dialect.
//
// The dialect seam is small and is all that differs between the two
// databases in the queries:
//
//   - placeholders: queries are written with SQLite's ? and ?N; Rebind
//     rewrites them for the driver (Postgres's $n);
//   - errors: Classify maps driver errors to fault kinds (SQLite's busy,
//     full and constraint codes; Postgres's SQLSTATE classes 23, 53100,
//     08/57/40, 22) so that callers see store.ErrConflict, Unavailable,
//     StorageFull or Invalid alike;
//   - writers: SQLite has one writer (BEGIN IMMEDIATE on one connection,
//     behind the SQLite backend's two-lane gate), so a read-then-write
//     transaction is serialised by the database. Postgres has many
//     connections on many nodes, so LockSQL names a transaction-scoped
//     lock (an advisory lock) that such transactions take first (the
//     audit chain, a subject's consent chain, a tenant's budget, a result
//     slot, a gallery), and row locks (FOR UPDATE, SKIP LOCKED) are taken
//     where rows exist. With LockSQL empty those statements are skipped;
//   - a few fragments: greatest vs max, ctid vs rowid, a prefix match, a
//     negative LIMIT, the statement that makes a destroyed key final in
//     the database files (SQLite's WAL checkpoint).
//
// Times are stored as Unix nanoseconds in integer columns on both
// (migrations stay per dialect: BLOB vs BYTEA, INTEGER vs BIGINT).
package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Dialect is what differs between the SQL databases the store runs on.
type Dialect struct {
	// Rebind rewrites a query written with ? and ?N placeholders for the
	// driver; nil leaves it as it is.
	Rebind func(query string) string
	// Classify maps a driver error to a fault kind, naming op; it must
	// map sql.ErrNoRows to fault.NotFound and pass nil through.
	Classify func(op string, err error) error
	// Limit turns a LIMIT argument into the driver's (a negative limit
	// means none); nil passes it as it is.
	Limit func(n int) any
	// LockSQL takes a transaction-scoped lock named by its one argument,
	// held until commit or rollback; empty on a database with a single
	// writer, where the writing transaction already excludes the others
	// (and where the row-lock statements below are skipped too).
	LockSQL string
	// Greatest is the function giving the larger of two values.
	Greatest string
	// RowID is the column naming a row physically (for DELETE … LIMIT).
	RowID string
	// HasPrefix gives the condition that column col starts with the text
	// of placeholder param (e.g. "?2"), exactly whatever bytes follow.
	HasPrefix func(col, param string) string
	// RelaxedCommit, if set, runs first in transactions whose loss in a
	// crash is harmless (rate buckets): it may skip the commit's flush.
	RelaxedCommit string
	// AfterDestroy, if set, runs after key material is deleted so that
	// no copy of the deleted rows stays in the database's own files.
	AfterDestroy string
}

// Writer is where writes go: a pool (PoolWriter) or the SQLite backend's
// single gated connection.
type Writer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	BeginTx(ctx context.Context, opts *sql.TxOptions) (Tx, error)
}

// Tx is a transaction on a Writer (*sql.Tx satisfies it).
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	Commit() error
	Rollback() error
}

// Reader is where reads go.
type Reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// PoolWriter is a *sql.DB as a Writer: every connection may write.
type PoolWriter struct{ *sql.DB }

// BeginTx starts a transaction on the pool.
func (p PoolWriter) BeginTx(ctx context.Context, opts *sql.TxOptions) (Tx, error) {
	t, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Store implements the store interfaces over a Writer, a Reader and a
// Dialect. The backends embed it and add Open, Close and what only they
// have.
type Store struct {
	d Dialect
	w writer
	r reader
}

// New returns the store writing through w and reading through r (the
// same pool, or SQLite's writer and readers) in dialect d.
func New(d Dialect, w Writer, r Reader) *Store {
	if d.Rebind == nil {
		d.Rebind = func(q string) string { return q }
	}
	if d.Limit == nil {
		d.Limit = func(n int) any { return n }
	}
	return &Store{d: d, w: writer{w, &d}, r: reader{r, &d}}
}

// Ping checks that the database answers on the write path.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fault.Wrap(fault.Unavailable, "store unavailable", err)
	}
	return nil
}

// classify maps err with the dialect (see Dialect.Classify).
func (s *Store) classify(op string, err error) error { return s.d.Classify(op, err) }

// lim is a LIMIT argument in the dialect.
func (s *Store) lim(n int) any { return s.d.Limit(n) }

// multiWriter reports whether several connections write at once, so that
// read-then-write transactions must lock explicitly.
func (s *Store) multiWriter() bool { return s.d.LockSQL != "" }

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

// writer rebinds the queries it runs.
type writer struct {
	w Writer
	d *Dialect
}

func (w writer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.w.ExecContext(ctx, w.d.Rebind(q), args...)
}

func (w writer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return w.w.QueryRowContext(ctx, w.d.Rebind(q), args...)
}

func (w writer) BeginTx(ctx context.Context, opts *sql.TxOptions) (tx, error) {
	t, err := w.w.BeginTx(ctx, opts)
	if err != nil {
		return tx{}, err
	}
	return tx{t, w.d}, nil
}

func (w writer) dialect() *Dialect { return w.d }

// reader rebinds the queries it runs.
type reader struct {
	r Reader
	d *Dialect
}

func (r reader) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.r.QueryContext(ctx, r.d.Rebind(q), args...)
}

func (r reader) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return r.r.QueryRowContext(ctx, r.d.Rebind(q), args...)
}

func (r reader) dialect() *Dialect { return r.d }

// tx is a transaction whose queries are rebound.
type tx struct {
	t Tx
	d *Dialect
}

func (t tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.t.ExecContext(ctx, t.d.Rebind(q), args...)
}

func (t tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.t.QueryContext(ctx, t.d.Rebind(q), args...)
}

func (t tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.t.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

func (t tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.t.PrepareContext(ctx, t.d.Rebind(q))
}

func (t tx) dialect() *Dialect { return t.d }

func (t tx) Commit() error { return t.t.Commit() }

// Rollback rolls back (an error, ignored by the deferred callers, after
// Commit).
func (t tx) Rollback() error { return t.t.Rollback() }

// lock takes the transaction-scoped lock named by the parts (released at
// commit or rollback); a no-op with a single writer. Two names hashing
// alike only serialise more than needed.
func (t tx) lock(ctx context.Context, parts ...string) error {
	if t.d.LockSQL == "" {
		return nil
	}
	_, err := t.t.ExecContext(ctx, t.d.LockSQL, strings.Join(parts, "\x1f"))
	return err
}
