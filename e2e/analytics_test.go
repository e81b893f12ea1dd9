package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/models"
)

// TestAnalyticsAgainstRealServer runs issue 22's "done when" through the
// API of a real `obscura serve` with its default budget (per period ε 10
// at δ 10⁻⁶: zCDP ρ ≈ 1.30, so two queries of ε = 1 fit and a third does
// not): only subjects with analytics consent contribute, answers are noisy
// with intervals, the budget is drawn down and then refused with 403
// privacy_budget_exhausted (parallel requests cannot overspend), and a
// revocation removes the subject's contributions from later answers.
func TestAnalyticsAgainstRealServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Analytics App")
	s := startServer(t, data)
	photo, err := models.Pinned().Load(models.DefaultDir(os.Getenv), "sample1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{"stats-ana", "stats-ben", "stats-cai", "stats-dov"} // dov: no analytics consent
	for i, subj := range subjects {
		purposes := []string{"tagging", "face_detection"}
		if i < 3 {
			purposes = append(purposes, "analytics")
		}
		for _, p := range purposes {
			if code, b := do(t, "POST", s.base+"/v1/subjects/"+subj+"/consents", tn.APIKey, []byte(`{"purpose":"`+p+`","notice_version":"1"}`)); code != 201 {
				t.Fatalf("grant %s: %d %s", p, code, b)
			}
		}
		id := uploadPhotoAs(t, s, tn.APIKey, subj, photo)
		if code, b := do(t, "POST", s.base+"/v1/assets/"+id+"/analyze", tn.APIKey, []byte(`{"features":["faces","tags"]}`)); code != 200 {
			t.Fatalf("analyze: %d %s", code, b)
		}
	}
	// Exactly the three consenting subjects contributed: a photo record
	// each, and two feature-use days each (analyze:faces, analyze:tags).
	if n := countRows(t, data, "SELECT count(*) FROM analytics_photos"); n != 3 {
		t.Fatalf("%d photo contributions, want 3 (the subject without analytics consent contributes nothing)", n)
	}
	if n := countRows(t, data, "SELECT count(*) FROM analytics_features"); n != 6 {
		t.Errorf("%d feature-use contributions, want 6", n)
	}

	now := time.Now().UTC()
	query := func(metric string, eps float64) []byte {
		return []byte(fmt.Sprintf(`{"metric":%q,"from":%q,"to":%q,"epsilon":%g}`, metric, now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339), eps))
	}
	type answer struct {
		Results []struct {
			Key      string   `json:"key"`
			Value    int64    `json:"value"`
			Interval [2]int64 `json:"interval"`
		} `json:"results"`
		EpsilonSpent    float64 `json:"epsilon_spent"`
		BudgetRemaining float64 `json:"budget_remaining"`
		Code            string  `json:"code"`
	}
	code, b := do(t, "POST", s.base+"/v1/analytics/query", tn.APIKey, query("tag_counts", 1))
	var a1 answer
	if json.Unmarshal(b, &a1); code != 200 || len(a1.Results) != 80 || a1.EpsilonSpent != 1 {
		t.Fatalf("tag_counts: %d %s", code, b)
	}
	for _, r := range a1.Results {
		if r.Key == "person" {
			t.Logf("person: %d, 95%% interval %v (true value 3)", r.Value, r.Interval)
			if r.Interval[1]-r.Interval[0] > 2*18 {
				t.Errorf("interval %v wider than the exact 95%% half-width (18 at scale 6)", r.Interval)
			}
		}
	}
	// The budget is drawn down, then refused: of three parallel ε = 1
	// queries exactly one fits what the first left.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b := do(t, "POST", s.base+"/v1/analytics/query", tn.APIKey, query("photos_per_subject", 1))
			var a answer
			json.Unmarshal(b, &a)
			mu.Lock()
			codes[fmt.Sprintf("%d %s", code, a.Code)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["200 "] != 1 || codes["403 privacy_budget_exhausted"] != 2 {
		t.Errorf("parallel queries: %v, want one answered and two refused with privacy_budget_exhausted", codes)
	}
	code, _, b = s.get(t, "/v1/analytics/budget", tn.APIKey)
	var budget struct {
		Period struct {
			Queries int `json:"queries"`
		} `json:"period"`
		BudgetRemaining float64 `json:"budget_remaining"`
	}
	if json.Unmarshal(b, &budget); code != 200 || budget.Period.Queries != 2 || budget.BudgetRemaining >= 1 || budget.BudgetRemaining <= 0 {
		t.Errorf("budget after two queries: %d %s", code, b)
	}
	if n := countRows(t, data, "SELECT count(*) FROM analytics_ledger"); n != 2 {
		t.Errorf("ledger holds %d entries, want 2", n)
	}
	// A smaller query still fits what is left.
	if code, b := do(t, "POST", s.base+"/v1/analytics/query", tn.APIKey, query("faces_per_photo", 0.5)); code != 200 {
		t.Errorf("ε 0.5 within the remaining budget: %d %s", code, b)
	}

	// The operator console charts an answer: SVG bars with interval
	// whiskers, and the same values as a table; an unaffordable query is
	// refused there too.
	op := newOperator(t, s)
	op.login(tn.APIKey)
	code, _, page := op.post("/console/analytics", url.Values{"metric": {"tag_counts"}, "epsilon": {"0.1"}})
	if code != 200 || !strings.Contains(page, `<svg`) || strings.Count(page, "<rect") != 20 || !strings.Contains(page, `id="analytics-table"`) ||
		!strings.Contains(statusText(page), "Spent ε 0.100") {
		t.Errorf("console chart: %d %s", code, statusText(page))
	}
	if code, _, page := op.post("/console/analytics", url.Values{"metric": {"tag_counts"}, "epsilon": {"1"}}); code != 403 || !strings.Contains(statusText(page), "privacy budget cannot pay") {
		t.Errorf("console over budget: %d %q", code, statusText(page))
	}

	// Revocation removes the subject's contributions from later answers.
	if code, b := do(t, "DELETE", s.base+"/v1/subjects/stats-ana/consents/analytics", tn.APIKey, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if n := countRows(t, data, "SELECT count(*) FROM analytics_photos"); n != 2 {
		t.Errorf("after revocation %d photo contributions, want 2", n)
	}
	if n := countRows(t, data, "SELECT count(*) FROM analytics_features"); n != 4 {
		t.Errorf("after revocation %d feature-use contributions, want 4", n)
	}
	// The scope is admin: an analyze-only key is refused.
	code, b = do(t, "POST", s.base+"/v1/keys", tn.APIKey, []byte(`{"scopes":["analyze"]}`))
	var key struct {
		APIKey string `json:"api_key"`
	}
	if json.Unmarshal(b, &key); code != 201 || key.APIKey == "" {
		t.Fatalf("create key: %d %s", code, b)
	}
	if code, b := do(t, "POST", s.base+"/v1/analytics/query", key.APIKey, query("tag_counts", 0.1)); code != 403 {
		t.Errorf("analyze-scope key: %d %s", code, b)
	}
}
