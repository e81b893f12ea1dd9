// Package analytics answers usage questions about a tenant's subjects
// (which tags are common, how many faces photos show, which features are
// used, how many photos subjects have) only with differential privacy,
// against a privacy budget it enforces.
//
// Contributions come only from subjects with `analytics` consent and are
// minimal records — a photo's tag labels and face count, a feature used
// on a day — kept on a retention schedule and removed through the
// derived-data registry (kind `analytics`) on photo deletion, revocation,
// expiry, erasure and purge. A query bounds each subject's contribution
// (internal/dp), charges its cost to an append-only ledger in one store
// transaction — refused with ErrBudgetExhausted if the tenant's period
// budget or lifetime cap cannot pay — audits it, and only then adds exact
// discrete Laplace noise and answers, with a 95% interval from the exact
// noise distribution. docs/analytics.md has the figures and citations.
//
// Protects against: re-identification through small counts (every count
// is noised; open-ended keys one subject used are suppressed with
// probability ≥ 1−δ); overspending by concurrent or repeated queries (the
// ledger's write transaction); a subject's data counted after they
// revoked consent or were erased. Does not protect against: a tenant that
// creates many tenants to multiply budgets, or side information an
// analyst already holds about the other subjects (DP bounds what the
// answer adds, not what is known).
package analytics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Purpose is the consent purpose contributions need.
const Purpose = "analytics"

// Confidence is the coverage of released intervals.
const Confidence = 0.95

// Metrics.
const (
	TagCounts        = "tag_counts"
	FacesPerPhoto    = "faces_per_photo"
	FeatureUsage     = "feature_usage"
	PhotosPerSubject = "photos_per_subject"
)

// Metrics lists the metrics, in documentation order.
var Metrics = []string{TagCounts, FacesPerPhoto, FeatureUsage, PhotosPerSubject}

// Per-metric contribution bounds (docs/analytics.md): L0 partitions per
// subject, LInf per partition. Chosen so that the L1 sensitivity — the
// Laplace scale at ε = 1 — stays single-digit while a typical subject's
// data fits: a photo library rarely has more than a handful of distinct
// common objects in a query window, and subjects rarely use more than
// four features.
var bounds = map[string]dp.Bounds{
	TagCounts:        {L0: 6, LInf: 1}, // subjects with ≥1 photo of the tag
	FacesPerPhoto:    {L0: 3, LInf: 2}, // photos per face-count bucket, ≤2 per subject
	FeatureUsage:     {L0: 4, LInf: 1}, // subjects who used the feature
	PhotosPerSubject: {L0: 1, LInf: 1}, // subjects per library-size bucket
}

// Bounds returns a metric's contribution bounds.
func Bounds(metric string) (dp.Bounds, bool) { b, ok := bounds[metric]; return b, ok }

// Face-count and library-size buckets (closed vocabularies).
var (
	faceBuckets  = []string{"0", "1", "2", "3", "4", "5+"}
	photoBuckets = []string{"1", "2-5", "6-20", "21-100", "101+"}
)

func faceBucket(n int) string {
	if n >= 5 {
		return "5+"
	}
	return faceBuckets[n]
}

func photoBucket(n int) string {
	switch {
	case n <= 1:
		return "1"
	case n <= 5:
		return "2-5"
	case n <= 20:
		return "6-20"
	case n <= 100:
		return "21-100"
	}
	return "101+"
}

// ErrMetric reports an unknown metric.
var ErrMetric = fault.New(fault.Invalid, "unknown metric (choose from tag_counts, faces_per_photo, feature_usage, photos_per_subject)")

// ErrWindow reports a query window that is empty, reversed or too long.
var ErrWindow = fault.New(fault.Invalid, "from must be before to, and the window at most 366 days")

// ErrBudgetExhausted is the tenant's privacy budget refusing a query (403
// privacy_budget_exhausted). It is store.ErrBudgetExhausted.
var ErrBudgetExhausted = store.ErrBudgetExhausted

// errEpsilon reports a query ε outside the configured range (fault.Invalid).
func errEpsilon(acc dp.Accountant) error {
	return fault.New(fault.Invalid, fmt.Sprintf("epsilon must be between %g and %g", float64(acc.MinEpsMilli)/1000, float64(acc.MaxEpsMilli)/1000))
}

