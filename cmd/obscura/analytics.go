package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/api/learning"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/wire"
)

// analyticsCmd is `obscura analytics query|budget`: the API's
// differentially private queries from the operator's shell, charged to the
// same ledger (actor "cli").
func (a *app) analyticsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "analytics", Short: "Differentially private usage statistics and the privacy budget"}
	var tenant, metric, from, to string
	var eps float64
	query := &cobra.Command{
		Use:   "query --tenant ID --metric METRIC --epsilon E [--from RFC3339] [--to RFC3339]",
		Short: "Answer a usage question with differential privacy (spends the tenant's budget)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := a.clk.Now().UTC()
			f, t := now.Add(-30*24*time.Hour), now
			var err error
			if from != "" {
				if f, err = time.Parse(time.RFC3339, from); err != nil {
					return fault.New(fault.Invalid, "--from is not an RFC 3339 time")
				}
			}
			if to != "" {
				if t, err = time.Parse(time.RFC3339, to); err != nil {
					return fault.New(fault.Invalid, "--to is not an RFC 3339 time")
				}
			}
			return a.withTenant(cmd, tenant, func(ctx context.Context, svc *wire.Graph) error {
				ans, err := svc.Analytics.Query(ctx, tenant, analytics.Query{Metric: metric, From: f, To: t, Epsilon: eps, Actor: "cli"})
				if err != nil {
					return err
				}
				type row struct {
					Key      string   `json:"key"`
					Value    int64    `json:"value"`
					Interval [2]int64 `json:"interval"`
				}
				rows := []row{}
				var text strings.Builder
				fmt.Fprintf(&text, "%s (ε %.3f spent, %.3f left; %.0f%% intervals)\n", ans.Metric, ans.EpsilonSpent, ans.BudgetRemaining, 100*ans.Confidence)
				for _, r := range ans.Results {
					rows = append(rows, row{r.Key, r.Value, r.Interval})
					fmt.Fprintf(&text, "%-20s %8d  [%d, %d]\n", r.Key, r.Value, r.Interval[0], r.Interval[1])
				}
				return a.print(map[string]any{"metric": ans.Metric, "results": rows, "epsilon_spent": ans.EpsilonSpent,
					"budget_remaining": ans.BudgetRemaining, "confidence": ans.Confidence, "ledger_seq": ans.Seq}, strings.TrimSuffix(text.String(), "\n"))
			})
		},
	}
	query.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	query.Flags().StringVar(&metric, "metric", "", strings.Join(analytics.Metrics, ", "))
	query.Flags().Float64Var(&eps, "epsilon", 0, "the query's ε")
	query.Flags().StringVar(&from, "from", "", "window start (default: 30 days ago)")
	query.Flags().StringVar(&to, "to", "", "window end (default: now)")
	for _, f := range []string{"tenant", "metric", "epsilon"} {
		query.MarkFlagRequired(f)
	}
	var btenant string
	budget := a.tenantSubCmd("budget --tenant ID", "Show the tenant's privacy budget: this period, the lifetime cap, what is spent", &btenant, func(ctx context.Context, svc *wire.Graph) error {
		b, err := svc.Analytics.Budget(ctx, btenant)
		if err != nil {
			return err
		}
		text := fmt.Sprintf("period %s – %s: ε %.3f of %g spent (δ %g), %d queries\nlifetime: ε %.3f of %g spent (δ %g), %d queries\nnext query: ε %.3f at most (range %g–%g)",
			b.PeriodStart.Format(time.RFC3339), b.PeriodEnd.Format(time.RFC3339), b.PeriodSpent, b.Period.Epsilon, b.Period.Delta, b.PeriodQueries,
			b.LifetimeSpent, b.Lifetime.Epsilon, b.Lifetime.Delta, b.Queries, b.Remaining, b.MinEpsilon, b.MaxEpsilon)
		return a.print(learning.BudgetOutput(b).Body, text)
	})
	budget.Flags().StringVar(&btenant, "tenant", "", "tenant id")
	budget.MarkFlagRequired("tenant")
	cmd.AddCommand(query, budget)
	return cmd
}
