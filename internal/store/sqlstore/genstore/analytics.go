package genstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// Differentially private analytics: contributions and the privacy-budget
// ledger (migration 00021).

var _ store.Analytics = (*Generators)(nil)

// PutAnalyticsPhoto implements store.Analytics.
func (s *Generators) PutAnalyticsPhoto(ctx context.Context, p store.AnalyticsPhoto) error {
	return s.PutAnalyticsPhotos(ctx, []store.AnalyticsPhoto{p})
}

// PutAnalyticsPhotos implements store.Analytics.
func (s *Generators) PutAnalyticsPhotos(ctx context.Context, ps []store.AnalyticsPhoto) error {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return s.c.Classify("put analytics photo", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, putAnalyticsPhotoSQL)
	if err != nil {
		return s.c.Classify("put analytics photo", err)
	}
	defer stmt.Close()
	for _, p := range ps {
		if _, err := stmt.ExecContext(ctx, p.TenantID, p.AssetID, p.SubjectHash, sqlstore.Unix(p.Day), max(p.Faces, -1), joinTags(p.Tags), sqlstore.Unix(p.ExpiresAt)); err != nil {
			return s.c.Classify("put analytics photo", err)
		}
	}
	return s.c.Classify("put analytics photo", tx.Commit())
}

// putAnalyticsPhotoSQL merges a photo record (store.AnalyticsPhoto: a
// negative face count and NULL tags keep what is known).
const putAnalyticsPhotoSQL = `INSERT INTO analytics_photos(tenant_id, asset_id, subject_hash, day, faces, tags, expires_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(tenant_id, asset_id) DO UPDATE SET subject_hash = excluded.subject_hash, day = excluded.day,
			faces = CASE WHEN excluded.faces >= 0 THEN excluded.faces ELSE analytics_photos.faces END, tags = coalesce(excluded.tags, analytics_photos.tags), expires_at = excluded.expires_at`

