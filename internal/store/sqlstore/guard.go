package sqlstore

import (
	"context"

	"github.com/obscuraproject/obscura/internal/store"
)

// SetGuardState implements store.GuardStates.
func (s *Store) SetGuardState(ctx context.Context, g store.GuardState) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO guard_states(tenant_id, key_id, state, detail, since) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(tenant_id, key_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, since = excluded.since`,
		g.TenantID, g.KeyID, g.State, g.Detail, Unix(g.Since))
	return s.classify("set guard state", err)
}

// GuardStates implements store.GuardStates.
func (s *Store) GuardStates(ctx context.Context) ([]store.GuardState, error) {
	return QueryAll(ctx, s.r, "guard states", func(rows interface{ Scan(...any) error }) (store.GuardState, error) {
		var g store.GuardState
		var since int64
		if err := rows.Scan(&g.TenantID, &g.KeyID, &g.State, &g.Detail, &since); err != nil {
			return g, err
		}
		g.Since = FromUnix(since)
		return g, nil
	}, `SELECT tenant_id, key_id, state, detail, since FROM guard_states ORDER BY tenant_id, key_id`)
}
