// Package postgres is the store backend for installations of several nodes:
// a PostgreSQL database driven by pgx v5 (a pgxpool pool), with embedded
// goose migrations numbered and meaning exactly as the SQLite backend's.
//
// The queries are internal/store/sqlstore's, written once for both
// backends with SQLite's ? placeholders and rebound to $n before they
// reach the server (rebind); they go through database/sql (pgx's stdlib
// adapter over the same pool). This package opens the pool, migrates and
// gives the dialect. What differs most is concurrency. SQLite has one writer, so every
// read-then-write transaction there is serialised by BEGIN IMMEDIATE; here
// many connections on many nodes write at once, so each such transaction
// takes an explicit lock: a transaction-scoped advisory lock named for what
// it protects (the audit chain, one subject's consent chain, one tenant's
// privacy budget, one result slot), row locks (FOR UPDATE) where rows
// exist, or a single conditional statement (single-use tokens: UPDATE …
// WHERE used_at = 0, so exactly one caller wins).
//
// Deleted rows are not gone in Postgres (dead tuples, WAL, backups): key
// destruction cannot rely on DELETE alone (docs/spec/keys-v2.md).
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
	"github.com/obscuraproject/obscura/internal/store/sqlstore/genstore"
	"github.com/obscuraproject/obscura/internal/store/sqlstore/subjectstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL store: the shared SQL stores over the pool.
type Store struct {
	*sqlstore.Store
	*subjectstore.Subjects
	*genstore.Generators
	pool *pgxpool.Pool
	db   *sql.DB // the pool through database/sql; queries as Postgres reads them ($n)
}

// dialect is Postgres's side of the SQL core: $n placeholders, SQLSTATE
// classes, transaction-scoped advisory locks (and row locks) where SQLite
// relies on its one writer, greatest and ctid, and no WAL flush for rate
// buckets.
var dialect = sqlstore.Dialect{
	Rebind:   rebind,
	Classify: classify,
	Limit:    lim,
	// Two names hashing alike only serialise more than needed.
	LockSQL:  `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
	Greatest: "greatest",
	RowID:    "ctid",
	// starts_with does not depend on the database's collation (a range
	// on the text would).
	HasPrefix:     func(col, p string) string { return "starts_with(" + col + ", " + p + ")" },
	RelaxedCommit: `SET LOCAL synchronous_commit TO OFF`,
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Analytics = (*Store)(nil)
)

// Open connects to the database at url (postgres://user:pass@host/db?…,
// every libpq parameter pgx knows, sslmode included) and applies the
// migrations. The URL carries a password: it is never logged or put in an
// error; Redact gives what may be.
func Open(ctx context.Context, url string) (*Store, error) {
	return openIn(ctx, url, dialect)
}

// openIn is Open in dialect d (tests take the locks away to show they are
// needed).
func openIn(ctx context.Context, url string, d sqlstore.Dialect) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL: keep them out of the message.
		return nil, fault.New(fault.Invalid, "database_url is not a valid postgres:// URL")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "obscura" // names the nodes' sessions in pg_stat_activity
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "database unavailable", fmt.Errorf("connect to %s: %w", Redact(url), err))
	}
	sdb := stdlib.OpenDBFromPool(pool)
	c := sqlstore.NewConn(d, sqlstore.PoolWriter{DB: sdb}, sdb)
	s := &Store{Store: sqlstore.New(c), Subjects: subjectstore.New(c), Generators: genstore.New(c), pool: pool, db: sdb}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Redact returns what of a database URL may be logged: host, port and
// database name, never the user, password or parameters.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" && u.Path == "" {
		return "postgres://(unparsed)"
	}
	return "postgres://" + u.Host + u.Path
}

// migrationLock names the advisory lock that serialises migrations of
// nodes starting at once (goose's own Postgres session locker).
const migrationLock = 0x6f6273637572 // "obscur"

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fault.Wrap(fault.Unavailable, "database migration failed", err)
	}
	return nil
}

// Pool returns the connection pool (for River's riverpgxv5 driver and for
// advisory locks held by other packages).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// classify turns driver errors into fault kinds: integrity violations
// (SQLSTATE class 23) are Conflict as SQLite's constraint errors are, data
// exceptions (class 22: a NUL byte or invalid UTF-8 in text) Invalid, a
// full disk (53100) is Unavailable and storage-full, and lost connections,
// shutdowns, resource exhaustion and serialisation failures are
// Unavailable (the caller may retry).
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fault.Wrap(fault.NotFound, "not found", fmt.Errorf("%s: %w", op, err))
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "23"):
			return fault.Wrap(fault.Conflict, "already exists", fmt.Errorf("%s: %w", op, err))
		case strings.HasPrefix(pe.Code, "22"):
			// Data exceptions: text SQLite would have stored but Postgres
			// refuses (a NUL byte, invalid UTF-8), a number out of range.
			return fault.Wrap(fault.Invalid, "value not storable", fmt.Errorf("%s: %w", op, err))
		case pe.Code == "53100":
			return fault.Wrap(fault.Unavailable, "storage is full", fmt.Errorf("%s: %w: %w", op, fault.ErrStorageFull, err))
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"),
			strings.HasPrefix(pe.Code, "58"), pe.Code == "40001", pe.Code == "40P01", pe.Code == "25006":
			return fault.Wrap(fault.Unavailable, "store unavailable", fmt.Errorf("%s: %w", op, err))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return fault.Wrap(fault.Unavailable, "store unavailable", fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// rebind rewrites SQLite-style placeholders (? and ?N) to Postgres's $n,
// leaving quoted strings and identifiers alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lim is a LIMIT argument: SQLite reads a negative limit as none, Postgres
// refuses it; NULL is Postgres's none.
func lim(n int) any {
	if n < 0 {
		return nil
	}
	return n
}
