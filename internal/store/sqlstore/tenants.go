package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// CreateTenant implements store.Tenants.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, first store.APIKey) error {
	if first.TenantID != t.ID {
		return fault.New(fault.Invalid, "first key belongs to another tenant")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("create tenant", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants(id, name, created_at, min_kek_version) VALUES (?,?,?,0)`,
		t.ID, t.Name, Unix(t.CreatedAt)); err != nil {
		return s.classify("create tenant", err)
	}
	if err := insertKey(ctx, tx, first); err != nil {
		return err
	}
	return s.classify("create tenant", tx.Commit())
}

// Tenant implements store.Tenants.
func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at, min_kek_version FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.Name, &created, &t.MinKEKVersion)
	if err != nil {
		return store.Tenant{}, s.classify("tenant", err)
	}
	t.CreatedAt = FromUnix(created)
	return t, nil
}

// Tenants implements store.Tenants.
func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return QueryAll(ctx, s.r, "tenants", func(rows interface{ Scan(...any) error }) (store.Tenant, error) {
		var t store.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created, &t.MinKEKVersion); err != nil {
			return t, err
		}
		t.CreatedAt = FromUnix(created)
		return t, nil
	}, `SELECT id, name, created_at, min_kek_version FROM tenants ORDER BY created_at, id`)
}

// SetMinKEKVersion implements store.Tenants.
func (s *Store) SetMinKEKVersion(ctx context.Context, tenantID string, v int) error {
	return s.execOne(ctx, "set min kek version", `UPDATE tenants SET min_kek_version = ? WHERE id = ?`, v, tenantID)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	Dialect() *Dialect
}

func insertKey(ctx context.Context, db execer, k store.APIKey) error {
	_, err := db.ExecContext(ctx, `INSERT INTO api_keys(id, tenant_id, scopes, secret_hash, created_at, revoked_at) VALUES (?,?,?,?,?,?)`,
		k.ID, k.TenantID, strings.Join(k.Scopes, " "), k.SecretHash, Unix(k.CreatedAt), Unix(k.RevokedAt))
	return db.Dialect().Classify("create api key", err)
}

// CreateAPIKey implements store.APIKeys.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if _, err := s.Tenant(ctx, k.TenantID); err != nil {
		return err
	}
	return insertKey(ctx, s.w, k)
}

const keyCols = `id, tenant_id, scopes, secret_hash, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created, revoked int64
	if err := row.Scan(&k.ID, &k.TenantID, &scopes, &k.SecretHash, &created, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.RevokedAt = FromUnix(created), FromUnix(revoked)
	return k, nil
}

// APIKeyForAuth implements store.APIKeys.
func (s *Store) APIKeyForAuth(ctx context.Context, keyID string) (store.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, keyID))
	return k, s.classify("api key", err)
}

// APIKey implements store.APIKeys.
func (s *Store) APIKey(ctx context.Context, tenantID, keyID string) (store.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND id = ?`, tenantID, keyID))
	return k, s.classify("api key", err)
}

// APIKeys implements store.APIKeys.
func (s *Store) APIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	return QueryAll(ctx, s.r, "list api keys", scanKey, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

// RevokeAPIKey implements store.APIKeys.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at = 0`,
		Unix(at), tenantID, keyID); err != nil {
		return s.classify("revoke api key", err)
	}
	_, err := s.APIKey(ctx, tenantID, keyID)
	return err
}
