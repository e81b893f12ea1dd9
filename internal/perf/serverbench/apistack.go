package serverbench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/wire"
)

// APIEnv compares the full API stack — recovery, logging, metrics, security
// headers, routing, huma, API-key authentication (keyed hash + store
// lookup), rate limiting and a durable audit append — with a bare net/http
// handler writing the same JSON, both called in process.
type APIEnv struct {
	g     *wire.Graph
	stack http.Handler
	bare  http.Handler
	key   string
}

// NewAPIEnv wires the stack in dir.
func NewAPIEnv(ctx context.Context, dir string) (*APIEnv, error) {
	b, err := perf.NewServices(ctx, dir, "api", nil)
	if err != nil {
		return nil, err
	}
	return apiEnvOn(ctx, b)
}

// apiEnvOn wires the stack on the built graph b (closed with the env).
func apiEnvOn(ctx context.Context, b *wire.Graph) (*APIEnv, error) {
	key, rec := auth.Mint(b.Keys, perf.Tenant, auth.AllScopes, time.Now())
	if err := b.Store.CreateAPIKey(ctx, rec); err != nil {
		b.Close()
		return nil, err
	}
	stack := b.Handler(wire.HTTP{Version: "bench"})
	body := []byte(`{"tenant_id":"ten_bench","name":"bench","created_at":"2026-11-22T00:00:00Z"}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	return &APIEnv{g: b, stack: stack, bare: bare, key: key}, nil
}

// Close flushes the audit log and closes the store.
func (e *APIEnv) Close() error {
	return e.g.Close()
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
