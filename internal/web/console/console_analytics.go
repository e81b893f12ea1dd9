package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/fault"
)

// The console's differentially private analytics: a query form and the
// answer as a server-rendered SVG bar chart whose whiskers are the 95%
// intervals, so nobody reads a noisy bar as exact.

// analyticsQuerier is what the console needs of internal/analytics.
type analyticsQuerier interface {
	Query(ctx context.Context, tenant string, q analytics.Query) (analytics.Answer, error)
}

// ChartBars is how many bars the chart shows at most (the largest values).
const ChartBars = 20

// Chart geometry (SVG user units).
const (
	chartLabelW = 140
	chartBarW   = 420
	chartRowH   = 22
)

// AnalyticsView is the console's analytics section.
type AnalyticsView struct {
	Metrics []string
	Metric  string
	Epsilon string
	// Answer, after a query.
	Rows                    []ChartRow
	Shown, Total            int
	Height, Width           int
	Spent, Remaining, Scale float64
}

// ChartRow is one bar with its whisker, in SVG coordinates.
type ChartRow struct {
	Key              string
	Value, Lo, Hi    int64
	Y, TextY, MidY   int
	BarW, LoX, HiX   float64
	BarX, WhiskerEnd int
}

func chartView(ans analytics.Answer) AnalyticsView {
	rs := append([]analytics.Result(nil), ans.Results...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Value > rs[j].Value })
	v := AnalyticsView{Total: len(rs), Spent: ans.EpsilonSpent, Remaining: ans.BudgetRemaining}
	if len(rs) > ChartBars {
		rs = rs[:ChartBars]
	}
	v.Shown = len(rs)
	top := int64(1)
	for _, r := range rs {
		top = max(top, r.Interval[1])
	}
	scale := float64(chartBarW) / float64(top)
	for i, r := range rs {
		y := i * chartRowH
		v.Rows = append(v.Rows, ChartRow{Key: r.Key, Value: r.Value, Lo: r.Interval[0], Hi: r.Interval[1],
			Y: y + 3, TextY: y + 15, MidY: y + 11, BarX: chartLabelW, BarW: float64(r.Value) * scale,
			LoX: chartLabelW + float64(r.Interval[0])*scale, HiX: chartLabelW + float64(r.Interval[1])*scale})
	}
	v.Height, v.Width, v.Scale = max(1, len(rs))*chartRowH+4, chartLabelW+chartBarW+60, scale
	return v
}

func (c *Console) analytics(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checkedTenant(w, r)
	if !ok {
		return
	}
	metric, epsText := r.PostFormValue("metric"), r.PostFormValue("epsilon")
	eps, err := strconv.ParseFloat(epsText, 64)
	if err != nil {
		err = fault.New(fault.Invalid, "epsilon is not a number")
	}
	var ans analytics.Answer
	if err == nil {
		now := c.Now().UTC()
		ans, err = c.Analytics.Query(r.Context(), op.tenant, analytics.Query{Metric: metric, From: now.Add(-30 * 24 * time.Hour), To: now.Add(time.Minute), Epsilon: eps, Actor: op.key})
	}
	view := AnalyticsView{Metrics: analytics.Metrics, Metric: metric, Epsilon: epsText}
	pg := consolePage{Analytics: &view}
	status := http.StatusOK
	switch {
	case errors.Is(err, analytics.ErrBudgetExhausted):
		pg.Error, status = "The privacy budget cannot pay for this query; nothing was spent. Try a smaller ε, or wait for the next period.", http.StatusForbidden
	case errors.Is(err, fault.Invalid):
		pg.Error, status = "Invalid query: "+fault.PublicMessage(err), http.StatusBadRequest
	case err != nil:
		c.Log.Error("console analytics query", "component", "web", "err", err)
		pg.Error, status = "The query could not run; the server log has the details.", http.StatusServiceUnavailable
	default:
		cv := chartView(ans)
		cv.Metrics, cv.Metric, cv.Epsilon = view.Metrics, metric, epsText
		pg.Analytics = &cv
		pg.Notice = fmt.Sprintf("Spent ε %.3f; the next query can spend at most ε %.3f.", ans.EpsilonSpent, ans.BudgetRemaining)
	}
	c.view(w, r, op, status, pg)
}
