package alert

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/hooksig"
	"github.com/obscuraproject/obscura/internal/store"
)

type memAlerts struct {
	mu sync.Mutex
	as []store.Alert
}

func (m *memAlerts) CreateAlert(_ context.Context, a store.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.as = append(m.as, a)
	return nil
}

func (m *memAlerts) rules() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, a := range m.as {
		out = append(out, a.Rule+"/"+a.Severity)
	}
	return out
}

func newEngine(cfg Config) (*Engine, *memAlerts, *clock.Fake) {
	st := &memAlerts{}
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	return New(cfg, st, clk, slog.New(slog.NewTextHandler(io.Discard, nil))), st, clk
}

// traffic sends n events spread over one minute, then moves to the next.
func traffic(e *Engine, clk *clock.Fake, n int, en audit.Entry) {
	step := time.Minute / time.Duration(n+1)
	start := clk.Now()
	for range n {
		clk.Advance(step)
		e.Observe(context.Background(), en)
	}
	clk.Advance(time.Minute - clk.Now().Sub(start))
}

func TestBenignWorkloadRaisesNothing(t *testing.T) {
	e, st, clk := newEngine(DefaultConfig())
	ok := audit.Entry{Action: "get-asset", Tenant: "ten_a", Result: audit.ResultOK}
	bad := audit.Entry{Action: "get-tenant", Result: audit.ResultDenied, Code: "unauthenticated"}
	// Two hours of a busy but normal app: 150–450 requests a minute, a few typos in keys, an export now and then.
	for m := range 120 {
		traffic(e, clk, 150+(m*37)%300, ok)
		traffic(e, clk, m%4, bad)
		if m%30 == 0 {
			traffic(e, clk, 1, audit.Entry{Action: "export-subject", Tenant: "ten_a", Result: audit.ResultOK})
		}
	}
	if r := st.rules(); len(r) != 0 {
		t.Errorf("benign workload raised %v", r)
	}
}

func TestSpikesFire(t *testing.T) {
	e, st, clk := newEngine(DefaultConfig())
	ok := audit.Entry{Action: "get-asset", Tenant: "ten_a", Result: audit.ResultOK}
	for range 30 {
		traffic(e, clk, 200, ok)
	}
	traffic(e, clk, 2000, ok) // 10× the baseline
	bad := audit.Entry{Action: "get-tenant", Result: audit.ResultDenied, Code: "unauthenticated"}
	for range 10 {
		traffic(e, clk, 2, bad)
	}
	traffic(e, clk, 100, bad) // credential stuffing
	// Auth anomalies on tenant B, then a burst of exports there.
	traffic(e, clk, 3, audit.Entry{Action: "list-keys", Tenant: "ten_b", Result: audit.ResultDenied, Code: "forbidden"})
	traffic(e, clk, 12, audit.Entry{Action: "export-subject", Tenant: "ten_b", Result: audit.ResultOK})
	got := strings.Join(st.rules(), " ")
	for _, want := range []string{"query_spike/warning", "failed_auth_burst/warning", "mass_export/critical"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	if strings.Count(got, "query_spike") != 1 {
		t.Errorf("spike fired more than once per minute: %s", got)
	}
}

func TestWebhookSignedWithRetries(t *testing.T) {
	var calls atomic.Int32
	secret := []byte("webhook-secret")
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("X-Obscura-Signature")
		unix, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(sig, ",")[0], "t="), 10, 64)
		if hooksig.Sign(secret, body, time.Unix(unix, 0)) != sig {
			t.Errorf("bad signature %q", sig)
		}
		if n < 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		got <- string(body)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Webhook, cfg.Secret, cfg.RetryBase = srv.URL, secret, 5*time.Millisecond
	cfg.Egress, _ = egress.NewPolicy([]string{"127.0.0.1"})
	e, _, _ := newEngine(cfg)
	e.Raise(context.Background(), store.Alert{Rule: RuleAuditBroken, Severity: "critical", Detail: "seq=12"})
	e.Wait()
	select {
	case body := <-got:
		if !strings.Contains(body, `"rule":"audit_verification_failed"`) || calls.Load() != 3 {
			t.Errorf("delivered %s after %d calls", body, calls.Load())
		}
	default:
		t.Fatal("webhook never succeeded")
	}
	if hooksig.Sign(secret, []byte("x"), time.Unix(1, 0)) == hooksig.Sign([]byte("other"), []byte("x"), time.Unix(1, 0)) {
		t.Error("signature does not depend on the secret")
	}
}

// TestWebhookRefusesInternalAddress: with the default egress policy the
// alert webhook never reaches a loopback receiver (SSRF), and does not
// retry.
func TestWebhookRefusesInternalAddress(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Webhook, cfg.Secret, cfg.RetryBase = srv.URL+"/?token=SECRET-ALERT-MARKER", []byte("webhook-secret"), time.Millisecond
	e, _, _ := newEngine(cfg)
	e.Raise(context.Background(), store.Alert{Rule: RuleAuditBroken, Severity: "critical", Detail: "seq=12"})
	e.Wait()
	if n := calls.Load(); n != 0 {
		t.Errorf("loopback webhook reached %d times", n)
	}
}

// TestWebhookOnInjectedClock: signatures are dated by the injected clock
// and the retry backoff waits on it, so a fake clock neither sleeps nor
// shows the wall time (regression: time.Now and time.Sleep).
func TestWebhookOnInjectedClock(t *testing.T) {
	var mu sync.Mutex
	var stamps []int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		unix, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(r.Header.Get("X-Obscura-Signature"), ",")[0], "t="), 10, 64)
		mu.Lock()
		stamps = append(stamps, unix)
		n := len(stamps)
		mu.Unlock()
		if n < 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Webhook, cfg.Secret, cfg.RetryBase = srv.URL, []byte("webhook-secret"), 30*time.Second
	cfg.Egress, _ = egress.NewPolicy([]string{"127.0.0.1"})
	e, _, clk := newEngine(cfg)
	start := clk.Now().Unix()
	began := time.Now()
	e.Raise(context.Background(), store.Alert{Rule: RuleAuditBroken, Severity: "critical", Detail: "seq=1"})
	e.Wait()
	// Real sleeps would take 90 s (30 + 60); a loaded machine under -race
	// stays far below the bound.
	if d := time.Since(began); d > 60*time.Second {
		t.Errorf("retries slept in real time: %v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int64{start, start + 30, start + 90}; !slices.Equal(stamps, want) {
		t.Errorf("signature times %v, want %v (the fake clock's)", stamps, want)
	}
}
