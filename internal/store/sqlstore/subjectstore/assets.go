package subjectstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// CreateUpload implements store.Assets.
func (s *Subjects) CreateUpload(ctx context.Context, u store.Upload) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO uploads(id, tenant_id, subject_hash, created_at, expires_at) VALUES (?,?,?,?,?)`,
		u.ID, u.TenantID, u.SubjectHash, sqlstore.Unix(u.CreatedAt), sqlstore.Unix(u.ExpiresAt))
	return s.c.Classify("create upload", err)
}

// consumeOnce flips used_at from 0 in one statement, so exactly one caller wins.
func (s *Subjects) consumeOnce(ctx context.Context, table, tenantID, id string, at time.Time) error {
	res, err := s.c.W.ExecContext(ctx, `UPDATE `+table+` SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at = 0`, sqlstore.Unix(at), tenantID, id)
	if err != nil {
		return s.c.Classify("consume "+table, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var used int64
	err = s.c.W.QueryRowContext(ctx, `SELECT used_at FROM `+table+` WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&used)
	if err != nil {
		return s.c.Classify("consume "+table, err)
	}
	return fault.New(fault.Conflict, "already used")
}

// ConsumeUpload implements store.Assets.
func (s *Subjects) ConsumeUpload(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.consumeOnce(ctx, "uploads", tenantID, id, at)
}

// CreateAsset implements store.Assets.
func (s *Subjects) CreateAsset(ctx context.Context, a store.Asset) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO assets(id, tenant_id, subject_hash, format, width, height, size, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, a.Format, a.Width, a.Height, a.Size, sqlstore.Unix(a.CreatedAt))
	return s.c.Classify("create asset", err)
}

const assetCols = `id, tenant_id, subject_hash, format, width, height, size, created_at`

func scanAsset(row interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	var created int64
	if err := row.Scan(&a.ID, &a.TenantID, &a.SubjectHash, &a.Format, &a.Width, &a.Height, &a.Size, &created); err != nil {
		return store.Asset{}, err
	}
	a.CreatedAt = sqlstore.FromUnix(created)
	return a, nil
}

// Asset implements store.Assets.
func (s *Subjects) Asset(ctx context.Context, tenantID, id string) (store.Asset, error) {
	a, err := scanAsset(s.c.R.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, s.c.Classify("asset", err)
}

// SubjectAssets implements store.Assets.
func (s *Subjects) SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "subject assets", scanAsset, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
}

// DeleteSubjectAssets implements store.Assets.
func (s *Subjects) DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("delete subject assets", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM assets WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM uploads WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return s.c.Classify("delete subject assets", err)
		}
	}
	return s.c.Classify("delete subject assets", tx.Commit())
}

// DeleteAsset implements store.Assets.
func (s *Subjects) DeleteAsset(ctx context.Context, tenantID, id string) error {
	return s.c.ExecOne(ctx, "delete asset", `DELETE FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// CreateDownload implements store.Assets.
func (s *Subjects) CreateDownload(ctx context.Context, d store.Download) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO downloads(id, tenant_id, asset_id, expires_at) VALUES (?,?,?,?)`, d.ID, d.TenantID, d.AssetID, sqlstore.Unix(d.ExpiresAt))
	return s.c.Classify("create download", err)
}

// ConsumeDownload implements store.Assets.
func (s *Subjects) ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error) {
	if err := s.consumeOnce(ctx, "downloads", tenantID, id, at); err != nil {
		return store.Download{}, err
	}
	var d store.Download
	var exp int64
	err := s.c.W.QueryRowContext(ctx, `SELECT id, tenant_id, asset_id, expires_at FROM downloads WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&d.ID, &d.TenantID, &d.AssetID, &exp)
	d.ExpiresAt = sqlstore.FromUnix(exp)
	return d, s.c.Classify("download", err)
}

// TenantAssets implements store.Assets.
func (s *Subjects) TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]store.Asset, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "tenant assets", scanAsset, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		tenantID, from.UnixNano(), to.UnixNano())
}

// TenantSubjects implements store.Assets.
func (s *Subjects) TenantSubjects(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT subject_hash FROM assets WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM scope_keys WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM consents WHERE tenant_id = ?1 ORDER BY 1`, tenantID)
	if err != nil {
		return nil, s.c.Classify("tenant subjects", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, s.c.Classify("tenant subjects", err)
		}
		out = append(out, h)
	}
	return out, s.c.Classify("tenant subjects", rows.Err())
}
