package console

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/web"
)

// TestChartView: the largest ChartBars values, bars and whiskers on one
// scale (the largest interval end fills the width), intervals kept.
func TestChartView(t *testing.T) {
	var rs []analytics.Result
	for i := range 30 {
		rs = append(rs, analytics.Result{Key: fmt.Sprintf("k%02d", i), Value: int64(i), Interval: [2]int64{max(0, int64(i)-5), int64(i) + 5}})
	}
	v := chartView(analytics.Answer{Results: rs, EpsilonSpent: 0.5, BudgetRemaining: 0.2})
	if v.Shown != ChartBars || v.Total != 30 || len(v.Rows) != ChartBars {
		t.Fatalf("shown %d of %d, %d rows", v.Shown, v.Total, len(v.Rows))
	}
	top := v.Rows[0]
	if top.Key != "k29" || top.HiX != chartLabelW+chartBarW || top.LoX >= float64(top.BarX)+top.BarW || float64(top.BarX)+top.BarW >= top.HiX {
		t.Errorf("top row %+v: want k29 with its whisker ending at the full width and around the bar end", top)
	}
	for i := 1; i < len(v.Rows); i++ {
		if v.Rows[i].Value > v.Rows[i-1].Value || v.Rows[i].Y <= v.Rows[i-1].Y {
			t.Errorf("rows out of order at %d", i)
		}
	}
	// All zero: no division by zero, empty bars.
	z := chartView(analytics.Answer{Results: []analytics.Result{{Key: "a"}}})
	if z.Rows[0].BarW != 0 || z.Height <= 0 {
		t.Errorf("zero chart %+v", z)
	}
}

// TestChartTemplateEscapes: keys (feature names can be plugin names) are
// escaped in the SVG and the table.
func TestChartTemplateEscapes(t *testing.T) {
	tmpl := web.PageTemplate(templateFS, "templates/console.html", "templates/console_analytics.html")
	v := chartView(analytics.Answer{Results: []analytics.Result{{Key: `plugin:<script>x</script>`, Value: 3, Interval: [2]int64{0, 9}}}})
	v.Metrics, v.Metric = analytics.Metrics, analytics.FeatureUsage
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, "analytics", consolePage{Analytics: &v, CSRF: "c"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") || !strings.Contains(out, "<svg") || !strings.Contains(out, "0–9") {
		t.Errorf("rendered %s", out)
	}
}
