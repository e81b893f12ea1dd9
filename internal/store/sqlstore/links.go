package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// CreatePrivacyLink implements store.PrivacyLinks.
func (s *Store) CreatePrivacyLink(ctx context.Context, l store.PrivacyLink) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO privacy_links(id, tenant_id, subject_hash, expires_at) VALUES (?,?,?,?)`,
		l.ID, l.TenantID, l.SubjectHash, Unix(l.ExpiresAt))
	return s.classify("create privacy link", err)
}

// CreateConsoleLink implements store.ConsoleLinks.
func (s *Store) CreateConsoleLink(ctx context.Context, id string, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_links(id, expires_at) VALUES (?,?)`, id, Unix(expires))
	return s.classify("create console link", err)
}

// ConsumeConsoleLink implements store.ConsoleLinks.
func (s *Store) ConsumeConsoleLink(ctx context.Context, id string, at time.Time) (time.Time, error) {
	var exp int64
	err := s.w.QueryRowContext(ctx, `UPDATE console_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL RETURNING expires_at`, Unix(at), id).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if s.r.QueryRowContext(ctx, `SELECT count(*) FROM console_links WHERE id = ?`, id).Scan(&n); n > 0 {
			return time.Time{}, fault.New(fault.Conflict, "console link already used or revoked")
		}
		return time.Time{}, fault.New(fault.NotFound, "console link not found")
	}
	if err != nil {
		return time.Time{}, s.classify("consume console link", err)
	}
	return FromUnix(exp), nil
}

// ConsoleLinkLive implements store.ConsoleLinks.
func (s *Store) ConsoleLinkLive(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM console_links WHERE id = ? AND used_at IS NOT NULL AND revoked_at IS NULL`, id).Scan(&n)
	return n == 1, s.classify("console link live", err)
}

// RevokeConsoleLinks implements store.ConsoleLinks.
func (s *Store) RevokeConsoleLinks(ctx context.Context, at time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE console_links SET revoked_at = ? WHERE revoked_at IS NULL`, Unix(at))
	if err != nil {
		return 0, s.classify("revoke console links", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ConsumePrivacyLink implements store.PrivacyLinks.
func (s *Store) ConsumePrivacyLink(ctx context.Context, tenantID, id string, at time.Time) (store.PrivacyLink, error) {
	l := store.PrivacyLink{ID: id, TenantID: tenantID}
	var exp int64
	err := s.w.QueryRowContext(ctx, `UPDATE privacy_links SET used_at = ? WHERE tenant_id = ? AND id = ? AND used_at IS NULL AND revoked_at IS NULL RETURNING subject_hash, expires_at`,
		Unix(at), tenantID, id).Scan(&l.SubjectHash, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if s.r.QueryRowContext(ctx, `SELECT count(*) FROM privacy_links WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); n > 0 {
			return store.PrivacyLink{}, fault.New(fault.Conflict, "privacy link already used or revoked")
		}
		return store.PrivacyLink{}, fault.New(fault.NotFound, "privacy link not found")
	}
	if err != nil {
		return store.PrivacyLink{}, s.classify("consume privacy link", err)
	}
	l.ExpiresAt = FromUnix(exp)
	return l, nil
}
