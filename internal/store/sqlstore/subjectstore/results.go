package subjectstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

const resultCols = `id, tenant_id, subject_hash, asset_id, feature, purpose, retention, created_at, expires_at`

func scanResult(row interface{ Scan(...any) error }) (store.Result, error) {
	var r store.Result
	var c, e int64
	if err := row.Scan(&r.ID, &r.TenantID, &r.SubjectHash, &r.AssetID, &r.Feature, &r.Purpose, &r.Retention, &c, &e); err != nil {
		return store.Result{}, err
	}
	r.CreatedAt, r.ExpiresAt = sqlstore.FromUnix(c), sqlstore.FromUnix(e)
	return r, nil
}

// PutResult implements store.Results.
func (s *Subjects) PutResult(ctx context.Context, r store.Result) (string, error) {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return "", s.c.Classify("put result", err)
	}
	defer tx.Rollback()
	// On Postgres the slot may not exist yet (nothing to lock with FOR
	// UPDATE): lock its name, so concurrent puts replace one another as
	// under SQLite's single writer.
	if err := tx.Lock(ctx, "result", r.TenantID, r.AssetID, r.Feature); err != nil {
		return "", s.c.Classify("put result", err)
	}
	var old string
	err = tx.QueryRowContext(ctx, `SELECT id FROM results WHERE tenant_id = ? AND asset_id = ? AND feature = ?`, r.TenantID, r.AssetID, r.Feature).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", s.c.Classify("put result", err)
	}
	if old != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM results WHERE id = ?`, old); err != nil {
			return "", s.c.Classify("put result", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO results(`+resultCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.ID, r.TenantID, r.SubjectHash, r.AssetID, r.Feature, r.Purpose, r.Retention, sqlstore.Unix(r.CreatedAt), sqlstore.Unix(r.ExpiresAt)); err != nil {
		return "", s.c.Classify("put result", err)
	}
	return old, s.c.Classify("put result", tx.Commit())
}

// Results implements store.Results.
func (s *Subjects) Results(ctx context.Context, tenantID, assetID string) ([]store.Result, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "results", scanResult, `SELECT `+resultCols+` FROM results WHERE tenant_id = ? AND asset_id = ? ORDER BY feature`, tenantID, assetID)
}

// ExpiredResults implements store.Results.
func (s *Subjects) ExpiredResults(ctx context.Context, t time.Time, limit int) ([]store.Result, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "expired results", scanResult, `SELECT `+resultCols+` FROM results WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, sqlstore.Unix(t), s.c.Lim(limit))
}

// DeleteResult implements store.Results.
func (s *Subjects) DeleteResult(ctx context.Context, tenantID, id string) error {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM results WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return s.c.Classify("delete result", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "result not found")
	}
	return nil
}

// DeleteSubjectResults implements store.Results.
func (s *Subjects) DeleteSubjectResults(ctx context.Context, tenantID, subjectHash, purpose string) (int, error) {
	q, args := `DELETE FROM results WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, []any{tenantID, subjectHash, purpose}
	if purpose == "*" {
		q, args = `DELETE FROM results WHERE tenant_id = ? AND subject_hash = ?`, args[:2]
	}
	res, err := s.c.W.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, s.c.Classify("delete subject results", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
