package perf

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/api"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/guard"
)

// APIEnv compares the full API stack — recovery, logging, metrics, security
// headers, routing, huma, API-key authentication (keyed hash + store
// lookup), rate limiting and a durable audit append — with a bare net/http
// handler writing the same JSON, both called in process.
type APIEnv struct {
	b     *benchServices
	audit *audit.Log
	stack http.Handler
	bare  http.Handler
	key   string
}

// NewAPIEnv wires the stack in dir.
func NewAPIEnv(ctx context.Context, dir string) (*APIEnv, error) {
	b, err := newBenchServices(ctx, dir, "api.db")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	key, rec := auth.Mint(b.kr, "ten_bench", auth.AllScopes, time.Now())
	if err := b.st.CreateAPIKey(ctx, rec); err != nil {
		return nil, err
	}
	signer, err := b.kr.TenantSigner(ctx, "", "audit")
	if err != nil {
		return nil, err
	}
	al := audit.New(b.st, signer, clock.System{}, log, audit.Options{})
	stack := api.New(api.Deps{Store: b.st, Keys: b.kr, Auth: auth.New(b.st, b.kr, clock.System{}), Clock: clock.System{}, Log: log,
		Registry: prometheus.NewRegistry(), Version: "bench", Audit: al, AuditReader: b.st,
		Limiter: guard.NewLimiter(guard.Limits{Classes: map[string]guard.Limit{"api": {PerSecond: 1e9, Burst: 1e9}}}, clock.System{})}).Handler()
	body := []byte(`{"tenant_id":"ten_bench","name":"bench","created_at":"2026-11-22T00:00:00Z"}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	return &APIEnv{b: b, audit: al, stack: stack, bare: bare, key: key}, nil
}

// Close flushes the audit log and closes the store.
func (e *APIEnv) Close() error {
	e.audit.Close()
	return e.b.st.Close()
}

func (e *APIEnv) serve(h http.Handler) error {
	req := httptest.NewRequest(http.MethodGet, "/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	return nil
}

// Handlers returns the stack and the baseline by name.
func (e *APIEnv) Handlers() map[string]http.Handler {
	return map[string]http.Handler{"api/stack": e.stack, "api/bare-net-http": e.bare}
}

// Parallel runs h from many goroutines; for b.RunParallel.
func (e *APIEnv) Parallel(h http.Handler) func(b *testing.B) {
	return func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := e.serve(h); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// P99 times n sequential requests and returns the 99th percentile.
func (e *APIEnv) P99(h http.Handler, n int) (time.Duration, error) {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if err := e.serve(h); err != nil {
			return 0, err
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[n*99/100], nil
}

// APIRow is one API figure.
type APIRow struct {
	Case      string  `json:"case"`
	ReqPerSec float64 `json:"req_per_s"`
	P99us     float64 `json:"p99_us"`
}

// RunAPI measures both handlers and returns the rows and the throughput ratio.
func RunAPI(ctx context.Context, dir string) ([]APIRow, float64, error) {
	e, err := NewAPIEnv(ctx, dir)
	if err != nil {
		return nil, 0, err
	}
	defer e.Close()
	var rows []APIRow
	rps := map[string]float64{}
	for _, name := range []string{"api/stack", "api/bare-net-http"} {
		h := e.Handlers()[name]
		r := testing.Benchmark(e.Parallel(h))
		p99, err := e.P99(h, 2000)
		if err != nil {
			return nil, 0, err
		}
		rps[name] = float64(r.N) / r.T.Seconds()
		rows = append(rows, APIRow{Case: name, ReqPerSec: rps[name], P99us: float64(p99.Microseconds())})
	}
	return rows, rps["api/stack"] / rps["api/bare-net-http"], nil
}
