package main

import (
	"context"
	"fmt"
	"io"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/serverbench"
	"github.com/obscuraproject/obscura/internal/vision"
)

// benchStoreJobs is how many queued analyses each backend works.
const benchStoreJobs = 12

// benchStore measures one node on SQLite and, with database_url
// (OBSCURA_DATABASE_URL: an empty database the run may write to), on
// Postgres: API requests/s and queued analyses/s, with the ratios.
func (a *app) benchStore(ctx context.Context, dir string, out map[string]any, b io.Writer) error {
	url := a.cfg.DatabaseURL
	if url == "" {
		fmt.Fprintln(a.stderr, "benchmarking the store on SQLite only (set OBSCURA_DATABASE_URL to an empty Postgres database to compare) …")
	} else {
		fmt.Fprintln(a.stderr, "benchmarking one node on SQLite and on Postgres (API requests/s, queued analyses/s) …")
	}
	mdir := models.DefaultDir(a.getenv)
	eng, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: 2})
	if err != nil {
		return err
	}
	defer eng.Close()
	photo, err := models.Pinned().Load(mdir, "sample5.jpg")
	if err != nil {
		return err
	}
	rep, err := serverbench.RunStore(ctx, dir, url, eng, photo, benchStoreJobs)
	if err != nil {
		return err
	}
	out["store"] = rep
	fmt.Fprintf(b, "\n%-26s %12s %22s\n", "store (one node)", "api req/s", "queued photos/s (tags)")
	for _, r := range rep.Rows {
		fmt.Fprintf(b, "%-26s %12.0f %22.2f\n", r.Backend, r.APIReqPerSec, r.PhotosPerSec)
	}
	if rep.APIRatio > 0 {
		fmt.Fprintf(b, "postgres vs sqlite: api %.2fx, queued analyses %.2fx\n", rep.APIRatio, rep.PhotosRatio)
	}
	return nil
}
