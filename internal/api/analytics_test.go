package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
)

// analyticsStore is what the test analytics service needs of the store.
type analyticsStore interface {
	store.Analytics
}

// newTestAnalytics is an analytics service over st with cfg (zero:
// DefaultConfig).
func newTestAnalytics(t *testing.T, st analyticsStore, cs *consent.Service, assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}, clk clock.Clock, log *slog.Logger, cfg *analytics.Config) *analytics.Service {
	t.Helper()
	c := analytics.DefaultConfig()
	if cfg != nil {
		c = *cfg
	}
	s, err := analytics.New(analytics.Deps{Store: st, Consent: cs, Assets: assets, Clock: clk, Log: log, Random: rand.Reader,
		Tags: []string{"cat", "dog", "person"}, Config: c})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type analyticsEnv struct {
	k    *testkit.Kit
	srv  *httptest.Server
	keys map[string]string
}

func newAnalyticsEnv(t *testing.T, cfg *analytics.Config) *analyticsEnv {
	k := testkit.New(t, nil)
	cs := consent.New(k.Store, k.Keys, derived.New(k.Objects, k.Store, k.Clock), k.Clock, k.Log)
	a := New(Deps{Store: k.Store, Keys: k.Keys, Auth: auth.New(k.Store, k.Keys, k.Clock), Clock: k.Clock, Log: k.Log,
		Registry: prometheus.NewRegistry(), Analytics: newTestAnalytics(t, k.Store, cs, k.Store, k.Clock, k.Log, cfg)})
	e := &analyticsEnv{k: k, srv: httptest.NewServer(a.Handler()), keys: map[string]string{}}
	t.Cleanup(e.srv.Close)
	e.keys["admin"], _ = k.Tenant(t, "ten_a")
	e.keys["ingest"], _ = k.Key(t, "ten_a", auth.ScopeIngest)
	// Ten subjects' photos tagged dog.
	day := k.Clock.Now().UTC().Truncate(24 * time.Hour)
	for i := range 10 {
		if err := k.Store.PutAnalyticsPhoto(context.Background(), store.AnalyticsPhoto{TenantID: "ten_a", SubjectHash: "h" + string(rune('a'+i)),
			AssetID: "a" + string(rune('a'+i)), Day: day, Faces: 1, Tags: []string{"dog"}, ExpiresAt: day.Add(time.Hour * 24 * 30)}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *analyticsEnv) do(t *testing.T, method, path, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *analyticsEnv) query(metric string, eps float64) map[string]any {
	now := e.k.Clock.Now().UTC()
	return map[string]any{"metric": metric, "from": now.Add(-48 * time.Hour).Format(time.RFC3339), "to": now.Add(time.Hour).Format(time.RFC3339), "epsilon": eps}
}

func TestAnalyticsQueryAndRefusals(t *testing.T) {
	t.Parallel()
	e := newAnalyticsEnv(t, nil)
	code, out := e.do(t, "POST", "/v1/analytics/query", e.keys["admin"], e.query("tag_counts", 1))
	if code != 200 {
		t.Fatalf("query: %d %v", code, out)
	}
	res, _ := out["results"].([]any)
	if len(res) != 3 || out["epsilon_spent"] != 1.0 || out["confidence"] != 0.95 {
		t.Fatalf("answer %v: want the 3 vocabulary labels, ε 1, confidence 0.95", out)
	}
	for _, r := range res {
		m := r.(map[string]any)
		iv := m["interval"].([]any)
		// Scale 6 (L1 = 6, ε = 1): the exact 95% half-width is 18
		// (2q¹⁹/(1+q) ≤ 0.05 < 2q¹⁸/(1+q), q = e^(−1/6)); clamping at 0
		// only narrows it.
		if v := m["value"].(float64); iv[1].(float64)-iv[0].(float64) > 2*18 || v > 0 && iv[1].(float64)-v != 18 {
			t.Errorf("%v: want value + 18 as the upper end", m)
		}
	}
	cases := []struct {
		name string
		key  string
		body map[string]any
		code int
		want string
	}{
		{"ingest scope", e.keys["ingest"], e.query("tag_counts", 1), 403, "forbidden"},
		{"unknown metric", e.keys["admin"], e.query("raw_rows", 1), 422, "invalid_request"},
		{"ε below min", e.keys["admin"], e.query("tag_counts", 0.01), 400, "invalid_request"},
		{"ε above max", e.keys["admin"], e.query("tag_counts", 5), 400, "invalid_request"},
		{"reversed window", e.keys["admin"], map[string]any{"metric": "tag_counts", "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z", "epsilon": 1}, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := e.do(t, "POST", "/v1/analytics/query", c.key, c.body)
			if code != c.code || out["code"] != c.want {
				t.Errorf("%d %v, want %d %s", code, out, c.code, c.want)
			}
		})
	}
	// Refused queries spent nothing: one query in the ledger.
	code, out = e.do(t, "GET", "/v1/analytics/budget", e.keys["admin"], nil)
	period, _ := out["period"].(map[string]any)
	if code != 200 || period["queries"] != 1.0 || period["rho_spent"] != 0.5 {
		t.Errorf("budget %d %v: want one query, ρ 0.5", code, out)
	}
}

// TestAnalyticsBudgetUnderParallelQueries: a budget that pays for exactly
// n queries of ε = 1, hit by 3n parallel requests, answers n and refuses
// the rest with 403 privacy_budget_exhausted.
func TestAnalyticsBudgetUnderParallelQueries(t *testing.T) {
	t.Parallel()
	cfg := analytics.DefaultConfig()
	// Period ε chosen so ρ = 2.2 → four queries of ε = 1 (ρ 0.5 each).
	delta := 1e-6
	cfg.Accountant.Period = dp.Budget{Epsilon: dp.EpsilonFor(2.2, delta/2), Delta: delta}
	cfg.Accountant.Lifetime = dp.Budget{Epsilon: 100, Delta: 1e-5}
	e := newAnalyticsEnv(t, &cfg)
	const n = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	codes := map[string]int{}
	for range 3 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := e.do(t, "POST", "/v1/analytics/query", e.keys["admin"], e.query("photos_per_subject", 1))
			mu.Lock()
			got[code]++
			if c, ok := out["code"].(string); ok {
				codes[c]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[200] != n || got[403] != 2*n || codes["privacy_budget_exhausted"] != 2*n {
		t.Errorf("statuses %v codes %v: want %d answered and %d refused privacy_budget_exhausted", got, codes, n, 2*n)
	}
	_, out := e.do(t, "GET", "/v1/analytics/budget", e.keys["admin"], nil)
	if out["budget_remaining"].(float64) >= 1 {
		t.Errorf("budget_remaining %v after spending the period", out["budget_remaining"])
	}
	// A later period has budget again (the lifetime cap still counts).
	e.k.Clock.Advance(cfg.Period)
	if code, out := e.do(t, "POST", "/v1/analytics/query", e.keys["admin"], e.query("photos_per_subject", 1)); code != 200 {
		t.Errorf("next period: %d %v", code, out)
	}
}
