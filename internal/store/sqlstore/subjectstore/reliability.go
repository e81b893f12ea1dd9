package subjectstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// BeginAsset implements store.PendingAssets.
func (s *Subjects) BeginAsset(ctx context.Context, p store.PendingAsset) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO pending_assets(id, tenant_id, subject_hash, created_at) VALUES (?,?,?,?)`,
		p.ID, p.TenantID, p.SubjectHash, sqlstore.Unix(p.CreatedAt))
	return s.c.Classify("begin asset", err)
}

// CommitAsset implements store.PendingAssets: spend the upload, insert the
// record and clear the mark in one transaction, so a crash leaves either
// all three or none.
func (s *Subjects) CommitAsset(ctx context.Context, a store.Asset, uploadID string, at time.Time) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("commit asset", err)
	}
	defer tx.Rollback()
	if uploadID != "" {
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at = 0`, sqlstore.Unix(at), a.TenantID, uploadID)
		if err != nil {
			return s.c.Classify("commit asset", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			var used int64
			if err := tx.QueryRowContext(ctx, `SELECT used_at FROM uploads WHERE tenant_id = ? AND id = ?`, a.TenantID, uploadID).Scan(&used); err != nil {
				return s.c.Classify("commit asset", err)
			}
			return fault.New(fault.Conflict, "already used")
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO assets(id, tenant_id, subject_hash, format, width, height, size, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, a.Format, a.Width, a.Height, a.Size, sqlstore.Unix(a.CreatedAt)); err != nil {
		return s.c.Classify("commit asset", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_assets WHERE tenant_id = ? AND id = ?`, a.TenantID, a.ID); err != nil {
		return s.c.Classify("commit asset", err)
	}
	return s.c.Classify("commit asset", tx.Commit())
}

// UploadSpent implements store.PendingAssets.
func (s *Subjects) UploadSpent(ctx context.Context, tenantID, uploadID string) (bool, error) {
	var used int64
	err := s.c.R.QueryRowContext(ctx, `SELECT used_at FROM uploads WHERE tenant_id = ? AND id = ?`, tenantID, uploadID).Scan(&used)
	if err != nil {
		return false, s.c.Classify("upload", err)
	}
	return used != 0, nil
}

// StalePendingAssets implements store.PendingAssets.
func (s *Subjects) StalePendingAssets(ctx context.Context, before time.Time, limit int) ([]store.PendingAsset, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "stale pending assets", func(rows interface{ Scan(...any) error }) (store.PendingAsset, error) {
		var p store.PendingAsset
		var created int64
		if err := rows.Scan(&p.ID, &p.TenantID, &p.SubjectHash, &created); err != nil {
			return p, err
		}
		p.CreatedAt = sqlstore.FromUnix(created)
		return p, nil
	}, `SELECT id, tenant_id, subject_hash, created_at FROM pending_assets WHERE created_at < ? ORDER BY created_at, id LIMIT ?`, sqlstore.Unix(before), s.c.Lim(limit))
}

// ClearPendingAsset implements store.PendingAssets.
func (s *Subjects) ClearPendingAsset(ctx context.Context, tenantID, id string) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM pending_assets WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return s.c.Classify("clear pending asset", err)
}

// ProbeWrite checks that the database can be written now (a full disk, a
// read-only file or a lost lock fail it) by rewriting one row of
// write_probe. Readiness checks call it.
func (s *Subjects) ProbeWrite(ctx context.Context, at time.Time) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO write_probe(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at`, sqlstore.Unix(at))
	return s.c.Classify("write probe", err)
}
