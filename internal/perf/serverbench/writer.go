package serverbench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
)

// WriterReport is the SQLite writer's two lanes under a saturating
// background write load: an interactive write's latency (an upload URL's
// record, fsync'd, as an upload makes several) with the interactive mark
// (store.Interactive) and, in the same run, without it (the baseline:
// every write in one queue).
type WriterReport struct {
	Background  int     `json:"background_writers"`
	Samples     int     `json:"samples"`
	LaneP50ms   float64 `json:"lane_p50_ms"`
	LaneP99ms   float64 `json:"lane_p99_ms"`
	BaseP50ms   float64 `json:"baseline_p50_ms"`
	BaseP99ms   float64 `json:"baseline_p99_ms"`
	P99Speedup  float64 `json:"p99_speedup"` // baseline p99 / lane p99
	BackgroundN int64   `json:"background_writes"`
}

// RunWriterLanes measures WriterReport on a fresh database in dir:
// background goroutines insert rows back to back (each commit fsync'd,
// synchronous=FULL, as in production) while one client makes an
// interactive write every 20 ms, for d per phase.
func RunWriterLanes(ctx context.Context, dir string, background int, d time.Duration) (WriterReport, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "writer-bench.db"))
	if err != nil {
		return WriterReport{}, err
	}
	defer st.Close()
	now := time.Now()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "ten_bench", Name: "bench", CreatedAt: now},
		store.APIKey{ID: "key_bench", TenantID: "ten_bench", Scopes: []string{"admin"}, SecretHash: []byte("x"), CreatedAt: now}); err != nil {
		return WriterReport{}, err
	}
	var seq atomic.Int64
	write := func(ctx context.Context) error {
		n := seq.Add(1)
		return st.CreateUpload(ctx, store.Upload{ID: fmt.Sprintf("up_bench_%d", n), TenantID: "ten_bench", SubjectHash: "s", CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
	}
	var bg atomic.Int64
	phase := func(mark bool) ([]time.Duration, error) {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		errc := make(chan error, background)
		for range background {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for pctx.Err() == nil {
					if err := write(pctx); err != nil && pctx.Err() == nil {
						errc <- err
						return
					}
					bg.Add(1)
				}
			}()
		}
		var lat []time.Duration
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for stop := time.Now().Add(d); time.Now().Before(stop); {
			<-tick.C
			wctx := ctx
			if mark {
				wctx = store.Interactive(ctx)
			}
			start := time.Now()
			if err := write(wctx); err != nil {
				cancel()
				wg.Wait()
				return nil, err
			}
			lat = append(lat, time.Since(start))
		}
		cancel()
		wg.Wait()
		select {
		case err := <-errc:
			return nil, err
		default:
		}
		slices.Sort(lat)
		return lat, nil
	}
	base, err := phase(false)
	if err != nil {
		return WriterReport{}, err
	}
	lane, err := phase(true)
	if err != nil {
		return WriterReport{}, err
	}
	r := WriterReport{Background: background, Samples: len(lane), BackgroundN: bg.Load(),
		LaneP50ms: perf.Ms(perf.Percentile(lane, 50)), LaneP99ms: perf.Ms(perf.Percentile(lane, 99)),
		BaseP50ms: perf.Ms(perf.Percentile(base, 50)), BaseP99ms: perf.Ms(perf.Percentile(base, 99))}
	if r.LaneP99ms > 0 {
		r.P99Speedup = r.BaseP99ms / r.LaneP99ms
	}
	return r, nil
}
