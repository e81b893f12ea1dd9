package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// CreateKEKVersion implements store.Keys.
func (s *Store) CreateKEKVersion(ctx context.Context, v store.KEKVersion) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO kek_versions(tenant_id, version, state, created_at, keyset) VALUES (?,?,?,?,?)`,
		v.TenantID, v.Version, string(v.State), Unix(v.CreatedAt), v.Keyset)
	return s.classify("create kek version", err)
}

// KEKVersions implements store.Keys.
func (s *Store) KEKVersions(ctx context.Context, tenantID string) ([]store.KEKVersion, error) {
	return QueryAll(ctx, s.r, "kek versions", func(rows interface{ Scan(...any) error }) (store.KEKVersion, error) {
		var v store.KEKVersion
		var state string
		var created int64
		if err := rows.Scan(&v.TenantID, &v.Version, &state, &created, &v.Keyset); err != nil {
			return v, err
		}
		v.State, v.CreatedAt = store.KEKState(state), FromUnix(created)
		return v, nil
	}, `SELECT tenant_id, version, state, created_at, keyset FROM kek_versions WHERE tenant_id = ? ORDER BY version`, tenantID)
}

// SetKEKState implements store.Keys.
func (s *Store) SetKEKState(ctx context.Context, tenantID string, version int, st store.KEKState) error {
	return s.execOne(ctx, "set kek state", `UPDATE kek_versions SET state = ? WHERE tenant_id = ? AND version = ?`, string(st), tenantID, version)
}

const scopeCols = `id, tenant_id, subject_hash, purpose, kek_version, wrapped, created_at`

func scanScope(row interface{ Scan(...any) error }) (store.ScopeKey, error) {
	var k store.ScopeKey
	var created int64
	if err := row.Scan(&k.ID, &k.TenantID, &k.SubjectHash, &k.Purpose, &k.KEKVersion, &k.Wrapped, &created); err != nil {
		return store.ScopeKey{}, err
	}
	k.CreatedAt = FromUnix(created)
	return k, nil
}

// CreateScopeKey implements store.Keys.
func (s *Store) CreateScopeKey(ctx context.Context, k store.ScopeKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO scope_keys(`+scopeCols+`) VALUES (?,?,?,?,?,?,?)`,
		k.ID, k.TenantID, k.SubjectHash, k.Purpose, k.KEKVersion, k.Wrapped, Unix(k.CreatedAt))
	return s.classify("create scope key", err)
}

// ScopeKey implements store.Keys.
func (s *Store) ScopeKey(ctx context.Context, tenantID, subjectHash, purpose string) (store.ScopeKey, error) {
	k, err := scanScope(s.r.QueryRowContext(ctx, `SELECT `+scopeCols+` FROM scope_keys WHERE tenant_id = ? AND subject_hash = ? AND purpose = ?`,
		tenantID, subjectHash, purpose))
	return k, s.classify("scope key", err)
}

// DestroyScopeKeys implements store.Keys. On SQLite, with secure_delete
// on, the rows' bytes are zeroed in the database pages; the WAL is then
// checkpointed and truncated (Dialect.AfterDestroy) so the old pages do
// not survive there either. In Postgres the deleted rows' bytes survive
// for a while in dead tuples, in the WAL and in backups, so deleting the
// wrapped key is not by itself destruction there: what makes it final
// happens outside the database (shred keys, docs/spec/keys-v2.md).
func (s *Store) DestroyScopeKeys(ctx context.Context, tenantID, subjectHash, purpose string) (int, error) {
	q, args := `DELETE FROM scope_keys WHERE tenant_id = ? AND subject_hash = ?`, []any{tenantID, subjectHash}
	if purpose != "*" {
		q, args = q+` AND purpose = ?`, append(args, purpose)
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, s.classify("destroy scope keys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.classify("destroy scope keys", err)
	}
	if s.d.AfterDestroy != "" {
		if _, err := s.w.ExecContext(ctx, s.d.AfterDestroy); err != nil {
			return int(n), s.classify("checkpoint after destroy", err)
		}
	}
	return int(n), nil
}

// ScopeKeysBelow implements store.Keys.
func (s *Store) ScopeKeysBelow(ctx context.Context, tenantID string, version int, afterID string, limit int) ([]store.ScopeKey, error) {
	return QueryAll(ctx, s.r, "scope keys below", scanScope, `SELECT `+scopeCols+` FROM scope_keys WHERE tenant_id = ? AND kek_version < ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, version, afterID, s.lim(limit))
}

// RewrapScopeKey implements store.Keys.
func (s *Store) RewrapScopeKey(ctx context.Context, tenantID, id string, fromVersion, toVersion int, wrapped []byte) error {
	err := s.execOne(ctx, "rewrap scope key", `UPDATE scope_keys SET kek_version = ?, wrapped = ? WHERE tenant_id = ? AND id = ? AND kek_version = ?`,
		toVersion, wrapped, tenantID, id, fromVersion)
	if errors.Is(err, fault.NotFound) {
		return fault.New(fault.Conflict, "scope key changed concurrently")
	}
	return err
}

// SystemKeyset implements store.Keys.
func (s *Store) SystemKeyset(ctx context.Context, name string) ([]byte, error) {
	var ks []byte
	err := s.r.QueryRowContext(ctx, `SELECT keyset FROM system_keysets WHERE name = ?`, name).Scan(&ks)
	return ks, s.classify("system keyset", err)
}

// CreateSystemKeyset implements store.Keys.
func (s *Store) CreateSystemKeyset(ctx context.Context, name string, keyset []byte, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO system_keysets(name, keyset, created_at) VALUES (?,?,?)`, name, keyset, Unix(at))
	return s.classify("create system keyset", err)
}
