package sqlstore

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// SetKillSwitch implements store.KillSwitches.
func (s *Store) SetKillSwitch(ctx context.Context, scope string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.w.ExecContext(ctx, `INSERT INTO kill_switches(scope, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, scope, Unix(at))
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM kill_switches WHERE scope = ?`, scope)
	}
	return s.classify("set kill switch", err)
}

// KillSwitches implements store.KillSwitches.
func (s *Store) KillSwitches(ctx context.Context) ([]string, error) {
	return QueryAll(ctx, s.r, "kill switches", func(rows interface{ Scan(...any) error }) (string, error) {
		var sc string
		if err := rows.Scan(&sc); err != nil {
			return sc, err
		}
		return sc, nil
	}, `SELECT scope FROM kill_switches ORDER BY scope`)
}

// CreateAlert implements store.Alerts.
func (s *Store) CreateAlert(ctx context.Context, a store.Alert) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO alerts(id, time, rule, severity, tenant_id, detail) VALUES (?,?,?,?,?,?)`,
		a.ID, Unix(a.Time), a.Rule, a.Severity, a.TenantID, a.Detail)
	return s.classify("create alert", err)
}

// Alerts implements store.Alerts.
func (s *Store) Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error) {
	q, args := `SELECT id, time, rule, severity, tenant_id, detail FROM alerts ORDER BY time DESC, id LIMIT ?`, []any{s.lim(limit)}
	if tenantID != "" {
		q, args = `SELECT id, time, rule, severity, tenant_id, detail FROM alerts WHERE tenant_id = ? ORDER BY time DESC, id LIMIT ?`, []any{tenantID, s.lim(limit)}
	}
	return QueryAll(ctx, s.r, "alerts", func(rows interface{ Scan(...any) error }) (store.Alert, error) {
		var a store.Alert
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Rule, &a.Severity, &a.TenantID, &a.Detail); err != nil {
			return a, err
		}
		a.Time = FromUnix(t)
		return a, nil
	}, q, args...)
}
