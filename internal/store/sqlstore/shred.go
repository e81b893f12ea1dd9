package sqlstore

import (
	"context"
	"errors"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.ScopeKeyWraps = (*Store)(nil)

// ScopeKeysWithPrefix implements store.ScopeKeyWraps. The match is exact
// whatever bytes follow the prefix (Dialect.HasPrefix: a range on the
// index narrowed by substr on SQLite, starts_with on Postgres, which does
// not depend on the database's collation).
func (s *Store) ScopeKeysWithPrefix(ctx context.Context, tenantID, prefix, afterID string, limit int) ([]store.ScopeKey, error) {
	return QueryAll(ctx, s.r, "scope keys with prefix", scanScope, `SELECT `+scopeCols+` FROM scope_keys
		WHERE tenant_id = ?1 AND `+s.d.HasPrefix("subject_hash", "?2")+` AND id > ?3 ORDER BY id LIMIT ?4`,
		tenantID, prefix, afterID, s.lim(limit))
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

// SwapScopeKeyWraps implements store.ScopeKeyWraps.
func (s *Store) SwapScopeKeyWraps(ctx context.Context, tenantID string, swaps []store.WrapSwap) ([]bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.classify("swap scope key wraps", err)
	}
	defer tx.Rollback()
	done := make([]bool, len(swaps))
	for i, w := range swaps {
		res, err := tx.ExecContext(ctx, `UPDATE scope_keys SET kek_version = ?, wrapped = ? WHERE tenant_id = ? AND id = ? AND wrapped = ?`,
			w.Version, w.Wrapped, tenantID, w.ID, w.Old)
		if err != nil {
			return nil, s.classify("swap scope key wraps", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, s.classify("swap scope key wraps", err)
		}
		done[i] = n == 1
	}
	if err := tx.Commit(); err != nil {
		return nil, s.classify("swap scope key wraps", err)
	}
	return done, nil
}
