// Package storecopy moves an embedded installation's metadata (the SQLite
// database) into an empty PostgreSQL database, and optionally its blobs into
// another blob store: `obscura store migrate --to postgres://… [--blobs s3://…]`.
//
// It copies every table the two schemas share (both are at the same
// migration; River's tables and the migration bookkeeping excepted) in
// foreign-key order, from one read snapshot of the source, inside one
// Postgres transaction, converting values to the target's column types;
// scope keys pass through a hook that re-wraps them (keys-v1 → keys-v2, so
// no keys-v1 wrapping ever lands in Postgres). It then counts every table on
// both sides. It refuses a target that holds any row and a source with
// queued or running jobs (drain first): jobs are not moved.
//
// It protects against a half-copied or doubled installation (one
// transaction; refusal of a non-empty target) and against losing queued
// work. It does not stop a server from writing to the source meanwhile:
// stop every `obscura serve` first (docs/deploy.md).
package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the source's driver

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Refusals. Callers check them with errors.Is.
var (
	// ErrTargetNotEmpty: the target database (or blob store) already holds
	// data. Migrating into it would mix two installations.
	ErrTargetNotEmpty = fault.New(fault.Conflict, "target is not empty")
	// ErrJobsQueued: the source has queued, scheduled, retrying or running
	// jobs. They are not moved: stop the server after the queue drains.
	ErrJobsQueued = fault.New(fault.Conflict, "jobs are queued or running: drain first")
)

// Options says what to copy where.
type Options struct {
	// Source is the path of the embedded installation's SQLite database.
	Source string
	// Target is a pool on the target Postgres database, migrated to the
	// same version as the source (postgres.Open does that).
	Target *pgxpool.Pool
	// ScopeKey, if set, returns the wrapping to store for a scope key row
	// (the key service re-wraps keys-v1 as keys-v2).
	ScopeKey func(ctx context.Context, k store.ScopeKey) ([]byte, error)
	// SourceBlobs and TargetBlobs, if both set, have every object copied.
	SourceBlobs blob.Store
	TargetBlobs blob.Store
	// Log receives progress (table names and counts only).
	Log *slog.Logger
}

// TableCount is one table's row count on both sides.
type TableCount struct {
	Table  string `json:"table"`
	Source int64  `json:"source"`
	Target int64  `json:"target"`
}

// Report is what a copy did.
type Report struct {
	Tables    []TableCount `json:"tables"`
	Rows      int64        `json:"rows"`
	ScopeKeys int          `json:"scope_keys_rewrapped"`
	Blobs     int          `json:"blobs"`
}

// skipped reports tables that are not installation data: SQLite's own,
// the migration tool's, and River's (jobs are drained, not moved).
func skipped(t string) bool {
	return strings.HasPrefix(t, "sqlite_") || strings.HasPrefix(t, "goose_") || strings.HasPrefix(t, "river_")
}

func openSource(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	return db, nil
}

