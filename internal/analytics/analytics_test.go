package analytics

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
)

// gateStub grants analytics to the subjects in ok (a unit-test double);
// after, if set, runs on each check (to revoke mid-write).
type gateStub struct {
	ok    map[string]bool
	after func()
}

func (g *gateStub) Require(_ context.Context, _, subjectHash, purpose string) error {
	if g.after != nil {
		defer g.after()
	}
	if purpose == Purpose && g.ok[subjectHash] {
		return nil
	}
	return fault.New(fault.ConsentRequired, "consent required")
}

type assetStub map[string]string // asset → subject hash

func (a assetStub) Asset(_ context.Context, tenant, id string) (store.Asset, error) {
	if h, ok := a[id]; ok {
		return store.Asset{ID: id, TenantID: tenant, SubjectHash: h}, nil
	}
	return store.Asset{}, fault.New(fault.NotFound, "not found")
}

type auditStub struct {
	entries []audit.Entry
	fail    bool
}

func (a *auditStub) Append(_ context.Context, e audit.Entry) error {
	if a.fail {
		return fault.New(fault.Unavailable, "audit down")
	}
	a.entries = append(a.entries, e)
	return nil
}

type env struct {
	k     *testkit.Kit
	gate  *gateStub
	audit *auditStub
	svc   *Service
}

