package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

const suggestionCols = `id, tenant_id, subject_hash, asset_id, x, y, w, h, created_at, expires_at`

func (s *Store) scanSuggestions(rows *sql.Rows, op string) ([]store.Suggestion, error) {
	defer rows.Close()
	var out []store.Suggestion
	for rows.Next() {
		var g store.Suggestion
		var c, e int64
		if err := rows.Scan(&g.ID, &g.TenantID, &g.SubjectHash, &g.AssetID, &g.Box.X, &g.Box.Y, &g.Box.W, &g.Box.H, &c, &e); err != nil {
			return nil, s.classify(op, err)
		}
		g.CreatedAt, g.ExpiresAt = fromUnix(c), fromUnix(e)
		out = append(out, g)
	}
	return out, s.classify(op, rows.Err())
}

// CreateSuggestion implements store.Faces.
func (s *Store) CreateSuggestion(ctx context.Context, g store.Suggestion) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO suggestions(`+suggestionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		g.ID, g.TenantID, g.SubjectHash, g.AssetID, g.Box.X, g.Box.Y, g.Box.W, g.Box.H, unix(g.CreatedAt), unix(g.ExpiresAt))
	return s.classify("create suggestion", err)
}

// Suggestion implements store.Faces.
func (s *Store) Suggestion(ctx context.Context, tenantID, id string) (store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return store.Suggestion{}, s.classify("suggestion", err)
	}
	gs, err := s.scanSuggestions(rows, "suggestion")
	if err != nil {
		return store.Suggestion{}, err
	}
	if len(gs) == 0 {
		return store.Suggestion{}, fault.New(fault.NotFound, "suggestion not found")
	}
	return gs[0], nil
}

// DeleteSuggestion implements store.Faces.
func (s *Store) DeleteSuggestion(ctx context.Context, tenantID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM suggestions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return s.classify("delete suggestion", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "suggestion not found")
	}
	return nil
}

// ExpiredSuggestions implements store.Faces.
func (s *Store) ExpiredSuggestions(ctx context.Context, t time.Time, limit int) ([]store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`, unix(t), s.lim(limit))
	if err != nil {
		return nil, s.classify("expired suggestions", err)
	}
	return s.scanSuggestions(rows, "expired suggestions")
}

// Suggestions implements store.Faces.
func (s *Store) Suggestions(ctx context.Context, tenantID, subjectHash string) ([]store.Suggestion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND subject_hash = ? ORDER BY created_at, id`, tenantID, subjectHash)
	if err != nil {
		return nil, s.classify("suggestions", err)
	}
	return s.scanSuggestions(rows, "suggestions")
}

// CreateFaceTag implements store.Faces.
func (s *Store) CreateFaceTag(ctx context.Context, t store.FaceTag) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO face_tags(id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TenantID, t.SubjectHash, t.AssetID, t.PersonID, t.Box.X, t.Box.Y, t.Box.W, t.Box.H, unix(t.CreatedAt))
	return s.classify("create face tag", err)
}

// FaceTags implements store.Faces.
func (s *Store) FaceTags(ctx context.Context, tenantID, subjectHash, personID string) ([]store.FaceTag, error) {
	q := `SELECT id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`
	args := []any{tenantID, subjectHash}
	if personID != "" {
		q += ` AND person_id = ?`
		args = append(args, personID)
	}
	return queryAll(ctx, s.r, "face tags", func(rows interface{ Scan(...any) error }) (store.FaceTag, error) {
		var t store.FaceTag
		var c int64
		if err := rows.Scan(&t.ID, &t.TenantID, &t.SubjectHash, &t.AssetID, &t.PersonID, &t.Box.X, &t.Box.Y, &t.Box.W, &t.Box.H, &c); err != nil {
			return t, err
		}
		t.CreatedAt = fromUnix(c)
		return t, nil
	}, q+` ORDER BY created_at, id`, args...)
}

// RetagPerson implements store.Faces.
func (s *Store) RetagPerson(ctx context.Context, tenantID, subjectHash, from, to string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE face_tags SET person_id = ? WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, to, tenantID, subjectHash, from)
	return s.classify("retag person", err)
}

// DeletePersonTags implements store.Faces.
func (s *Store) DeletePersonTags(ctx context.Context, tenantID, subjectHash, personID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ? AND person_id = ?`, tenantID, subjectHash, personID)
	return s.classify("delete person tags", err)
}

// DeleteSubjectFaces implements store.Faces.
func (s *Store) DeleteSubjectFaces(ctx context.Context, tenantID, subjectHash string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("delete subject faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND subject_hash = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, subjectHash); err != nil {
			return s.classify("delete subject faces", err)
		}
	}
	return s.classify("delete subject faces", tx.Commit())
}

// AssetFaces implements store.Faces.
func (s *Store) AssetFaces(ctx context.Context, tenantID, assetID string) ([]store.Suggestion, []store.FaceTag, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+suggestionCols+` FROM suggestions WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, s.classify("asset suggestions", err)
	}
	gs, err := s.scanSuggestions(rows, "asset suggestions")
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT id, tenant_id, subject_hash, asset_id, person_id, x, y, w, h, created_at FROM face_tags WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	if err != nil {
		return nil, nil, s.classify("asset face tags", err)
	}
	defer rows.Close()
	var ts []store.FaceTag
	for rows.Next() {
		var t store.FaceTag
		var c int64
		if err := rows.Scan(&t.ID, &t.TenantID, &t.SubjectHash, &t.AssetID, &t.PersonID, &t.Box.X, &t.Box.Y, &t.Box.W, &t.Box.H, &c); err != nil {
			return nil, nil, s.classify("asset face tags", err)
		}
		t.CreatedAt = fromUnix(c)
		ts = append(ts, t)
	}
	return gs, ts, s.classify("asset face tags", rows.Err())
}

// DeleteAssetFaces implements store.Faces.
func (s *Store) DeleteAssetFaces(ctx context.Context, tenantID, assetID string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("delete asset faces", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM suggestions WHERE tenant_id = ? AND asset_id = ?`, `DELETE FROM face_tags WHERE tenant_id = ? AND asset_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, tenantID, assetID); err != nil {
			return s.classify("delete asset faces", err)
		}
	}
	return s.classify("delete asset faces", tx.Commit())
}