// pendingJobStates are River job states that still have work to do.
var pendingJobStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// Copy checks the refusals, copies, and verifies the counts.
func Copy(ctx context.Context, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	src, err := openSource(o.Source)
	if err != nil {
		return Report{}, err
	}
	defer src.Close()
	// One read transaction: every table from the same snapshot.
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Report{}, fault.Wrap(fault.Unavailable, "source unavailable", err)
	}
	defer stx.Rollback()
	tables, err := sourceTables(ctx, stx)
	if err != nil {
		return Report{}, err
	}
	if err := checkJobs(ctx, stx); err != nil {
		return Report{}, err
	}
	targetTables, err := checkTarget(ctx, o.Target)
	if err != nil {
		return Report{}, err
	}
	var missing []string
	for _, t := range tables {
		if !slices.Contains(targetTables, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return Report{}, fault.New(fault.Invalid, fmt.Sprintf("target lacks tables %s: is it at the same version as this binary?", strings.Join(missing, ", ")))
	}
	if o.SourceBlobs != nil && o.TargetBlobs != nil {
		if err := emptyBlobs(ctx, o.TargetBlobs); err != nil {
			return Report{}, err
		}
	}
	order, err := dependencyOrder(ctx, stx, tables)
	if err != nil {
		return Report{}, err
	}

	var rep Report
	ttx, err := o.Target.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return Report{}, fault.Wrap(fault.Unavailable, "target unavailable", err)
	}
	defer ttx.Rollback(ctx)
	for _, t := range order {
		n, keys, err := copyTable(ctx, stx, ttx, t, o)
		if err != nil {
			return Report{}, fmt.Errorf("copy %s: %w", t, err)
		}
		rep.Rows += n
		rep.ScopeKeys += keys
		o.Log.Info("table copied", "table", t, "rows", n)
	}
	if err := ttx.Commit(ctx); err != nil {
		return Report{}, fault.Wrap(fault.Unavailable, "commit on target", err)
	}
	for _, t := range order {
		var s, d int64
		if err := stx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&s); err != nil {
			return rep, fmt.Errorf("count source %s: %w", t, err)
		}
		if err := o.Target.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&d); err != nil {
			return rep, fmt.Errorf("count target %s: %w", t, err)
		}
		rep.Tables = append(rep.Tables, TableCount{Table: t, Source: s, Target: d})
		if s != d {
			return rep, fault.New(fault.Other, fmt.Sprintf("row counts differ for %s: source %d, target %d", t, s, d))
		}
	}
	if o.SourceBlobs != nil && o.TargetBlobs != nil {
		if rep.Blobs, err = copyBlobs(ctx, o.SourceBlobs, o.TargetBlobs); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func sourceTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "read source schema", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if !skipped(n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 && rows.Err() == nil {
		return nil, fault.New(fault.NotFound, "the source holds no installation (no tables)")
	}
	return out, rows.Err()
}

// checkJobs refuses a source whose River queue still has work.
func checkJobs(ctx context.Context, tx *sql.Tx) error {
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job'`).Scan(&has); err != nil {
		return fault.Wrap(fault.Unavailable, "read source schema", err)
	}
	if has == 0 {
		return nil
	}
	var n int64
	q := `SELECT count(*) FROM river_job WHERE state IN ('` + strings.Join(pendingJobStates, "','") + `')`
	if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return fault.Wrap(fault.Unavailable, "read source jobs", err)
	}
	if n > 0 {
		return fmt.Errorf("%d jobs not finished: %w", n, ErrJobsQueued)
	}
	return nil
}