// Config is the accountant's and the records' settings.
type Config struct {
	// Period is the budget period (e.g. 720h, about a month). Periods
	// are aligned to the Unix epoch.
	Period time.Duration
	// Accountant holds the per-period budget, the lifetime cap and the
	// per-query ε range.
	Accountant dp.Accountant
	// SelectionDelta is the δ one feature_usage query spends on partition
	// selection.
	SelectionDelta float64
	// Retain is how long a contribution is kept.
	Retain time.Duration
}

// DefaultConfig: per 30-day period (ε 10, δ 10⁻⁶), a lifetime cap of
// (ε 30, δ 10⁻⁵), single queries of ε 0.05–1, contributions kept 90 days.
func DefaultConfig() Config {
	return Config{
		Period: 30 * 24 * time.Hour,
		Accountant: dp.Accountant{
			Period:      dp.Budget{Epsilon: 10, Delta: 1e-6},
			Lifetime:    dp.Budget{Epsilon: 30, Delta: 1e-5},
			MinEpsMilli: 50, MaxEpsMilli: 1000,
		},
		SelectionDelta: 1e-9,
		Retain:         90 * 24 * time.Hour,
	}
}

// Validate checks c.
func (c Config) Validate() error {
	if err := c.Accountant.Validate(); err != nil {
		return fault.Wrap(fault.Invalid, "analytics budget", err)
	}
	if c.Period < time.Hour || c.Retain <= 0 || !(c.SelectionDelta > 0) || c.SelectionDelta/dp.DeltaUnit < 1 ||
		c.SelectionDelta > c.Accountant.Period.Delta/2 {
		return fault.New(fault.Invalid, "analytics: period ≥ 1h, retain > 0, 1e-12 ≤ selection_delta ≤ delta/2")
	}
	return nil
}

type gate interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

type assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Deps are the Service's collaborators.
type Deps struct {
	Store   store.Analytics
	Consent gate
	Assets  assets
	Audit   auditLog
	Clock   clock.Clock
	Log     *slog.Logger
	// Random is the noise source (crypto/rand.Reader in production).
	Random io.Reader
	// Tags is the tag model's label vocabulary (closed: every label is
	// released, with noise, whether anyone has it or not).
	Tags   []string
	Config Config
}

// Service records contributions and answers queries.
type Service struct {
	st      store.Analytics
	consent gate
	assets  assets
	audit   auditLog
	clk     clock.Clock
	log     *slog.Logger
	rnd     io.Reader
	tags    []string
	cfg     Config
}

