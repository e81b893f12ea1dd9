package subjectstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// RecordConsent implements store.Consents.
func (s *Subjects) RecordConsent(ctx context.Context, tenantID, subjectHash string, build func(prevHash string) (store.ConsentChange, error)) error {
	tx, err := s.c.W.BeginTx(ctx, nil) // SQLite: _txlock=immediate, the write lock is taken now
	if err != nil {
		return s.c.Classify("record consent", err)
	}
	defer tx.Rollback()
	// One writer per subject chain across every node: the tip read below
	// and the append are serialised, so chains never fork.
	if err := tx.Lock(ctx, "consent", tenantID, subjectHash); err != nil {
		return s.c.Classify("record consent", err)
	}
	var prev string
	seq := 0
	err = tx.QueryRowContext(ctx, `SELECT hash, seq FROM receipts WHERE tenant_id = ? AND subject_hash = ? ORDER BY seq DESC LIMIT 1`, tenantID, subjectHash).Scan(&prev, &seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s.c.Classify("record consent", err)
	}
	ch, err := build(prev)
	if err != nil {
		return err
	}
	c := ch.Consent
	if _, err := tx.ExecContext(ctx, `INSERT INTO receipts(tenant_id, subject_hash, seq, hash, body) VALUES (?,?,?,?,?)`,
		tenantID, subjectHash, seq+1, ch.Receipt.Hash, ch.Receipt.Body); err != nil {
		return s.c.Classify("record consent", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consents(tenant_id, subject_hash, purpose, state, notice_version, updated_at, expires_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(tenant_id, subject_hash, purpose) DO UPDATE SET state = excluded.state, notice_version = excluded.notice_version, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
		tenantID, subjectHash, c.Purpose, c.State, c.Notice, sqlstore.Unix(c.UpdatedAt), sqlstore.Unix(c.ExpiresAt)); err != nil {
		return s.c.Classify("record consent", err)
	}
	if ch.Purge {
		if _, err := tx.ExecContext(ctx, `INSERT INTO purges(tenant_id, subject_hash, purpose, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`,
			tenantID, subjectHash, c.Purpose, sqlstore.Unix(c.UpdatedAt)); err != nil {
			return s.c.Classify("record consent", err)
		}
	}
	return s.c.Classify("record consent", tx.Commit())
}

const consentCols = `tenant_id, subject_hash, purpose, state, notice_version, updated_at, expires_at`

func scanConsent(row interface{ Scan(...any) error }) (store.Consent, error) {
	var c store.Consent
	var up, exp int64
	if err := row.Scan(&c.TenantID, &c.SubjectHash, &c.Purpose, &c.State, &c.Notice, &up, &exp); err != nil {
		return store.Consent{}, err
	}
	c.UpdatedAt, c.ExpiresAt = sqlstore.FromUnix(up), sqlstore.FromUnix(exp)
	return c, nil
}

// Consent implements store.Consents.
func (s *Subjects) Consent(ctx context.Context, tenantID, subjectHash, purpose string) (store.Consent, error) {
	c, err := scanConsent(s.c.R.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, tenantID, subjectHash, purpose))
	return c, s.c.Classify("consent", err)
}

// Consents implements store.Consents.
func (s *Subjects) Consents(ctx context.Context, tenantID, subjectHash string) ([]store.Consent, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "consents", scanConsent, `SELECT `+consentCols+` FROM consents WHERE tenant_id = ? AND subject_hash = ? ORDER BY purpose`, tenantID, subjectHash)
}

// Receipts implements store.Consents.
func (s *Subjects) Receipts(ctx context.Context, tenantID, subjectHash string) ([]store.ReceiptRecord, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "receipts", func(rows interface{ Scan(...any) error }) (store.ReceiptRecord, error) {
		var r store.ReceiptRecord
		if err := rows.Scan(&r.TenantID, &r.SubjectHash, &r.Seq, &r.Hash, &r.Body); err != nil {
			return r, err
		}
		return r, nil
	}, `SELECT tenant_id, subject_hash, seq, hash, body FROM receipts WHERE tenant_id = ? AND subject_hash = ? ORDER BY seq`, tenantID, subjectHash)
}

// PendingPurges implements store.Consents.
func (s *Subjects) PendingPurges(ctx context.Context) ([]store.Purge, error) {
	return sqlstore.QueryAll(ctx, s.c.R, "pending purges", func(rows interface{ Scan(...any) error }) (store.Purge, error) {
		var p store.Purge
		var created int64
		if err := rows.Scan(&p.TenantID, &p.SubjectHash, &p.Purpose, &created); err != nil {
			return p, err
		}
		p.CreatedAt = sqlstore.FromUnix(created)
		return p, nil
	}, `SELECT tenant_id, subject_hash, purpose, created_at FROM purges ORDER BY created_at`)
}

// FinishPurge implements store.Consents.
func (s *Subjects) FinishPurge(ctx context.Context, tenantID, subjectHash, purpose string) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM purges WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`, tenantID, subjectHash, purpose)
	return s.c.Classify("finish purge", err)
}

// DeleteConsents implements store.Consents.
func (s *Subjects) DeleteConsents(ctx context.Context, tenantID, subjectHash string) error {
	_, err := s.c.W.ExecContext(ctx, `DELETE FROM consents WHERE tenant_id = ? AND subject_hash = ?`, tenantID, subjectHash)
	return s.c.Classify("delete consents", err)
}
