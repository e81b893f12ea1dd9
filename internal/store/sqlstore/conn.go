package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Conn is the database handles in a dialect: what the stores of each
// domain (Store here, genstore's) are built on.
type Conn struct {
	D *Dialect  // the dialect, defaults filled in
	W WriteConn // where writes go
	R ReadConn  // where reads go
}

// NewConn returns the handles writing through w and reading through r
// (the same pool, or SQLite's writer and readers) in dialect d.
func NewConn(d Dialect, w Writer, r Reader) *Conn {
	if d.Rebind == nil {
		d.Rebind = func(q string) string { return q }
	}
	if d.Limit == nil {
		d.Limit = func(n int) any { return n }
	}
	return &Conn{D: &d, W: WriteConn{w, &d}, R: ReadConn{r, &d}}
}

// Classify maps err with the dialect (see Dialect.Classify).
func (c *Conn) Classify(op string, err error) error { return c.D.Classify(op, err) }

// Lim is a LIMIT argument in the dialect.
func (c *Conn) Lim(n int) any { return c.D.Limit(n) }

// MultiWriter reports whether several connections write at once, so that
// read-then-write transactions must lock explicitly.
func (c *Conn) MultiWriter() bool { return c.D.LockSQL != "" }

// ExecOne runs a statement on the writer that must change a row: none is
// fault.NotFound.
func (c *Conn) ExecOne(ctx context.Context, op, q string, args ...any) error {
	res, err := c.W.ExecContext(ctx, q, args...)
	if err != nil {
		return c.Classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return c.Classify(op, err)
	}
	if n == 0 {
		return fault.New(fault.NotFound, "not found")
	}
	return nil
}

// Unix is how times are stored: Unix nanoseconds, 0 for the zero time.
func Unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnix reads a time stored by Unix.
func FromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// WriteConn is the Writer with its queries rebound.
type WriteConn struct {
	w Writer
	d *Dialect
}

// ExecContext runs a statement.
func (w WriteConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.w.ExecContext(ctx, w.d.Rebind(q), args...)
}

// QueryRowContext runs a query returning at most one row.
func (w WriteConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return w.w.QueryRowContext(ctx, w.d.Rebind(q), args...)
}

// BeginTx starts a transaction.
func (w WriteConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (TxConn, error) {
	t, err := w.w.BeginTx(ctx, opts)
	if err != nil {
		return TxConn{}, err
	}
	return TxConn{t, w.d}, nil
}

// Dialect returns the dialect.
func (w WriteConn) Dialect() *Dialect { return w.d }

// ReadConn is the Reader with its queries rebound.
type ReadConn struct {
	r Reader
	d *Dialect
}

// QueryContext runs a query.
func (r ReadConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.r.QueryContext(ctx, r.d.Rebind(q), args...)
}

// QueryRowContext runs a query returning at most one row.
func (r ReadConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return r.r.QueryRowContext(ctx, r.d.Rebind(q), args...)
}

// Dialect returns the dialect.
func (r ReadConn) Dialect() *Dialect { return r.d }

// TxConn is a transaction whose queries are rebound.
type TxConn struct {
	t Tx
	d *Dialect
}

// ExecContext runs a statement.
func (t TxConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.t.ExecContext(ctx, t.d.Rebind(q), args...)
}

// QueryContext runs a query.
func (t TxConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.t.QueryContext(ctx, t.d.Rebind(q), args...)
}

// QueryRowContext runs a query returning at most one row.
func (t TxConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.t.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// PrepareContext prepares a statement.
func (t TxConn) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.t.PrepareContext(ctx, t.d.Rebind(q))
}

// Dialect returns the dialect.
func (t TxConn) Dialect() *Dialect { return t.d }

// Commit commits.
func (t TxConn) Commit() error { return t.t.Commit() }

// Rollback rolls back (an error, ignored by the deferred callers, after
// Commit).
func (t TxConn) Rollback() error { return t.t.Rollback() }

// Lock takes the transaction-scoped lock named by the parts (released at
// commit or rollback); a no-op with a single writer. Two names hashing
// alike only serialise more than needed.
func (t TxConn) Lock(ctx context.Context, parts ...string) error {
	if t.d.LockSQL == "" {
		return nil
	}
	_, err := t.t.ExecContext(ctx, t.d.LockSQL, strings.Join(parts, "\x1f"))
	return err
}
