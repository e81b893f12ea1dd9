package serverbench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// StoreRow is one store backend's figures on one node: API requests per
// second (GET /v1/tenant through the whole stack — authentication, the
// rate limiter, the audit append — from 8 goroutines) and analysed photos
// per second (tags analyses queued through River and worked by this
// node's workers, enqueue to completion).
type StoreRow struct {
	Backend      string  `json:"backend"`
	APIReqPerSec float64 `json:"api_req_per_s"`
	PhotosPerSec float64 `json:"analysis_photos_per_s"`
}

// StoreReport compares the backends measured in the same run; the ratios
// are Postgres over SQLite (0 when Postgres was not measured).
type StoreReport struct {
	Rows        []StoreRow `json:"rows"`
	APIRatio    float64    `json:"api_ratio"`
	PhotosRatio float64    `json:"photos_ratio"`
}

// RunStore measures SQLite (in dir) and, when databaseURL is set,
// Postgres (an empty database the run may write to: it leaves its rows),
// each with analyses of photo through n queued jobs.
func RunStore(ctx context.Context, dir, databaseURL string, eng *vision.Engine, photo []byte, n int) (StoreReport, error) {
	var rep StoreReport
	backends := []struct{ name, url string }{{"sqlite", ""}}
	if databaseURL != "" {
		backends = append(backends, struct{ name, url string }{"postgres", databaseURL})
	}
	for _, be := range backends {
		row, err := runStoreBackend(ctx, dir, be.name, be.url, eng, photo, n)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", be.name, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	if len(rep.Rows) == 2 {
		rep.APIRatio = rep.Rows[1].APIReqPerSec / rep.Rows[0].APIReqPerSec
		rep.PhotosRatio = rep.Rows[1].PhotosPerSec / rep.Rows[0].PhotosPerSec
	}
	return rep, nil
}

func runStoreBackend(ctx context.Context, dir, name, url string, eng *vision.Engine, photo []byte, n int) (StoreRow, error) {
	row := StoreRow{Backend: name}
	g, err := perf.NewServices(ctx, dir, "store-"+name, eng, withDatabase(url))
	if err != nil {
		return row, err
	}
	e, err := apiEnvOn(ctx, g)
	if err != nil {
		return row, err
	}
	defer e.Close()
	r := testing.Benchmark(e.Parallel(e.stack))
	if r.N == 0 {
		return row, fmt.Errorf("api benchmark failed")
	}
	row.APIReqPerSec = float64(r.N) / r.T.Seconds()
	if row.PhotosPerSec, err = queuedPhotos(ctx, g, photo, n); err != nil {
		return row, err
	}
	return row, nil
}

// withDatabase selects the store: SQLite in the data directory (""), or
// the Postgres database at url.
func withDatabase(url string) func(*config.Config) {
	return func(c *config.Config) { c.DatabaseURL = url }
}

// queuedPhotos queues n tags analyses of one stored photo and returns
// completed analyses per second.
func queuedPhotos(ctx context.Context, g *wire.Graph, photo []byte, n int) (float64, error) {
	as, err := g.Uploads.Ingest(ctx, perf.Tenant, "bench-subject", photo)
	if err != nil {
		return 0, err
	}
	if _, err := g.Consents.Grant(ctx, perf.Tenant, "bench-subject", consent.Grant{Purpose: "tagging", Notice: "bench"}); err != nil {
		return 0, err
	}
	q, err := g.Queue(ctx, true)
	if err != nil {
		return 0, err
	}
	defer q.Close(context.WithoutCancel(ctx))
	start := time.Now()
	ids := make([]string, 0, n)
	for range n {
		j, err := q.EnqueueAnalyze(ctx, jobs.AnalyzeArgs{Tenant: perf.Tenant, AssetID: as.ID, Features: []string{vision.Tags}})
		if err != nil {
			return 0, err
		}
		ids = append(ids, j.ID)
	}
	deadline := start.Add(5 * time.Minute)
	for _, id := range ids {
		for {
			j, err := q.Get(ctx, perf.Tenant, id)
			if err != nil {
				return 0, err
			}
			if j.State == "completed" {
				break
			}
			if j.State == "failed" || time.Now().After(deadline) {
				return 0, fmt.Errorf("queued analysis %s: %s %s", id, j.State, j.Error)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