// PutAnalyticsFeature implements store.Analytics.
func (s *Generators) PutAnalyticsFeature(ctx context.Context, f store.AnalyticsFeature) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO analytics_features(tenant_id, subject_hash, feature, day, expires_at) VALUES (?,?,?,?,?)
		ON CONFLICT(tenant_id, subject_hash, feature, day) DO UPDATE SET expires_at = `+s.c.D.Greatest+`(analytics_features.expires_at, excluded.expires_at)`,
		f.TenantID, f.SubjectHash, f.Feature, sqlstore.Unix(f.Day), sqlstore.Unix(f.ExpiresAt))
	return s.c.Classify("put analytics feature", err)
}

// joinTags encodes tags; nil (not analysed for tags) is NULL.
func joinTags(tags []string) any {
	if tags == nil {
		return nil
	}
	return strings.Join(tags, "\n")
}

func splitTags(s sql.NullString) []string {
	switch {
	case !s.Valid:
		return nil
	case s.String == "":
		return []string{}
	}
	return strings.Split(s.String, "\n")
}

func scanAnalyticsPhoto(rows *sql.Rows) (store.AnalyticsPhoto, error) {
	var p store.AnalyticsPhoto
	var day, exp int64
	var tags sql.NullString
	err := rows.Scan(&p.TenantID, &p.AssetID, &p.SubjectHash, &day, &p.Faces, &tags, &exp)
	p.Day, p.ExpiresAt, p.Tags = sqlstore.FromUnix(day), sqlstore.FromUnix(exp), splitTags(tags)
	return p, err
}

func scanAnalyticsFeature(rows *sql.Rows) (store.AnalyticsFeature, error) {
	var f store.AnalyticsFeature
	var day, exp int64
	err := rows.Scan(&f.TenantID, &f.SubjectHash, &f.Feature, &day, &exp)
	f.Day, f.ExpiresAt = sqlstore.FromUnix(day), sqlstore.FromUnix(exp)
	return f, err
}

const (
	analyticsPhotoCols   = `tenant_id, asset_id, subject_hash, day, faces, tags, expires_at`
	analyticsFeatureCols = `tenant_id, subject_hash, feature, day, expires_at`
)

// AnalyticsPhotos implements store.Analytics.
func (s *Generators) AnalyticsPhotos(ctx context.Context, tenantID string, from, to time.Time, fn func(store.AnalyticsPhoto) error) error {
	rows, err := s.c.R.QueryContext(ctx, `SELECT `+analyticsPhotoCols+` FROM analytics_photos WHERE tenant_id = ? AND day >= ? AND day < ?`, tenantID, sqlstore.Unix(from), sqlstore.Unix(to))
	if err != nil {
		return s.c.Classify("analytics photos", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanAnalyticsPhoto(rows)
		if err != nil {
			return s.c.Classify("analytics photos", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return s.c.Classify("analytics photos", rows.Err())
}

// AnalyticsFeatures implements store.Analytics.
func (s *Generators) AnalyticsFeatures(ctx context.Context, tenantID string, from, to time.Time, fn func(store.AnalyticsFeature) error) error {
	rows, err := s.c.R.QueryContext(ctx, `SELECT `+analyticsFeatureCols+` FROM analytics_features WHERE tenant_id = ? AND day >= ? AND day < ?`, tenantID, sqlstore.Unix(from), sqlstore.Unix(to))
	if err != nil {
		return s.c.Classify("analytics features", err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanAnalyticsFeature(rows)
		if err != nil {
			return s.c.Classify("analytics features", err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return s.c.Classify("analytics features", rows.Err())
}

// DeleteAnalyticsAsset implements store.Analytics.
func (s *Generators) DeleteAnalyticsAsset(ctx context.Context, tenantID, assetID string) (int, error) {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM analytics_photos WHERE tenant_id = ? AND asset_id = ?`, tenantID, assetID)
	if err != nil {
		return 0, s.c.Classify("delete analytics asset", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteAnalyticsSubject implements store.Analytics.
func (s *Generators) DeleteAnalyticsSubject(ctx context.Context, tenantID, subjectHash string) (int, error) {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.c.Classify("delete analytics subject", err)
	}
	defer tx.Rollback()
	total := int64(0)
	for _, q := range []string{`DELETE FROM analytics_photos WHERE tenant_id = ? AND subject_hash = ?`, `DELETE FROM analytics_features WHERE tenant_id = ? AND subject_hash = ?`} {
		res, err := tx.ExecContext(ctx, q, tenantID, subjectHash)
		if err != nil {
			return 0, s.c.Classify("delete analytics subject", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return int(total), s.c.Classify("delete analytics subject", tx.Commit())
}

// SubjectAnalytics implements store.Analytics.
func (s *Generators) SubjectAnalytics(ctx context.Context, tenantID, subjectHash string) ([]store.AnalyticsPhoto, []store.AnalyticsFeature, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT `+analyticsPhotoCols+` FROM analytics_photos WHERE tenant_id = ? AND subject_hash = ? ORDER BY day, asset_id`, tenantID, subjectHash)
	if err != nil {
		return nil, nil, s.c.Classify("subject analytics", err)
	}
	var ps []store.AnalyticsPhoto
	for rows.Next() {
		p, err := scanAnalyticsPhoto(rows)
		if err != nil {
			rows.Close()
			return nil, nil, s.c.Classify("subject analytics", err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, s.c.Classify("subject analytics", err)
	}
	rows, err = s.c.R.QueryContext(ctx, `SELECT `+analyticsFeatureCols+` FROM analytics_features WHERE tenant_id = ? AND subject_hash = ? ORDER BY day, feature`, tenantID, subjectHash)
	if err != nil {
		return nil, nil, s.c.Classify("subject analytics", err)
	}
	defer rows.Close()
	var fs []store.AnalyticsFeature
	for rows.Next() {
		f, err := scanAnalyticsFeature(rows)
		if err != nil {
			return nil, nil, s.c.Classify("subject analytics", err)
		}
		fs = append(fs, f)
	}
	return ps, fs, s.c.Classify("subject analytics", rows.Err())
}

// ExpireAnalytics implements store.Analytics.
func (s *Generators) ExpireAnalytics(ctx context.Context, t time.Time, limit int) (int, error) {
	total := int64(0)
	for _, table := range []string{"analytics_photos", "analytics_features"} {
		res, err := s.c.W.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+s.c.D.RowID+` IN (SELECT `+s.c.D.RowID+` FROM `+table+` WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)`, sqlstore.Unix(t), s.c.Lim(limit))
		if err != nil {
			return 0, s.c.Classify("expire analytics", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return int(total), nil
}

const spentQuery = `SELECT
	CAST(coalesce(sum(CASE WHEN at >= ? THEN rho_units END), 0) AS BIGINT), CAST(coalesce(sum(CASE WHEN at >= ? THEN delta_pico END), 0) AS BIGINT),
	CAST(coalesce(sum(rho_units), 0) AS BIGINT), CAST(coalesce(sum(delta_pico), 0) AS BIGINT),
	count(CASE WHEN at >= ? THEN 1 END), count(*), coalesce(max(seq), 0)
	FROM analytics_ledger WHERE tenant_id = ?`

type queryRower interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func budgetSpent(ctx context.Context, q queryRower, tenantID string, periodStart time.Time) (store.LedgerSpent, int64, error) {
	var sp store.LedgerSpent
	var seq int64
	ps := sqlstore.Unix(periodStart)
	err := q.QueryRowContext(ctx, spentQuery, ps, ps, ps, tenantID).Scan(&sp.PeriodRho, &sp.PeriodDelta, &sp.LifetimeRho, &sp.LifetimeDelta, &sp.PeriodQueries, &sp.Queries, &seq)
	return sp, seq, err
}

// SpendBudget implements store.Analytics. The sum and the append run
// under the tenant's budget lock: SQLite's write lock (the writer's
// transactions are BEGIN IMMEDIATE, across processes too), or on
// Postgres an advisory lock, so two nodes charging at once are
// serialised and the second sees the first's charge.
func (s *Generators) SpendBudget(ctx context.Context, e store.LedgerEntry, periodStart time.Time, check func(store.LedgerSpent) error) (store.LedgerEntry, error) {
	tx, err := s.c.W.BeginTx(ctx, nil)
	if err != nil {
		return e, s.c.Classify("spend budget", err)
	}
	defer tx.Rollback()
	if err := tx.Lock(ctx, "budget", e.TenantID); err != nil {
		return e, s.c.Classify("spend budget", err)
	}
	sp, seq, err := budgetSpent(ctx, tx, e.TenantID, periodStart)
	if err != nil {
		return e, s.c.Classify("spend budget", err)
	}
	if err := check(sp); err != nil {
		return e, err
	}
	e.Seq = seq + 1
	if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_ledger(tenant_id, seq, at, actor, metric, from_at, to_at, eps_milli, rho_units, delta_pico) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		e.TenantID, e.Seq, sqlstore.Unix(e.At), e.Actor, e.Metric, sqlstore.Unix(e.From), sqlstore.Unix(e.To), e.EpsMilli, e.RhoUnits, e.DeltaPico); err != nil {
		return e, s.c.Classify("spend budget", err)
	}
	return e, s.c.Classify("spend budget", tx.Commit())
}

// BudgetSpent implements store.Analytics.
func (s *Generators) BudgetSpent(ctx context.Context, tenantID string, periodStart time.Time) (store.LedgerSpent, error) {
	sp, _, err := budgetSpent(ctx, s.c.R, tenantID, periodStart)
	return sp, s.c.Classify("budget spent", err)
}

// Ledger implements store.Analytics.
func (s *Generators) Ledger(ctx context.Context, tenantID string, limit int) ([]store.LedgerEntry, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT tenant_id, seq, at, actor, metric, from_at, to_at, eps_milli, rho_units, delta_pico FROM analytics_ledger WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?`, tenantID, s.c.Lim(limit))
	if err != nil {
		return nil, s.c.Classify("ledger", err)
	}
	defer rows.Close()
	var out []store.LedgerEntry
	for rows.Next() {
		var e store.LedgerEntry
		var at, from, to int64
		if err := rows.Scan(&e.TenantID, &e.Seq, &at, &e.Actor, &e.Metric, &from, &to, &e.EpsMilli, &e.RhoUnits, &e.DeltaPico); err != nil {
			return nil, s.c.Classify("ledger", err)
		}
		e.At, e.From, e.To = sqlstore.FromUnix(at), sqlstore.FromUnix(from), sqlstore.FromUnix(to)
		out = append(out, e)
	}
	return out, s.c.Classify("ledger", rows.Err())
}
