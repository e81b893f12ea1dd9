package featurebench

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/wire"
)

// Analytics: a differentially private query over AnalyticsContributions
// photo records (tag_counts: read, bound, noise every label, ledger
// entry) against the exact count of the same records without noise,
// bounding or ledger; and the exact samplers against the raw random words
// they consume.

// AnalyticsContributions is how many photo records the query reads.
const AnalyticsContributions = 100_000

// AnalyticsEnv holds a store with AnalyticsContributions records.
type AnalyticsEnv struct {
	g        *wire.Graph
	from, to time.Time
}

// NewAnalyticsEnv builds the graph in dir with a budget no benchmark
// exhausts, and writes the records: 20,000 subjects × 5 photos, 1–3 of
// the tag model's labels each.
func NewAnalyticsEnv(ctx context.Context, dir string) (*AnalyticsEnv, error) {
	g, err := perf.NewServices(ctx, dir, "analytics", nil)
	if err != nil {
		return nil, err
	}
	// The bench graph has the default budget; a fresh service with an
	// unexhaustible one reads the same store.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	batch := make([]store.AnalyticsPhoto, 0, 10_000)
	for i := range AnalyticsContributions {
		tags := []string{centernet.Labels[i%80]}
		for j := 1; j < 1+i%3; j++ {
			tags = append(tags, centernet.Labels[(i*7+j*13)%80])
		}
		batch = append(batch, store.AnalyticsPhoto{TenantID: perf.Tenant, SubjectHash: fmt.Sprintf("subj%05d", i/5), AssetID: fmt.Sprintf("ast%06d", i),
			Day: day, Faces: i % 4, Tags: tags, ExpiresAt: day.Add(24 * time.Hour)})
		if len(batch) == cap(batch) {
			if err := g.Store.PutAnalyticsPhotos(ctx, batch); err != nil {
				g.Close()
				return nil, err
			}
			batch = batch[:0]
		}
	}
	return &AnalyticsEnv{g: g, from: day.Add(-time.Hour), to: day.Add(time.Hour)}, nil
}

// Close releases the environment.
func (e *AnalyticsEnv) Close() error { return e.g.Close() }

// Cases are the query and its baseline.
func (e *AnalyticsEnv) Cases(ctx context.Context) ([]perf.Bench, error) {
	cfg := analytics.DefaultConfig()
	cfg.Accountant.Period = dp.Budget{Epsilon: 1e9, Delta: 1e-6}
	cfg.Accountant.Lifetime = dp.Budget{Epsilon: 1e9, Delta: 1e-5}
	svc, err := analytics.New(analytics.Deps{Store: e.g.Store, Consent: e.g.Consents, Assets: e.g.Uploads, Audit: e.g.Audit,
		Clock: e.g.Clock, Log: e.g.Log, Random: rand.Reader, Tags: centernet.Labels[:], Config: cfg})
	if err != nil {
		return nil, err
	}
	query := func(n int) error {
		for range n {
			ans, err := svc.Query(ctx, perf.Tenant, analytics.Query{Metric: analytics.TagCounts, From: e.from, To: e.to, Epsilon: 0.1, Actor: "bench"})
			if err != nil {
				return err
			}
			if len(ans.Results) != 80 {
				return fmt.Errorf("query released %d labels", len(ans.Results))
			}
		}
		return nil
	}
	exact := func(n int) error {
		for range n {
			counts := map[string]int{}
			if err := e.g.Store.AnalyticsPhotos(ctx, perf.Tenant, e.from, e.to, func(p store.AnalyticsPhoto) error {
				for _, t := range p.Tags {
					counts[t]++
				}
				return nil
			}); err != nil {
				return err
			}
			if len(counts) == 0 {
				return fmt.Errorf("no records")
			}
		}
		return nil
	}
	return []perf.Bench{{Name: "analytics/query-100k", Run: query}, {Name: "analytics/exact-count-100k", Run: exact}}, nil
}

// SamplerCases are the exact samplers (scale 10 ≈ ε 0.1 at sensitivity 1;
// σ² = 100) and the random words they read.
func SamplerCases() []perf.Bench {
	scale, sigma2 := big.NewRat(10, 1), big.NewRat(100, 1)
	var buf [8]byte
	loop := func(f func() error) func(int) error {
		return func(n int) error {
			for range n {
				if err := f(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []perf.Bench{
		{Name: "dp/laplace", Run: loop(func() error { _, err := dp.DiscreteLaplace(rand.Reader, scale); return err })},
		{Name: "dp/gaussian", Run: loop(func() error { _, err := dp.DiscreteGaussian(rand.Reader, sigma2); return err })},
		{Name: "dp/baseline-rand-uint64", Run: loop(func() error { _, err := rand.Read(buf[:]); return err })},
	}
}

// AnalyticsRow is one measured case.
type AnalyticsRow struct {
	Case string  `json:"case"`
	Ms   float64 `json:"ms,omitempty"`
	PerS float64 `json:"per_second,omitempty"`
}

// RunAnalytics measures the query and samplers; the ratios are query ÷
// exact count and sampler ÷ raw word.
func RunAnalytics(ctx context.Context, dir string) (rows []AnalyticsRow, queryRatio float64, err error) {
	e, err := NewAnalyticsEnv(ctx, dir)
	if err != nil {
		return nil, 0, err
	}
	defer e.Close()
	cs, err := e.Cases(ctx)
	if err != nil {
		return nil, 0, err
	}
	ms := map[string]float64{}
	for _, c := range cs {
		r := testing.Benchmark(c.Op)
		if r.N == 0 {
			return nil, 0, fmt.Errorf("%s failed", c.Name)
		}
		ms[c.Name] = float64(r.NsPerOp()) / 1e6
		rows = append(rows, AnalyticsRow{Case: c.Name, Ms: ms[c.Name]})
	}
	for _, c := range SamplerCases() {
		r := testing.Benchmark(c.Op)
		if r.N == 0 {
			return nil, 0, fmt.Errorf("%s failed", c.Name)
		}
		rows = append(rows, AnalyticsRow{Case: c.Name, PerS: 1e9 / float64(r.NsPerOp())})
	}
	return rows, ms["analytics/query-100k"] / ms["analytics/exact-count-100k"], nil
}
