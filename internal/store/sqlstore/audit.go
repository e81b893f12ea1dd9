package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/obscuraproject/obscura/internal/store"
)

// AppendAudit implements store.Audit. Every request waits for its entries,
// so their writes take SQLite's interactive writer lane. There is one
// writer order across every node: the tip read and the append are
// serialised by SQLite's write lock or the chain's advisory lock.
func (s *Store) AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error {
	tx, err := s.w.BeginTx(store.Interactive(ctx), nil)
	if err != nil {
		return s.classify("append audit", err)
	}
	defer tx.Rollback()
	if err := tx.Lock(ctx, "audit"); err != nil {
		return s.classify("append audit", err)
	}
	var seq int64
	var hash string
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s.classify("append audit", err)
	}
	recs, cp, err := build(seq, hash)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit(seq, tenant_id, hash, body) VALUES (?,?,?,?)`, r.Seq, r.TenantID, r.Hash, r.Body); err != nil {
			return s.classify("append audit", err)
		}
	}
	if cp != nil {
		q := `INSERT INTO audit_checkpoints(seq, hash, time, signature) VALUES (?,?,?,?)`
		if s.multiWriter() {
			// Two nodes may both decide the tip needs a checkpoint (each
			// read the last one before taking the lock): the chain fixes
			// the hash at a seq, so the second is the same statement and
			// is dropped.
			q += ` ON CONFLICT (seq) DO NOTHING`
		}
		if _, err := tx.ExecContext(ctx, q, cp.Seq, cp.Hash, cp.Time, cp.Signature); err != nil {
			return s.classify("append audit checkpoint", err)
		}
	}
	return s.classify("append audit", tx.Commit())
}

// AuditRange implements store.Audit.
func (s *Store) AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error) {
	q, args := `SELECT seq, tenant_id, hash, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, []any{after, s.lim(limit)}
	if tenantID != "" {
		q, args = `SELECT seq, tenant_id, hash, body FROM audit WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, []any{tenantID, after, s.lim(limit)}
	}
	return s.auditRecords(ctx, "audit range", q, args...)
}

// AuditTail implements store.Audit.
func (s *Store) AuditTail(ctx context.Context, tenantID string, before int64, limit int) ([]store.AuditRecord, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	q, args := `SELECT seq, tenant_id, hash, body FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?`, []any{before, s.lim(limit)}
	if tenantID != "" {
		q, args = `SELECT seq, tenant_id, hash, body FROM audit WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, []any{tenantID, before, s.lim(limit)}
	}
	return s.auditRecords(ctx, "audit tail", q, args...)
}

// auditRecords runs an audit query selecting seq, tenant_id, hash, body.
func (s *Store) auditRecords(ctx context.Context, op, q string, args ...any) ([]store.AuditRecord, error) {
	return QueryAll(ctx, s.r, op, func(rows interface{ Scan(...any) error }) (store.AuditRecord, error) {
		var r store.AuditRecord
		if err := rows.Scan(&r.Seq, &r.TenantID, &r.Hash, &r.Body); err != nil {
			return r, err
		}
		return r, nil
	}, q, args...)
}

// AuditCheckpoints implements store.Audit.
func (s *Store) AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error) {
	return QueryAll(ctx, s.r, "audit checkpoints", func(rows interface{ Scan(...any) error }) (store.AuditCheckpoint, error) {
		var c store.AuditCheckpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.Time, &c.Signature); err != nil {
			return c, err
		}
		return c, nil
	}, `SELECT seq, hash, time, signature FROM audit_checkpoints ORDER BY seq`)
}
