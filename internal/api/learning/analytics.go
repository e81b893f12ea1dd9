package learning

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
)

// AnalyticsService answers differentially private queries (package analytics).
type AnalyticsService interface {
	Query(ctx context.Context, tenant string, q analytics.Query) (analytics.Answer, error)
	Budget(ctx context.Context, tenant string) (analytics.Budget, error)
}

// AnalyticsQueryInput is a differentially private query.
type AnalyticsQueryInput struct {
	Body struct {
		Metric  string    `json:"metric" enum:"tag_counts,faces_per_photo,feature_usage,photos_per_subject" doc:"tag_counts: subjects with a photo of each tag label; faces_per_photo: photos per face-count bucket (≤2 per subject and bucket); feature_usage: subjects who used each feature (keys used by few subjects are suppressed); photos_per_subject: subjects per library-size bucket"`
		From    time.Time `json:"from" doc:"Window start (RFC 3339; contributions are dated by UTC day)"`
		To      time.Time `json:"to" doc:"Window end (RFC 3339, exclusive; at most 366 days after from)"`
		Epsilon float64   `json:"epsilon" minimum:"0" maximum:"100" doc:"The query's ε (pure ε-DP, rounded down to thousandths); charged to the tenant's budget before the answer is released"`
	}
}

// AnalyticsResult is one noisy value.
type AnalyticsResult struct {
	Key      string   `json:"key"`
	Value    int64    `json:"value" doc:"True value plus discrete Laplace noise, clamped at 0"`
	Interval [2]int64 `json:"interval" doc:"Holds the true value with probability ≥ confidence (from the exact noise distribution; clamped at 0)"`
}

// AnalyticsQueryOutput is a released answer.
type AnalyticsQueryOutput struct {
	Body struct {
		Metric          string            `json:"metric"`
		Results         []AnalyticsResult `json:"results"`
		EpsilonSpent    float64           `json:"epsilon_spent"`
		BudgetRemaining float64           `json:"budget_remaining" doc:"The largest ε one more query can spend (period budget and lifetime cap)"`
		Confidence      float64           `json:"confidence" doc:"Coverage of each interval"`
		LedgerSeq       int64             `json:"ledger_seq" doc:"The query's entry in the privacy-budget ledger"`
	}
}

// AnalyticsBudgetSpan is one budget's state.
type AnalyticsBudgetSpan struct {
	Start        *time.Time `json:"start,omitempty"`
	End          *time.Time `json:"end,omitempty"`
	Epsilon      float64    `json:"epsilon" doc:"The (ε, δ) budget"`
	Delta        float64    `json:"delta"`
	EpsilonSpent float64    `json:"epsilon_spent" doc:"The spent zCDP ρ converted to ε at δ/2"`
	RhoSpent     float64    `json:"rho_spent"`
	RhoCap       float64    `json:"rho_cap"`
	Queries      int        `json:"queries"`
}

// AnalyticsBudgetOutput is the tenant's privacy budget.
type AnalyticsBudgetOutput struct {
	Body struct {
		Period          AnalyticsBudgetSpan `json:"period"`
		Lifetime        AnalyticsBudgetSpan `json:"lifetime"`
		BudgetRemaining float64             `json:"budget_remaining" doc:"The largest ε one more query can spend"`
		MinEpsilon      float64             `json:"min_epsilon"`
		MaxEpsilon      float64             `json:"max_epsilon"`
	}
}

// Deps are the services the federated-learning and analytics operations
// use.
type Deps struct {
	FL        FLService
	Analytics AnalyticsService
}

// RegisterAnalytics registers the differentially private query operations.
func RegisterAnalytics(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "analytics-query", Method: http.MethodPost, Path: "/v1/analytics/query", Tags: []string{"analytics"},
		Summary:     "Answer a usage question with differential privacy, charged to the tenant's privacy budget",
		Description: "Only subjects with analytics consent contribute, each within fixed bounds. The query's cost is written to the append-only ledger before the answer is released; a query the period budget or lifetime cap cannot pay for is refused with 403 privacy_budget_exhausted. docs/analytics.md.",
		Security:    op.Secured(auth.ScopeAdmin), Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *AnalyticsQueryInput) (*AnalyticsQueryOutput, error) {
		p := op.Principal(ctx)
		ans, err := d.Analytics.Query(ctx, p.TenantID, analytics.Query{Metric: in.Body.Metric, From: in.Body.From, To: in.Body.To, Epsilon: in.Body.Epsilon, Actor: p.KeyID})
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &AnalyticsQueryOutput{}
		out.Body.Metric, out.Body.EpsilonSpent, out.Body.BudgetRemaining, out.Body.Confidence, out.Body.LedgerSeq =
			ans.Metric, ans.EpsilonSpent, ans.BudgetRemaining, ans.Confidence, ans.Seq
		out.Body.Results = make([]AnalyticsResult, 0, len(ans.Results))
		for _, r := range ans.Results {
			out.Body.Results = append(out.Body.Results, AnalyticsResult{Key: r.Key, Value: r.Value, Interval: r.Interval})
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "analytics-budget", Method: http.MethodGet, Path: "/v1/analytics/budget", Tags: []string{"analytics"},
		Summary:  "The tenant's privacy budget: this period's, the lifetime cap, what is spent",
		Security: op.Secured(auth.ScopeAdmin), Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*AnalyticsBudgetOutput, error) {
		b, err := d.Analytics.Budget(ctx, op.Principal(ctx).TenantID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return BudgetOutput(b), nil
	})
}

// BudgetOutput renders a budget as the API answers it (the CLI prints
// the same).
func BudgetOutput(b analytics.Budget) *AnalyticsBudgetOutput {
	out := &AnalyticsBudgetOutput{}
	start, end := b.PeriodStart, b.PeriodEnd
	out.Body.Period = AnalyticsBudgetSpan{Start: &start, End: &end, Epsilon: b.Period.Epsilon, Delta: b.Period.Delta,
		EpsilonSpent: b.PeriodSpent, RhoSpent: b.PeriodRho, RhoCap: b.PeriodRhoCap, Queries: b.PeriodQueries}
	out.Body.Lifetime = AnalyticsBudgetSpan{Epsilon: b.Lifetime.Epsilon, Delta: b.Lifetime.Delta,
		EpsilonSpent: b.LifetimeSpent, RhoSpent: b.LifetimeRho, RhoCap: b.LifetimeRhoCap, Queries: b.Queries}
	out.Body.BudgetRemaining, out.Body.MinEpsilon, out.Body.MaxEpsilon = b.Remaining, b.MinEpsilon, b.MaxEpsilon
	return out
}