// New returns a Service; the configuration must validate.
func New(d Deps) (*Service, error) {
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	if d.Random == nil || d.Store == nil || d.Consent == nil {
		return nil, fmt.Errorf("analytics: store, consent and random source are required")
	}
	tags := slices.Clone(d.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	return &Service{st: d.Store, consent: d.Consent, assets: d.Assets, audit: d.Audit, clk: d.Clock,
		log: d.Log.With("component", "analytics"), rnd: d.Random, tags: tags, cfg: d.Config}, nil
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// consented reports whether the subject has analytics consent; a store
// failure counts as no (nothing is recorded).
func (s *Service) consented(ctx context.Context, tenant, subjectHash string) bool {
	return s.consent.Require(ctx, tenant, subjectHash, Purpose) == nil
}

// Analyzed records an analysed photo's contribution — its tag labels
// (only labels of the closed vocabulary; nil: tags were not analysed) and
// face count (faces < 0: not analysed) — and the use of each feature
// ("analyze:<feature>") today. Nothing is recorded without the subject's
// analytics consent; consent is checked again after the write and the
// records taken back if it was revoked meanwhile. Failures are logged,
// never returned: analytics never fails the analysis that feeds it.
func (s *Service) Analyzed(ctx context.Context, tenant, assetID string, features []string, faces int, tags []string) {
	a, err := s.assets.Asset(ctx, tenant, assetID)
	if err != nil || !s.consented(ctx, tenant, a.SubjectHash) {
		return
	}
	var kept []string
	if tags != nil {
		kept = []string{}
		for _, t := range tags {
			if _, ok := slices.BinarySearch(s.tags, t); ok {
				kept = append(kept, t)
			}
		}
		slices.Sort(kept)
		kept = slices.Compact(kept)
	}
	now := s.clk.Now()
	p := store.AnalyticsPhoto{TenantID: tenant, SubjectHash: a.SubjectHash, AssetID: assetID, Day: day(now), Faces: faces, Tags: kept, ExpiresAt: now.Add(s.cfg.Retain)}
	if err := s.st.PutAnalyticsPhoto(ctx, p); err != nil {
		s.log.Warn("record analytics contribution", "err", err)
		return
	}
	for _, f := range features {
		s.Used(ctx, tenant, a.SubjectHash, "analyze:"+f)
	}
	if !s.consented(ctx, tenant, a.SubjectHash) {
		if err := s.ForgetSubject(ctx, tenant, a.SubjectHash); err != nil {
			s.log.Error("take back analytics contribution", "err", err)
		}
	}
}

// Used records that the subject used feature today (a stable feature
// name: "analyze:tags", "suggest", "meme", "plugin:<name>"…), under the
// same consent rule as Analyzed.
func (s *Service) Used(ctx context.Context, tenant, subjectHash, feature string) {
	feature = featureName(feature)
	if feature == "" || len(feature) > 80 || !s.consented(ctx, tenant, subjectHash) {
		return
	}
	now := s.clk.Now()
	if err := s.st.PutAnalyticsFeature(ctx, store.AnalyticsFeature{TenantID: tenant, SubjectHash: subjectHash, Feature: feature, Day: day(now), ExpiresAt: now.Add(s.cfg.Retain)}); err != nil {
		s.log.Warn("record analytics feature use", "err", err)
		return
	}
	if !s.consented(ctx, tenant, subjectHash) {
		if _, err := s.st.DeleteAnalyticsSubject(ctx, tenant, subjectHash); err != nil {
			s.log.Error("take back analytics contribution", "err", err)
		}
	}
}

// UsedOn is Used for the subject of the tenant's asset (a feature run on
// a photo: face-tag suggestions, memes, plugins).
func (s *Service) UsedOn(ctx context.Context, tenant, assetID, feature string) {
	a, err := s.assets.Asset(ctx, tenant, assetID)
	if err != nil {
		return
	}
	s.Used(ctx, tenant, a.SubjectHash, feature)
}

// Query is one question.
type Query struct {
	Metric   string
	From, To time.Time
	Epsilon  float64
	// Actor names who asked, for the ledger and audit (a hashed key id).
	Actor string
}

// Result is one released value.
type Result = dp.Noisy

// Answer is a query's released answer.
type Answer struct {
	Metric  string
	Results []Result
	// EpsilonSpent is the query's ε (after rounding down to thousandths).
	EpsilonSpent float64
	// BudgetRemaining is the largest ε one more query can still spend.
	BudgetRemaining float64
	// Confidence is the coverage of each result's interval.
	Confidence float64
	// Seq is the query's ledger entry.
	Seq int64
}

// PeriodStart is the start of the budget period holding t.
func (s *Service) PeriodStart(t time.Time) time.Time {
	p := int64(s.cfg.Period)
	n := t.UnixNano()
	return time.Unix(0, n-((n%p)+p)%p).UTC()
}

// epsMilli rounds ε down to thousandths (less ε is more noise: safe).
func epsMilli(eps float64) int64 {
	if math.IsNaN(eps) || eps <= 0 || eps > 1e6 {
		return 0
	}
	return int64(math.Floor(eps*1000 + 1e-9))
}

// Query answers q for tenant: contributions are read, the cost is charged
// to the ledger (refused: ErrBudgetExhausted), audited, and only then is
// noise drawn and the answer returned.
func (s *Service) Query(ctx context.Context, tenant string, q Query) (Answer, error) {
	if _, ok := bounds[q.Metric]; !ok {
		return Answer{}, ErrMetric
	}
	if !q.From.Before(q.To) || q.To.Sub(q.From) > 366*24*time.Hour {
		return Answer{}, ErrWindow
	}
	acc := s.cfg.Accountant
	em := epsMilli(q.Epsilon)
	if em < acc.MinEpsMilli || em > acc.MaxEpsMilli {
		return Answer{}, errEpsilon(acc)
	}
	cs, err := s.contributions(ctx, tenant, q.Metric, q.From, q.To)
	if err != nil {
		return Answer{}, err
	}
	var deltaUnits int64
	if q.Metric == FeatureUsage {
		deltaUnits = int64(math.Ceil(s.cfg.SelectionDelta/dp.DeltaUnit - 1e-6)) // 1e-9/1e-12 is 1000.0000000000001 in binary
	}
	now := s.clk.Now()
	entry := store.LedgerEntry{TenantID: tenant, At: now, Actor: q.Actor, Metric: q.Metric, From: q.From, To: q.To,
		EpsMilli: em, RhoUnits: dp.QueryRhoUnits(em), DeltaPico: deltaUnits}
	var left float64
	entry, err = s.st.SpendBudget(ctx, entry, s.PeriodStart(now), func(sp store.LedgerSpent) error {
		spent := dp.Spent{PeriodRho: sp.PeriodRho, PeriodDelta: sp.PeriodDelta, LifetimeRho: sp.LifetimeRho, LifetimeDelta: sp.LifetimeDelta}
		if err := acc.Check(spent, em, deltaUnits); err != nil {
			return ErrBudgetExhausted
		}
		spent.PeriodRho += entry.RhoUnits
		spent.LifetimeRho += entry.RhoUnits
		left = acc.Remaining(spent)
		return nil
	})
	if err != nil {
		s.auditQuery(ctx, tenant, q, em, 0, audit.ResultDenied)
		return Answer{}, err
	}
	// The cost is in the ledger; the audit entry names it. A failed audit
	// append withholds the answer (the budget stays spent: safe).
	if err := s.auditQuery(ctx, tenant, q, em, entry.Seq, audit.ResultOK); err != nil {
		return Answer{}, err
	}
	res, err := Mechanism(s.rnd, q.Metric, cs, em, s.tags, s.cfg.SelectionDelta)
	if err != nil {
		return Answer{}, fault.Wrap(fault.Unavailable, "noise source", err)
	}
	return Answer{Metric: q.Metric, Results: res, EpsilonSpent: float64(em) / 1000, BudgetRemaining: left, Confidence: Confidence, Seq: entry.Seq}, nil
}

func (s *Service) auditQuery(ctx context.Context, tenant string, q Query, em, seq int64, result string) error {
	if s.audit == nil {
		return nil
	}
	detail := fmt.Sprintf("metric=%s eps_milli=%d ledger_seq=%d", q.Metric, em, seq)
	return s.audit.Append(ctx, audit.Entry{Action: "analytics.query", Tenant: tenant, Actor: q.Actor, Purpose: Purpose, Result: result, Detail: detail})
}

// contributions reads the window's records as per-subject contributions
// for metric.
func (s *Service) contributions(ctx context.Context, tenant, metric string, from, to time.Time) ([]dp.Contribution, error) {
	var cs []dp.Contribution
	from, to = day(from), day(to.Add(24*time.Hour-1)) // whole days: records carry only their day
	switch metric {
	case FeatureUsage:
		err := s.st.AnalyticsFeatures(ctx, tenant, from, to, func(f store.AnalyticsFeature) error {
			cs = append(cs, dp.Contribution{Subject: f.SubjectHash, Key: f.Feature, Value: 1})
			return nil
		})
		return cs, err
	case PhotosPerSubject:
		n := map[string]int{}
		err := s.st.AnalyticsPhotos(ctx, tenant, from, to, func(p store.AnalyticsPhoto) error { n[p.SubjectHash]++; return nil })
		for subj, c := range n {
			cs = append(cs, dp.Contribution{Subject: subj, Key: photoBucket(c), Value: 1})
		}
		return cs, err
	}
	err := s.st.AnalyticsPhotos(ctx, tenant, from, to, func(p store.AnalyticsPhoto) error {
		if metric == TagCounts {
			for _, t := range p.Tags {
				cs = append(cs, dp.Contribution{Subject: p.SubjectHash, Key: t, Value: 1})
			}
		} else if p.Faces >= 0 {
			cs = append(cs, dp.Contribution{Subject: p.SubjectHash, Key: faceBucket(p.Faces), Value: 1})
		}
		return nil
	})
	return cs, err
}

// Mechanism is a query's mechanism on contributions: bound each subject's
// contribution, add discrete Laplace noise of scale L1/ε (ε = epsMilli/1000)
// to every key of a closed vocabulary, or (feature_usage, open-ended) to
// the keys present and release those over the partition-selection
// threshold. It is exported for the privacy audit, which runs it on
// neighbouring datasets.
func Mechanism(r io.Reader, metric string, cs []dp.Contribution, em int64, tags []string, selectionDelta float64) ([]Result, error) {
	b, ok := bounds[metric]
	if !ok {
		return nil, ErrMetric
	}
	sums, err := dp.Bound(r, cs, b)
	if err != nil {
		return nil, err
	}
	t := dp.LaplaceScale(b.L1(), em)
	switch metric {
	case TagCounts:
		return dp.Release(r, sums, tags, t, Confidence)
	case FacesPerPhoto:
		return dp.Release(r, sums, faceBuckets, t, Confidence)
	case PhotosPerSubject:
		return dp.Release(r, sums, photoBuckets, t, Confidence)
	}
	tau := dp.SelectThreshold(t, b.LInf, selectionDelta/float64(b.L0))
	return dp.ReleaseSelected(r, sums, t, tau, Confidence)
}

// Budget is a tenant's budget state.
type Budget struct {
	PeriodStart, PeriodEnd       time.Time
	Period, Lifetime             dp.Budget
	PeriodSpent                  float64 // ε the period's spent ρ amounts to (δ/2 conversion)
	LifetimeSpent                float64
	PeriodRho, LifetimeRho       float64 // spent
	PeriodRhoCap, LifetimeRhoCap float64
	PeriodQueries, Queries       int
	// Remaining is the largest ε one more query can spend.
	Remaining              float64
	MinEpsilon, MaxEpsilon float64
}

// Budget reports the tenant's budget.
func (s *Service) Budget(ctx context.Context, tenant string) (Budget, error) {
	now := s.clk.Now()
	ps := s.PeriodStart(now)
	sp, err := s.st.BudgetSpent(ctx, tenant, ps)
	if err != nil {
		return Budget{}, err
	}
	acc := s.cfg.Accountant
	spent := dp.Spent{PeriodRho: sp.PeriodRho, PeriodDelta: sp.PeriodDelta, LifetimeRho: sp.LifetimeRho, LifetimeDelta: sp.LifetimeDelta}
	return Budget{
		PeriodStart: ps, PeriodEnd: ps.Add(s.cfg.Period), Period: acc.Period, Lifetime: acc.Lifetime,
		PeriodSpent: acc.Period.SpentEpsilon(sp.PeriodRho), LifetimeSpent: acc.Lifetime.SpentEpsilon(sp.LifetimeRho),
		PeriodRho: float64(sp.PeriodRho) * dp.RhoUnit, LifetimeRho: float64(sp.LifetimeRho) * dp.RhoUnit,
		PeriodRhoCap: float64(acc.Period.RhoUnits()) * dp.RhoUnit, LifetimeRhoCap: float64(acc.Lifetime.RhoUnits()) * dp.RhoUnit,
		PeriodQueries: sp.PeriodQueries, Queries: sp.Queries, Remaining: acc.Remaining(spent),
		MinEpsilon: float64(acc.MinEpsMilli) / 1000, MaxEpsilon: float64(acc.MaxEpsMilli) / 1000,
	}, nil
}

// featureName normalises a feature name for Used.
func featureName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ConfigFrom overlays the configured settings (zero: default) onto
// DefaultConfig.
func ConfigFrom(c config.Analytics) Config {
	out := DefaultConfig()
	set := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	if c.Period != 0 {
		out.Period = c.Period
	}
	if c.Retain != 0 {
		out.Retain = c.Retain
	}
	set(&out.Accountant.Period.Epsilon, c.Epsilon)
	set(&out.Accountant.Period.Delta, c.Delta)
	set(&out.Accountant.Lifetime.Epsilon, c.LifetimeEpsilon)
	set(&out.Accountant.Lifetime.Delta, c.LifetimeDelta)
	set(&out.SelectionDelta, c.SelectionDelta)
	if c.MinQueryEpsilon != 0 {
		out.Accountant.MinEpsMilli = epsMilli(c.MinQueryEpsilon)
	}
	if c.MaxQueryEpsilon != 0 {
		out.Accountant.MaxEpsMilli = epsMilli(c.MaxQueryEpsilon)
	}
	return out
}