func newEnv(t *testing.T) *env {
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	e := &env{k: k, gate: &gateStub{ok: map[string]bool{"h_yes": true, "h_late": true}}, audit: &auditStub{}}
	svc, err := New(Deps{Store: k.Store, Consent: e.gate, Assets: assetStub{"a_yes": "h_yes", "a_no": "h_no", "a_late": "h_late"},
		Audit: e.audit, Clock: k.Clock, Log: k.Log, Random: rand.Reader, Tags: []string{"dog", "cat", "person"}, Config: DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

func (e *env) held(t *testing.T, h string) int {
	n, err := e.svc.Held(context.Background(), "ten_a", h)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestContributionsNeedConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.Analyzed(ctx, "ten_a", "a_yes", []string{"faces", "tags"}, 2, []string{"dog", "unicorn", "dog"})
	e.svc.Analyzed(ctx, "ten_a", "a_no", []string{"faces", "tags"}, 1, []string{"cat"})
	e.svc.Analyzed(ctx, "ten_a", "a_missing", []string{"tags"}, 1, []string{"cat"})
	if n := e.held(t, "h_yes"); n != 3 {
		t.Errorf("consenting subject holds %d records, want photo + 2 feature days", n)
	}
	if n := e.held(t, "h_no"); n != 0 {
		t.Errorf("subject without analytics consent holds %d records", n)
	}
	ps, _, _ := e.k.Store.SubjectAnalytics(ctx, "ten_a", "h_yes")
	if len(ps) != 1 || ps[0].Faces != 2 || len(ps[0].Tags) != 1 || ps[0].Tags[0] != "dog" {
		t.Errorf("photo record %+v: want 2 faces and only the vocabulary's labels, once", ps)
	}
	// A suggestion run on the photo is a feature use of its subject.
	e.svc.UsedOn(ctx, "ten_a", "a_yes", "suggest")
	e.svc.UsedOn(ctx, "ten_a", "a_no", "suggest")
	if n := e.held(t, "h_yes"); n != 4 || e.held(t, "h_no") != 0 {
		t.Errorf("after suggest: %d records (want 4), %d without consent", n, e.held(t, "h_no"))
	}
	// A later text-only analysis keeps what the photo record knows.
	e.svc.Analyzed(ctx, "ten_a", "a_yes", []string{"text"}, -1, nil)
	ps, _, _ = e.k.Store.SubjectAnalytics(ctx, "ten_a", "h_yes")
	if ps[0].Faces != 2 || len(ps[0].Tags) != 1 {
		t.Errorf("after a text-only analysis: %+v", ps[0])
	}
	// Consent revoked while the record is written: it is taken back.
	checks := 0
	e.gate.after = func() {
		if checks++; checks == 1 {
			delete(e.gate.ok, "h_late")
		}
	}
	e.svc.Analyzed(ctx, "ten_a", "a_late", []string{"tags"}, -1, []string{"cat"})
	e.gate.after = nil
	if n := e.held(t, "h_late"); n != 0 {
		t.Errorf("a subject who revoked during the write holds %d records", n)
	}
	// Forget paths and retention.
	if err := e.svc.ForgetPurpose(ctx, "ten_a", "h_yes", "tagging"); err != nil || e.held(t, "h_yes") == 0 {
		t.Errorf("revoking another purpose removed analytics records: %v", err)
	}
	if err := e.svc.ForgetAsset(ctx, "ten_a", "a_yes"); err != nil || e.held(t, "h_yes") != 4 {
		t.Errorf("ForgetAsset left %d (want the 4 feature days), %v", e.held(t, "h_yes"), err)
	}
	e.k.Clock.Advance(DefaultConfig().Retain + time.Second)
	if n, err := e.svc.Sweep(ctx, 100); err != nil || n != 4 || e.held(t, "h_yes") != 0 {
		t.Errorf("retention sweep removed %d, %v; left %d", n, err, e.held(t, "h_yes"))
	}
}

func TestQueryChargesLedgerBeforeAnswering(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.Analyzed(ctx, "ten_a", "a_yes", []string{"tags"}, -1, []string{"dog"})
	now := e.k.Clock.Now()
	q := Query{Metric: TagCounts, From: now.Add(-time.Hour), To: now.Add(time.Hour), Epsilon: 0.5, Actor: "key_x"}
	ans, err := e.svc.Query(ctx, "ten_a", q)
	if err != nil || len(ans.Results) != 3 || ans.EpsilonSpent != 0.5 || ans.Seq != 1 {
		t.Fatalf("Query = %+v, %v", ans, err)
	}
	if len(e.audit.entries) != 1 || e.audit.entries[0].Action != "analytics.query" || e.audit.entries[0].Detail != "metric=tag_counts eps_milli=500 ledger_seq=1" {
		t.Errorf("audit %+v", e.audit.entries)
	}
	// The audit log is down: the cost is recorded, the answer withheld.
	e.audit.fail = true
	if _, err := e.svc.Query(ctx, "ten_a", q); err == nil {
		t.Error("an answer was released without its audit entry")
	}
	e.audit.fail = false
	if sp, _ := e.k.Store.BudgetSpent(ctx, "ten_a", time.Time{}); sp.Queries != 2 {
		t.Errorf("ledger holds %d queries, want 2 (the withheld one is charged)", sp.Queries)
	}
	bad := []struct {
		name string
		q    Query
		want error
	}{
		{"metric", Query{Metric: "raw", From: q.From, To: q.To, Epsilon: 1}, ErrMetric},
		{"window", Query{Metric: TagCounts, From: q.To, To: q.From, Epsilon: 1}, ErrWindow},
		{"long window", Query{Metric: TagCounts, From: q.From.Add(-400 * 24 * time.Hour), To: q.To, Epsilon: 1}, ErrWindow},
		{"ε", Query{Metric: TagCounts, From: q.From, To: q.To, Epsilon: 0.04}, fault.Invalid},
	}
	for _, c := range bad {
		if _, err := e.svc.Query(ctx, "ten_a", c.q); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Spend the rest: refused with ErrBudgetExhausted, audited as denied.
	for {
		_, err := e.svc.Query(ctx, "ten_a", Query{Metric: PhotosPerSubject, From: q.From, To: q.To, Epsilon: 1})
		if errors.Is(err, ErrBudgetExhausted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if last := e.audit.entries[len(e.audit.entries)-1]; last.Result != audit.ResultDenied {
		t.Errorf("refusal audited as %+v", last)
	}
	b, err := e.svc.Budget(ctx, "ten_a")
	if err != nil || b.Remaining >= 1 || b.PeriodSpent > b.Period.Epsilon || b.PeriodRho > b.PeriodRhoCap {
		t.Errorf("budget %+v, %v", b, err)
	}
}

func TestFeatureUsageSelectsPartitions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := e.k.Clock.Now().UTC().Truncate(24 * time.Hour)
	// At ε = 1 (scale L0/ε = 4) and δ 10⁻⁹ over L0 = 4 partitions, the
	// threshold is 87 subjects (docs/analytics.md): 150 use analyze:tags.
	for i := range 150 {
		h := fmt.Sprintf("h%03d", i)
		if err := e.k.Store.PutAnalyticsFeature(ctx, store.AnalyticsFeature{TenantID: "ten_a", SubjectHash: h, Feature: "analyze:tags", Day: day, ExpiresAt: day.Add(time.Hour * 24)}); err != nil {
			t.Fatal(err)
		}
	}
	e.k.Store.PutAnalyticsFeature(ctx, store.AnalyticsFeature{TenantID: "ten_a", SubjectHash: "solo", Feature: "plugin:only-mine", Day: day, ExpiresAt: day.Add(time.Hour * 24)})
	now := e.k.Clock.Now()
	ans, err := e.svc.Query(ctx, "ten_a", Query{Metric: FeatureUsage, From: now.Add(-time.Hour), To: now.Add(time.Hour), Epsilon: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Results) != 1 || ans.Results[0].Key != "analyze:tags" {
		t.Errorf("released %+v: want the popular feature only (one subject's plugin is suppressed)", ans.Results)
	}
	if sp, _ := e.k.Store.BudgetSpent(ctx, "ten_a", time.Time{}); sp.LifetimeDelta != 1000 {
		t.Errorf("selection δ charged %d units, want 1000 (1e-9)", sp.LifetimeDelta)
	}
}

func TestConfigFrom(t *testing.T) {
	c := ConfigFrom(config.Analytics{Epsilon: 4, MaxQueryEpsilon: 0.5, Period: 24 * time.Hour})
	if c.Accountant.Period.Epsilon != 4 || c.Accountant.MaxEpsMilli != 500 || c.Period != 24*time.Hour || c.Accountant.Lifetime.Epsilon != 30 {
		t.Errorf("ConfigFrom = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if err := ConfigFrom(config.Analytics{LifetimeEpsilon: 1}).Validate(); err == nil {
		t.Error("a lifetime cap below the period budget validated")
	}
	if err := ConfigFrom(config.Analytics{Epsilon: 2, MaxQueryEpsilon: 1}).Validate(); err == nil {
		t.Error("a maximum query ε the period cannot pay for validated")
	}
	if err := ConfigFrom(config.Analytics{SelectionDelta: 1}).Validate(); err == nil {
		t.Error("selection δ above δ/2 validated")
	}
}
