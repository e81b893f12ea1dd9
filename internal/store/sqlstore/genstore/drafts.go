package genstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

var _ store.Drafts = (*Generators)(nil)

const draftCols = `id, tenant_id, subject_hash, source_asset, purpose, feature, retention, size, created_at, expires_at`

func scanDraft(row interface{ Scan(...any) error }) (store.Draft, error) {
	var d store.Draft
	var c, e int64
	if err := row.Scan(&d.ID, &d.TenantID, &d.SubjectHash, &d.SourceAsset, &d.Purpose, &d.Feature, &d.Retention, &d.Size, &c, &e); err != nil {
		return store.Draft{}, err
	}
	d.CreatedAt, d.ExpiresAt = sqlstore.FromUnix(c), sqlstore.FromUnix(e)
	return d, nil
}

// PutDraft implements store.Drafts.
func (s *Generators) PutDraft(ctx context.Context, d store.Draft) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO drafts(`+draftCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.TenantID, d.SubjectHash, d.SourceAsset, d.Purpose, d.Feature, d.Retention, d.Size, sqlstore.Unix(d.CreatedAt), sqlstore.Unix(d.ExpiresAt))
	return s.c.Classify("put draft", err)
}

// Draft implements store.Drafts.
func (s *Generators) Draft(ctx context.Context, tenantID, id string) (store.Draft, error) {
	ds, err := sqlstore.QueryAll(ctx, s.c.R, "draft", scanDraft, `SELECT `+draftCols+` FROM drafts WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return store.Draft{}, err
	}
	if len(ds) == 0 {
		return store.Draft{}, fault.New(fault.NotFound, "draft not found")
	}
	return ds[0], nil
}

// SubjectDrafts implements store.Drafts.
func (s *Generators) SubjectDrafts(ctx context.Context, tenantID, subjectHash string) ([]store.Draft, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "subject drafts", scanDraft, `SELECT `+draftCols+` FROM drafts WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
}

// AssetDrafts implements store.Drafts.
func (s *Generators) AssetDrafts(ctx context.Context, tenantID, assetID string) ([]store.Draft, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "asset drafts", scanDraft, `SELECT `+draftCols+` FROM drafts WHERE tenant_id = ? AND source_asset = ? ORDER BY created_at, id`, tenantID, assetID)
}

// ExpiredDrafts implements store.Drafts.
func (s *Generators) ExpiredDrafts(ctx context.Context, t time.Time, limit int) ([]store.Draft, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "expired drafts", scanDraft, `SELECT `+draftCols+` FROM drafts WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, sqlstore.Unix(t), s.c.Lim(limit))
}

// DeleteDraft implements store.Drafts.
func (s *Generators) DeleteDraft(ctx context.Context, tenantID, id string) error {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM drafts WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return s.c.Classify("delete draft", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "draft not found")
	}
	return nil
}

// AcceptDraft implements store.Drafts.
func (s *Generators) AcceptDraft(ctx context.Context, draftID string, a store.Asset, g store.Generated) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("accept draft", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE tenant_id = ? AND id = ?`, a.TenantID, draftID)
	if err != nil {
		return s.c.Classify("accept draft", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.New(fault.NotFound, "draft not found")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO assets(id, tenant_id, subject_hash, format, width, height, size, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, a.Format, a.Width, a.Height, a.Size, sqlstore.Unix(a.CreatedAt)); err != nil {
		return s.c.Classify("accept draft", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO generated_assets(asset_id, tenant_id, subject_hash, feature, name, version, source_ref, generation_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		a.ID, a.TenantID, a.SubjectHash, g.Feature, g.Name, g.Version, g.SourceRef, g.GenerationID, sqlstore.Unix(g.CreatedAt)); err != nil {
		return s.c.Classify("accept draft", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_assets WHERE tenant_id = ? AND id = ?`, a.TenantID, a.ID); err != nil {
		return s.c.Classify("accept draft", err)
	}
	return s.c.Classify("accept draft", tx.Commit())
}

// SubjectGenerated implements store.Drafts.
func (s *Generators) SubjectGenerated(ctx context.Context, tenantID, subjectHash string) ([]store.Generated, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT asset_id, tenant_id, subject_hash, feature, name, version, source_ref, generation_id, created_at
		FROM generated_assets WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, asset_id`, tenantID, subjectHash)
	if err != nil {
		return nil, s.c.Classify("subject generated", err)
	}
	defer rows.Close()
	var out []store.Generated
	for rows.Next() {
		var g store.Generated
		var c int64
		if err := rows.Scan(&g.AssetID, &g.TenantID, &g.SubjectHash, &g.Feature, &g.Name, &g.Version, &g.SourceRef, &g.GenerationID, &c); err != nil {
			return nil, s.c.Classify("subject generated", err)
		}
		g.CreatedAt = sqlstore.FromUnix(c)
		out = append(out, g)
	}
	return out, s.c.Classify("subject generated", rows.Err())
}
