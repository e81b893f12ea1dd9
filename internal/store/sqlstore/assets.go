package sqlstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// CreateUpload implements store.Assets.
func (s *Store) CreateUpload(ctx context.Context, u store.Upload) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO uploads(id, tenant_id, subject_hash, created_at, expires_at) VALUES (?,?,?,?,?)`,
		u.ID, u.TenantID, u.SubjectHash, unix(u.CreatedAt), unix(u.ExpiresAt))
	return s.classify("create upload", err)
}

// consumeOnce flips used_at from 0 in one statement, so exactly one caller wins.
func (s *Store) consumeOnce(ctx context.Context, table, tenantID, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE `+table+` SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at = 0`, unix(at), tenantID, id)
	if err != nil {
		return s.classify("consume "+table, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var used int64
	err = s.w.QueryRowContext(ctx, `SELECT used_at FROM `+table+` WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&used)
	if err != nil {
		return s.classify("consume "+table, err)
	}
	return fault.New(fault.Conflict, "already used")
}

// ConsumeUpload implements store.Assets.
func (s *Store) ConsumeUpload(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.consumeOnce(ctx, "uploads", tenantID, id, at)
}

// CreateAsset implements store.Assets.
func (s *Store) CreateAsset(ctx context.Context, a store.Asset) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO assets(id, tenant_id, subject_hash, format, width, height, size, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, a.Format, a.Width, a.Height, a.Size, unix(a.CreatedAt))
	return s.classify("create asset", err)
}

const assetCols = `id, tenant_id, subject_hash, format, width, height, size, created_at`

func scanAsset(row interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	var created int64
	if err := row.Scan(&a.ID, &a.TenantID, &a.SubjectHash, &a.Format, &a.Width, &a.Height, &a.Size, &created); err != nil {
		return store.Asset{}, err
	}
	a.CreatedAt = fromUnix(created)
	return a, nil
}

// Asset implements store.Assets.
func (s *Store) Asset(ctx context.Context, tenantID, id string) (store.Asset, error) {
	a, err := scanAsset(s.r.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, s.classify("asset", err)
}

// SubjectAssets implements store.Assets.
func (s *Store) SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error) {
	return queryAll(ctx, s.r, "subject assets", scanAsset, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
}

// DeleteSubjectAssets implements store.Assets.
func (s *Store) DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("delete subject assets", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM assets WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM uploads WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return s.classify("delete subject assets", err)
		}
	}
	return s.classify("delete subject assets", tx.Commit())
}

// DeleteAsset implements store.Assets.
func (s *Store) DeleteAsset(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete asset", `DELETE FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// CreateDownload implements store.Assets.
func (s *Store) CreateDownload(ctx context.Context, d store.Download) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO downloads(id, tenant_id, asset_id, expires_at) VALUES (?,?,?,?)`, d.ID, d.TenantID, d.AssetID, unix(d.ExpiresAt))
	return s.classify("create download", err)
}

// ConsumeDownload implements store.Assets.
func (s *Store) ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error) {
	if err := s.consumeOnce(ctx, "downloads", tenantID, id, at); err != nil {
		return store.Download{}, err
	}
	var d store.Download
	var exp int64
	err := s.w.QueryRowContext(ctx, `SELECT id, tenant_id, asset_id, expires_at FROM downloads WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&d.ID, &d.TenantID, &d.AssetID, &exp)
	d.ExpiresAt = fromUnix(exp)
	return d, s.classify("download", err)
}
