package sqlite

import (
	"context"
	"errors"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.ScopeKeyWraps = (*Store)(nil)

// prefixEnd is an upper bound for strings starting with prefix: subject
// hashes are lowercase base32, all below '~'.
func prefixEnd(prefix string) string { return prefix + "~" }

// ScopeKeysWithPrefix implements store.ScopeKeyWraps.
func (s *Store) ScopeKeysWithPrefix(ctx context.Context, tenantID, prefix, afterID string, limit int) ([]store.ScopeKey, error) {
	return queryAll(ctx, s.r, "scope keys with prefix", scanScope, `SELECT `+scopeCols+` FROM scope_keys
		WHERE tenant_id = ? AND subject_hash >= ? AND subject_hash < ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, prefix, prefixEnd(prefix), afterID, limit)
}

// SwapScopeKeyWrap implements store.ScopeKeyWraps.
func (s *Store) SwapScopeKeyWrap(ctx context.Context, tenantID, id string, old []byte, version int, wrapped []byte) error {
	err := s.execOne(ctx, "swap scope key wrap", `UPDATE scope_keys SET kek_version = ?, wrapped = ? WHERE tenant_id = ? AND id = ? AND wrapped = ?`,
		version, wrapped, tenantID, id, old)
	if errors.Is(err, fault.NotFound) {
		return fault.New(fault.Conflict, "scope key changed concurrently")
	}
	return err
}
