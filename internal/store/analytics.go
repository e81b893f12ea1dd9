package store

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Differentially private analytics (internal/analytics, migration 00021):
// minimal contribution records of subjects with analytics consent, and the
// append-only privacy-budget ledger.

// AnalyticsPhoto is one analysed photo's contribution: which tag labels it
// carries (a closed vocabulary) and how many faces it shows (-1: not
// detected). Day is when it was analysed, truncated to the UTC day.
type AnalyticsPhoto struct {
	TenantID    string
	SubjectHash string
	AssetID     string
	Day         time.Time
	Faces       int
	Tags        []string
	ExpiresAt   time.Time
}

// AnalyticsFeature records that a subject used a feature on a day.
type AnalyticsFeature struct {
	TenantID    string
	SubjectHash string
	Feature     string
	Day         time.Time
	ExpiresAt   time.Time
}

// LedgerEntry is one query's privacy cost, recorded before its answer is
// released. EpsMilli is the query's ε in thousandths; RhoUnits its zCDP
// cost in units of dp.RhoUnit; DeltaPico the δ it spends (partition
// selection) in units of 1e-12.
type LedgerEntry struct {
	TenantID  string
	Seq       int64
	At        time.Time
	Actor     string // hashed API key id or "cli"
	Metric    string
	From, To  time.Time
	EpsMilli  int64
	RhoUnits  int64
	DeltaPico int64
}

// LedgerSpent sums a tenant's ledger: over the current period (entries at
// or after its start) and over the tenant's lifetime.
type LedgerSpent struct {
	PeriodRho, PeriodDelta     int64
	LifetimeRho, LifetimeDelta int64
	PeriodQueries, Queries     int
}

// ErrBudgetExhausted is returned by SpendBudget when the check refuses the
// entry: the tenant's privacy budget cannot pay for the query.
var ErrBudgetExhausted = fault.New(fault.Permission, "privacy budget exhausted")

// Analytics stores contributions and the ledger.
type Analytics interface {
	// PutAnalyticsPhoto records p, merging into the record of the same
	// tenant and asset (see AnalyticsPhoto).
	PutAnalyticsPhoto(ctx context.Context, p AnalyticsPhoto) error
	// PutAnalyticsPhotos is PutAnalyticsPhoto for many, in one transaction.
	PutAnalyticsPhotos(ctx context.Context, ps []AnalyticsPhoto) error
	// PutAnalyticsFeature records f (once per tenant, subject, feature, day).
	PutAnalyticsFeature(ctx context.Context, f AnalyticsFeature) error
	// AnalyticsPhotos calls fn for the tenant's photo records with Day in
	// [from, to).
	AnalyticsPhotos(ctx context.Context, tenantID string, from, to time.Time, fn func(AnalyticsPhoto) error) error
	// AnalyticsFeatures calls fn for the tenant's feature records with Day
	// in [from, to).
	AnalyticsFeatures(ctx context.Context, tenantID string, from, to time.Time, fn func(AnalyticsFeature) error) error
	// DeleteAnalyticsAsset removes the photo's record; it returns how many went.
	DeleteAnalyticsAsset(ctx context.Context, tenantID, assetID string) (int, error)
	// DeleteAnalyticsSubject removes every record of the subject.
	DeleteAnalyticsSubject(ctx context.Context, tenantID, subjectHash string) (int, error)
	// SubjectAnalytics lists the subject's records.
	SubjectAnalytics(ctx context.Context, tenantID, subjectHash string) ([]AnalyticsPhoto, []AnalyticsFeature, error)
	// ExpireAnalytics removes up to limit records of any tenant expiring at
	// or before t.
	ExpireAnalytics(ctx context.Context, t time.Time, limit int) (int, error)
	// SpendBudget appends e to the ledger in one write transaction that
	// first sums the ledger (period from periodStart) and calls check with
	// the sums: a check error (ErrBudgetExhausted) leaves the ledger as it
	// was. Concurrent calls are serialised, so they cannot overspend.
	SpendBudget(ctx context.Context, e LedgerEntry, periodStart time.Time, check func(LedgerSpent) error) (LedgerEntry, error)
	// BudgetSpent sums the tenant's ledger.
	BudgetSpent(ctx context.Context, tenantID string, periodStart time.Time) (LedgerSpent, error)
	// Ledger lists the tenant's most recent entries, newest first.
	Ledger(ctx context.Context, tenantID string, limit int) ([]LedgerEntry, error)
}
