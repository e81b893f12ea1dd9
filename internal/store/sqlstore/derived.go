package sqlstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// What the derived-data registry, consent expiry and privacy-center
// sessions need from the store (migrations 00012 and 00013).

// BeginForget implements store.Forgets.
func (s *Store) BeginForget(ctx context.Context, f store.Forget) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO forgets(tenant_id, scope, subject_hash, target, created_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`,
		f.TenantID, f.Scope, f.SubjectHash, f.Target, unix(f.CreatedAt))
	return s.classify("begin forget", err)
}

// FinishForget implements store.Forgets.
func (s *Store) FinishForget(ctx context.Context, f store.Forget) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM forgets WHERE tenant_id = ? AND scope = ? AND subject_hash = ? AND target = ?`,
		f.TenantID, f.Scope, f.SubjectHash, f.Target)
	return s.classify("finish forget", err)
}

// PendingForgets implements store.Forgets.
func (s *Store) PendingForgets(ctx context.Context) ([]store.Forget, error) {
	return queryAll(ctx, s.r, "pending forgets", func(rows interface{ Scan(...any) error }) (store.Forget, error) {
		var f store.Forget
		var c int64
		if err := rows.Scan(&f.TenantID, &f.Scope, &f.SubjectHash, &f.Target, &c); err != nil {
			return f, err
		}
		f.CreatedAt = fromUnix(c)
		return f, nil
	}, `SELECT tenant_id, scope, subject_hash, target, created_at FROM forgets ORDER BY created_at, tenant_id, scope, subject_hash, target`)
}

// ExpireConsents implements store.Consents.
func (s *Store) ExpireConsents(ctx context.Context, t time.Time, limit int) ([]store.Consent, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.classify("expire consents", err)
	}
	defer tx.Rollback()
	q := `SELECT ` + consentCols + ` FROM consents WHERE state = ? AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`
	if s.multiWriter() {
		q += ` FOR UPDATE SKIP LOCKED` // another node expiring at once takes the others
	}
	rows, err := tx.QueryContext(ctx, q, store.ConsentGranted, unix(t), s.lim(limit))
	if err != nil {
		return nil, s.classify("expire consents", err)
	}
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			rows.Close()
			return nil, s.classify("expire consents", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.classify("expire consents", err)
	}
	for i, c := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE consents SET state = ? WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`,
			store.ConsentExpired, c.TenantID, c.SubjectHash, c.Purpose); err != nil {
			return nil, s.classify("expire consents", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO purges(tenant_id, subject_hash, purpose, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`,
			c.TenantID, c.SubjectHash, c.Purpose, unix(t)); err != nil {
			return nil, s.classify("expire consents", err)
		}
		out[i].State = store.ConsentExpired
	}
	return out, s.classify("expire consents", tx.Commit())
}

// SubjectResults implements store.Results.
func (s *Store) SubjectResults(ctx context.Context, tenantID, subjectHash string) ([]store.Result, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+resultCols+` FROM results WHERE tenant_id = ? AND subject_hash = ? ORDER BY asset_id, feature`, tenantID, subjectHash)
	if err != nil {
		return nil, s.classify("subject results", err)
	}
	return s.scanResults(rows, "subject results")
}

// PrivacyLinkLive implements store.PrivacyLinks.
func (s *Store) PrivacyLinkLive(ctx context.Context, tenantID, id string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND id = ? AND used_at IS NOT NULL AND revoked_at IS NULL`, tenantID, id).Scan(&n)
	return n == 1, s.classify("privacy link live", err)
}

// RevokePrivacyLinks implements store.PrivacyLinks.
func (s *Store) RevokePrivacyLinks(ctx context.Context, tenantID, subjectHash string, at time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE privacy_links SET revoked_at = ? WHERE tenant_id = ? AND subject_hash = ? AND revoked_at IS NULL`, unix(at), tenantID, subjectHash)
	if err != nil {
		return 0, s.classify("revoke privacy links", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SubjectPrivacyLinks implements store.PrivacyLinks.
func (s *Store) SubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash).Scan(&n)
	return n, s.classify("subject privacy links", err)
}

// DeleteSubjectPrivacyLinks implements store.PrivacyLinks.
func (s *Store) DeleteSubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM privacy_links WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash)
	return s.classify("delete privacy links", err)
}
