package subjectstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// What the derived-data registry, consent expiry and privacy-center
// sessions need from the store (migrations 00012 and 00013).

// BeginForget implements store.Forgets.
func (s *Subjects) BeginForget(ctx context.Context, f store.Forget) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO forgets(tenant_id, scope, subject_hash, target, created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`,
		f.TenantID, f.Scope, f.SubjectHash, f.Target, sqlstore.Unix(f.CreatedAt))
	return s.c.Classify("begin forget", err)
}

// FinishForget implements store.Forgets.
func (s *Subjects) FinishForget(ctx context.Context, f store.Forget) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM forgets WHERE tenant_id = ? AND scope = ? AND subject_hash = ? AND target = ?`,
		f.TenantID, f.Scope, f.SubjectHash, f.Target)
	return s.c.Classify("finish forget", err)
}

// PendingForgets implements store.Forgets.
func (s *Subjects) PendingForgets(ctx context.Context) ([]store.Forget, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "pending forgets", func(rows interface{ Scan(...any) error }) (store.Forget, error) {
		var f store.Forget
		var c int64
		if err := rows.Scan(&f.TenantID, &f.Scope, &f.SubjectHash, &f.Target, &c); err != nil {
			return f, err
		}
		f.CreatedAt = sqlstore.FromUnix(c)
		return f, nil
	}, `SELECT tenant_id, scope, subject_hash, target, created_at FROM forgets ORDER BY created_at, tenant_id, scope, subject_hash, target`)
}

// ExpireConsents implements store.Consents.
func (s *Subjects) ExpireConsents(ctx context.Context, t time.Time, limit int) ([]store.Consent, error) {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.c.Classify("expire consents", err)
	}
	defer tx.Rollback()
	q := `SELECT ` + consentCols + ` FROM consents WHERE state = ? AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`
	if s.c.MultiWriter() {
		q += ` FOR UPDATE SKIP LOCKED` // another node expiring at once takes the others
	}
	rows, err := tx.QueryContext(ctx, q, store.ConsentGranted, sqlstore.Unix(t), s.c.Lim(limit))
	if err != nil {
		return nil, s.c.Classify("expire consents", err)
	}
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			rows.Close()
			return nil, s.c.Classify("expire consents", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.c.Classify("expire consents", err)
	}
	for i, c := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE consents SET state = ? WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`,
			store.ConsentExpired, c.TenantID, c.SubjectHash, c.Purpose); err != nil {
			return nil, s.c.Classify("expire consents", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO purges(tenant_id, subject_hash, purpose, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`,
			c.TenantID, c.SubjectHash, c.Purpose, sqlstore.Unix(t)); err != nil {
			return nil, s.c.Classify("expire consents", err)
		}
		out[i].State = store.ConsentExpired
	}
	return out, s.c.Classify("expire consents", tx.Commit())
}

// SubjectResults implements store.Results.
func (s *Subjects) SubjectResults(ctx context.Context, tenantID, subjectHash string) ([]store.Result, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "subject results", scanResult, `SELECT `+resultCols+` FROM results WHERE tenant_id = ? AND subject_hash = ? ORDER BY asset_id, feature`, tenantID, subjectHash)
}

// PrivacyLinkLive implements store.PrivacyLinks.
func (s *Subjects) PrivacyLinkLive(ctx context.Context, tenantID, id string) (bool, error) {
	var n int
	err := s.c.R.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND id = ? AND used_at IS NOT NULL AND revoked_at IS NULL`, tenantID, id).Scan(&n)
	return n == 1, s.c.Classify("privacy link live", err)
}

// RevokePrivacyLinks implements store.PrivacyLinks.
func (s *Subjects) RevokePrivacyLinks(ctx context.Context, tenantID, subjectHash string, at time.Time) (int, error) {
	res, err := s.c.W.ExecContext(ctx, `UPDATE privacy_links SET revoked_at = ? WHERE tenant_id = ? AND subject_hash = ? AND revoked_at IS NULL`, sqlstore.Unix(at), tenantID, subjectHash)
	if err != nil {
		return 0, s.c.Classify("revoke privacy links", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SubjectPrivacyLinks implements store.PrivacyLinks.
func (s *Subjects) SubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) (int, error) {
	var n int
	err := s.c.R.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash).Scan(&n)
	return n, s.c.Classify("subject privacy links", err)
}

// DeleteSubjectPrivacyLinks implements store.PrivacyLinks.
func (s *Subjects) DeleteSubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM privacy_links WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash)
	return s.c.Classify("delete privacy links", err)
}
