package sqlite

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// SetKillSwitch implements store.KillSwitches.
func (s *Store) SetKillSwitch(ctx context.Context, scope string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.w.ExecContext(ctx, `INSERT OR IGNORE INTO kill_switches(scope, created_at) VALUES (?, ?)`, scope, unix(at))
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM kill_switches WHERE scope = ?`, scope)
	}
	return classify("set kill switch", err)
}

// KillSwitches implements store.KillSwitches.
func (s *Store) KillSwitches(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scope FROM kill_switches ORDER BY scope`)
	if err != nil {
		return nil, classify("kill switches", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sc string
		if err := rows.Scan(&sc); err != nil {
			return nil, classify("kill switches", err)
		}
		out = append(out, sc)
	}
	return out, classify("kill switches", rows.Err())
}

// CreateAlert implements store.Alerts.
func (s *Store) CreateAlert(ctx context.Context, a store.Alert) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO alerts(id, time, rule, severity, tenant_id, detail) VALUES (?,?,?,?,?,?)`,
		a.ID, unix(a.Time), a.Rule, a.Severity, a.TenantID, a.Detail)
	return classify("create alert", err)
}

// Alerts implements store.Alerts.
func (s *Store) Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error) {
	q, args := `SELECT id, time, rule, severity, tenant_id, detail FROM alerts ORDER BY time DESC, id LIMIT ?`, []any{limit}
	if tenantID != "" {
		q, args = `SELECT id, time, rule, severity, tenant_id, detail FROM alerts WHERE tenant_id = ? ORDER BY time DESC, id LIMIT ?`, []any{tenantID, limit}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify("alerts", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		var a store.Alert
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Rule, &a.Severity, &a.TenantID, &a.Detail); err != nil {
			return nil, classify("alerts", err)
		}
		a.Time = fromUnix(t)
		out = append(out, a)
	}
	return out, classify("alerts", rows.Err())
}

// TenantAssets implements store.Assets.
func (s *Store) TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]store.Asset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+assetCols+` FROM assets WHERE tenant_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		tenantID, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, classify("tenant assets", err)
	}
	defer rows.Close()
	var out []store.Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, classify("tenant assets", err)
		}
		out = append(out, a)
	}
	return out, classify("tenant assets", rows.Err())
}

// TenantSubjects implements store.Assets.
func (s *Store) TenantSubjects(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT subject_hash FROM assets WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM scope_keys WHERE tenant_id = ?1
		UNION SELECT subject_hash FROM consents WHERE tenant_id = ?1 ORDER BY 1`, tenantID)
	if err != nil {
		return nil, classify("tenant subjects", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, classify("tenant subjects", err)
		}
		out = append(out, h)
	}
	return out, classify("tenant subjects", rows.Err())
}
