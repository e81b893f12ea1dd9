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
		_, err = s.w.ExecContext(ctx, `INSERT INTO kill_switches(scope, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, scope, unix(at))
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM kill_switches WHERE scope = ?`, scope)
	}
	return s.classify("set kill switch", err)
}

// KillSwitches implements store.KillSwitches.
func (s *Store) KillSwitches(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s.r, "kill switches", func(rows interface{ Scan(...any) error }) (string, error) {
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
		a.ID, unix(a.Time), a.Rule, a.Severity, a.TenantID, a.Detail)
	return s.classify("create alert", err)
}

// Alerts implements store.Alerts.
func (s *Store) Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error) {
	q, args := `SELECT id, time, rule, severity, tenant_id, detail FROM alerts ORDER BY time DESC, id LIMIT ?`, []any{s.lim(limit)}
	if tenantID != "" {
		q, args = `SELECT id, time, rule, severity, tenant_id, detail FROM alerts WHERE tenant_id = ? ORDER BY time DESC, id LIMIT ?`, []any{tenantID, s.lim(limit)}
	}
	return queryAll(ctx, s.r, "alerts", func(rows interface{ Scan(...any) error }) (store.Alert, error) {
		var a store.Alert
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Rule, &a.Severity, &a.TenantID, &a.Detail); err != nil {
			return a, err
		}
		a.Time = fromUnix(t)
		return a, nil
	}, q, args...)
}

// TenantAssets implements store.Assets.
func (s *Store) TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]store.Asset, error) {
	return queryAll(ctx, s.r, "tenant assets", scanAsset, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		tenantID, from.UnixNano(), to.UnixNano())
}

// TenantSubjects implements store.Assets.
func (s *Store) TenantSubjects(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT subject_hash FROM assets WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM scope_keys WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM consents WHERE tenant_id = ?1 ORDER BY 1`, tenantID)
	if err != nil {
		return nil, s.classify("tenant subjects", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, s.classify("tenant subjects", err)
		}
		out = append(out, h)
	}
	return out, s.classify("tenant subjects", rows.Err())
}
