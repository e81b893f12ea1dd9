// Package sqlstore is the one SQL implementation of the store interfaces
// (internal/store), shared by the embedded SQLite backend
// (internal/store/sqlite) and the PostgreSQL backend
// (internal/store/postgres). Each domain's queries are written once, one
// file per store interface: here for tenants, API keys, keys and their
// wraps, audit, links, kill switches and alerts, guard states and shared
// state; in subjectstore for the subjects' photos, consent, results and
// forgets; in genstore for what the generators keep. A backend opens its
// database (driver, pragmas or pool, its own goose migrations), makes a
// Conn from two handles and its Dialect, and embeds the three stores.
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

// Store implements the store interfaces of tenancy, keys, audit and
// operations over a Conn (subjectstore.Subjects and genstore.Generators
// the others). The backends embed all three and add Open, Close and what
// only they have.
type Store struct {
	c *Conn
	d *Dialect
	w WriteConn
	r ReadConn
}

// New returns the store over c.
func New(c *Conn) *Store { return &Store{c: c, d: c.D, w: c.W, r: c.R} }

func (s *Store) classify(op string, err error) error { return s.c.Classify(op, err) }

func (s *Store) lim(n int) any { return s.c.Lim(n) }

func (s *Store) multiWriter() bool { return s.c.MultiWriter() }

func (s *Store) execOne(ctx context.Context, op, q string, args ...any) error {
	return s.c.ExecOne(ctx, op, q, args...)
}

// Ping checks that the database answers on the write path.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fault.Wrap(fault.Unavailable, "store unavailable", err)
	}
	return nil
}