// checkTarget lists the target's tables and refuses one that holds a row
// in any of them (River's job table included).
func checkTarget(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "read target schema", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "read target schema", err)
	}
	var out []string
	for _, t := range names {
		if strings.HasPrefix(t, "goose_") || (strings.HasPrefix(t, "river_") && t != "river_job") {
			continue
		}
		var any bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`).Scan(&any); err != nil {
			return nil, fault.Wrap(fault.Unavailable, "read target", err)
		}
		if any {
			return nil, fmt.Errorf("table %s has rows: %w", t, ErrTargetNotEmpty)
		}
		if !skipped(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// dependencyOrder sorts tables so that every table comes after the tables
// its foreign keys reference.
func dependencyOrder(ctx context.Context, tx *sql.Tx, tables []string) ([]string, error) {
	deps := map[string][]string{}
	for _, t := range tables {
		rows, err := tx.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", t, err)
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return nil, err
			}
			if ref != t && !skipped(ref) {
				deps[t] = append(deps[t], ref)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("foreign-key cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// converter turns a SQLite value into what pgx writes for a column type.
func converter(pgType string) func(any) (any, error) {
	return func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		switch pgType {
		case "boolean":
			if n, ok := v.(int64); ok {
				return n != 0, nil
			}
		case "bytea":
			if s, ok := v.(string); ok {
				return []byte(s), nil
			}
			return v, nil
		case "text", "character varying", "jsonb", "json":
			if b, ok := v.([]byte); ok {
				return string(b), nil
			}
			return v, nil
		case "double precision", "real", "numeric":
			if n, ok := v.(int64); ok {
				return float64(n), nil
			}
			return v, nil
		case "bigint", "integer", "smallint":
			if f, ok := v.(float64); ok {
				if f != math.Trunc(f) {
					return nil, fmt.Errorf("%v does not fit an integer column", f)
				}
				return int64(f), nil
			}
			return v, nil
		default:
			return v, nil
		}
		return nil, fmt.Errorf("cannot store a %T in a %s column", v, pgType)
	}
}

// copyTable streams one table from the source snapshot into the target
// transaction with COPY.
func copyTable(ctx context.Context, stx *sql.Tx, ttx pgx.Tx, table string, o Options) (int64, int, error) {
	types := map[string]string{}
	rows, err := ttx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			rows.Close()
			return 0, 0, err
		}
		types[c] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	srows, err := stx.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return 0, 0, err
	}
	defer srows.Close()
	cols, err := srows.Columns()
	if err != nil {
		return 0, 0, err
	}
	src := &rowSource{ctx: ctx, rows: srows, conv: make([]func(any) (any, error), len(cols)), cols: cols}
	for i, c := range cols {
		t, ok := types[c]
		if !ok {
			return 0, 0, fault.New(fault.Invalid, fmt.Sprintf("target table %s has no column %s", table, c))
		}
		src.conv[i] = converter(t)
	}
	if table == "scope_keys" && o.ScopeKey != nil {
		src.hook = o.ScopeKey
	}
	n, err := ttx.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	if err == nil {
		err = src.err
	}
	return n, src.rewrapped, err
}

// rowSource is a pgx.CopyFromSource over SQLite rows.
type rowSource struct {
	ctx       context.Context
	rows      *sql.Rows
	cols      []string
	conv      []func(any) (any, error)
	hook      func(context.Context, store.ScopeKey) ([]byte, error)
	rewrapped int
	err       error
}

func (r *rowSource) Next() bool { return r.err == nil && r.rows.Next() }

func (r *rowSource) Values() ([]any, error) {
	raw := make([]any, len(r.cols))
	ptrs := make([]any, len(r.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]any, len(raw))
	for i, v := range raw {
		c, err := r.conv[i](v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", r.cols[i], err)
		}
		out[i] = c
	}
	if r.hook != nil {
		if err := r.rewrap(out); err != nil {
			r.err = err
			return nil, err
		}
	}
	return out, nil
}

// rewrap replaces a scope key row's wrapping through the hook.
func (r *rowSource) rewrap(row []any) error {
	var k store.ScopeKey
	at := map[string]int{}
	for i, c := range r.cols {
		at[c] = i
	}
	str := func(c string) string { s, _ := row[at[c]].(string); return s }
	k.ID, k.TenantID, k.SubjectHash, k.Purpose = str("id"), str("tenant_id"), str("subject_hash"), str("purpose")
	v, _ := row[at["kek_version"]].(int64)
	k.KEKVersion = int(v)
	k.Wrapped, _ = row[at["wrapped"]].([]byte)
	w, err := r.hook(r.ctx, k)
	if err != nil {
		return fmt.Errorf("re-wrap scope key: %w", err)
	}
	row[at["wrapped"]] = w
	r.rewrapped++
	return nil
}

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// emptyBlobs refuses a target blob store that holds any object.
func emptyBlobs(ctx context.Context, b blob.Store) error {
	stop := errors.New("found")
	err := b.List(ctx, "", func(string) error { return stop })
	if errors.Is(err, stop) {
		return fmt.Errorf("blob store has objects: %w", ErrTargetNotEmpty)
	}
	if err != nil {
		return fault.Wrap(fault.Unavailable, "target blob store unavailable", err)
	}
	return nil
}

// copyBlobs copies every object and checks that the target lists them all.
func copyBlobs(ctx context.Context, from, to blob.Store) (int, error) {
	var keys []string
	if err := from.List(ctx, "", func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return 0, fmt.Errorf("list source blobs: %w", err)
	}
	for _, k := range keys {
		rc, err := from.Get(ctx, k)
		if err != nil {
			return 0, fmt.Errorf("read blob: %w", err)
		}
		err = to.Put(ctx, k, rc)
		rc.Close()
		if err != nil {
			return 0, fmt.Errorf("write blob: %w", err)
		}
	}
	n := 0
	err := to.List(ctx, "", func(k string) error {
		if !strings.HasPrefix(k, "shred/") {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list target blobs: %w", err)
	}
	if n != len(keys) {
		return n, fault.New(fault.Other, fmt.Sprintf("blob counts differ: source %d, target %d", len(keys), n))
	}
	return n, nil
}
