package genstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

const suggestionCols = `id, tenant_id, subject_hash, asset_id, x, y, w, h, created_at, expires_at`

func scanSuggestion(row interface{ Scan(...any) error }) (store.Suggestion, error) {
	var g store.Suggestion
	var c, e int64
	if err := row.Scan(&g.ID, &g.TenantID, &g.SubjectHash, &g.AssetID, &g.Box.X, &g.Box.Y, &g.Box.W, &g.Box.H, &c, &e); err != nil {
		return store.Suggestion{}, err
	}
	g.CreatedAt, g.ExpiresAt = sqlstore.FromUnix(c), sqlstore.FromUnix(e)
	return g, nil
}

// CreateSuggestion implements store.Faces.
func (s *Generators) CreateSuggestion(ctx context.Context, g store.Suggestion) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO suggestions(`+suggestionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		g.ID, g.TenantID, g.SubjectHash, g.AssetID, g.Box.X, g.Box.Y, g.Box.W, g.Box.H, sqlstore.Unix(g.CreatedAt), sqlstore.Unix(g.ExpiresAt))
	return s.c.Classify("create suggestion", err)
}

// Suggestion implements store.Faces.
func (s *Generators) Suggestion(ctx context.Context, tenantID, id string) (store.Suggestion, error) {
	gs, err := sqlstore.QueryAll(ctx, s.c.R, "suggestion", scanSuggestion, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return store.Suggestion{}, err
	}
	if len(gs) == 0 {
		return store.Suggestion{}, fault.New(fault.NotFound, "suggestion not found")
	}
	return gs[0], nil
}

// DeleteSuggestion implements store.Faces.
func (s *Generators) DeleteSuggestion(ctx context.Context, tenantID, id string) error {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return s.c.Classify("delete suggestion", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "suggestion not found")
	}
	return nil
}

// ExpiredSuggestions implements store.Faces.
func (s *Generators) ExpiredSuggestions(ctx context.Context, t time.Time, limit int) ([]store.Suggestion, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "expired suggestions", scanSuggestion, `SELECT `+suggestionCols+` FROM suggestions WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, sqlstore.Unix(t), s.c.Lim(limit))
}

// Suggestions implements store.Faces.
func (s *Generators) Suggestions(ctx context.Context, tenantID, subjectHash string) ([]store.Suggestion, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "suggestions", scanSuggestion, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
}

// CreateFaceTag implements store.Faces.
func (s *Generators) CreateFaceTag(ctx context.Context, t store.FaceTag) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO face_tags(id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TenantID, t.SubjectHash, t.AssetID, t.PersonID, t.Box.X, t.Box.Y, t.Box.W, t.Box.H, sqlstore.Unix(t.CreatedAt))
	return s.c.Classify("create face tag", err)
}

// FaceTags implements store.Faces.
func (s *Generators) FaceTags(ctx context.Context, tenantID, subjectHash, personID string) ([]store.FaceTag, error) {
	q := `SELECT ` + faceTagCols + ` FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`
	args := []any{tenantID, subjectHash}
	if personID != "" {
		q += ` AND person_id = ?`
		args = append(args, personID)
	}
	return sqlstore.QueryAll(ctx, s.c.R, "face tags", scanFaceTag, q+` ORDER BY created_at, id`, args...)
}

const faceTagCols = `id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at`

func scanFaceTag(row interface{ Scan(...any) error }) (store.FaceTag, error) {
	var t store.FaceTag
	var c int64
	if err := row.Scan(&t.ID, &t.TenantID, &t.SubjectHash, &t.AssetID, &t.PersonID, &t.Box.X, &t.Box.Y, &t.Box.W, &t.Box.H, &c); err != nil {
		return t, err
	}
	t.CreatedAt = sqlstore.FromUnix(c)
	return t, nil
}

// RetagPerson implements store.Faces.
func (s *Generators) RetagPerson(ctx context.Context, tenantID, subjectHash, from, to string) error {
	_, err := s.c.W.ExecContext(ctx, `UPDATE face_tags SET person_id = ? WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, to, tenantID, subjectHash, from)
	return s.c.Classify("retag person", err)
}

// DeletePersonTags implements store.Faces.
func (s *Generators) DeletePersonTags(ctx context.Context, tenantID, subjectHash, personID string) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, tenantID, subjectHash, personID)
	return s.c.Classify("delete person tags", err)
}

// DeleteSubjectFaces implements store.Faces.
func (s *Generators) DeleteSubjectFaces(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("delete subject faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return s.c.Classify("delete subject faces", err)
		}
	}
	return s.c.Classify("delete subject faces", tx.Commit())
}

// AssetFaces implements store.Faces.
func (s *Generators) AssetFaces(ctx context.Context, tenantID, assetID string) ([]store.Suggestion, []store.FaceTag, error) {
	gs, err := sqlstore.QueryAll(ctx, s.c.R, "asset suggestions", scanSuggestion, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, err
	}
	ts, err := sqlstore.QueryAll(ctx, s.c.R, "asset face tags", scanFaceTag, `SELECT `+faceTagCols+` FROM face_tags WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, err
	}
	return gs, ts, nil
}

// DeleteAssetFaces implements store.Faces.
func (s *Generators) DeleteAssetFaces(ctx context.Context, tenantID, assetID string) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("delete asset faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND asset_id = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND asset_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, assetID); err != nil {
			return s.c.Classify("delete asset faces", err)
		}
	}
	return s.c.Classify("delete asset faces", tx.Commit())
}
