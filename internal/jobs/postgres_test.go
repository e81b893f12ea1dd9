package jobs

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pool opens a pool on url, closed at cleanup.
func pool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestPostgresNodes is issue 24 item 2 on River's Postgres driver: an api
// node's queue (no workers) enqueues, a jobs node's queue on another pool
// of the same database works the jobs, and both read the same final
// states with the synchronous answer's codes; a second jobs node starting
// at once migrates nothing twice. The job ids one node mints the other
// decodes (same id key).
func TestPostgresNodes(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	apiOpts := refusalOptions()
	apiOpts.StartWorker, apiOpts.IDKey = false, key
	jobsOpts := refusalOptions()
	jobsOpts.IDKey = key
	errs := make(chan error, 2)
	qs := make(chan *Queue, 2)
	for range 2 { // two jobs nodes starting together
		go func() {
			q, err := OpenPostgres(ctx, pool(t, url), jobsOpts)
			errs <- err
			qs <- q
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("jobs node: %v", err)
		}
		q := <-qs
		t.Cleanup(func() { q.Close(context.Background()) })
	}
	api, err := OpenPostgres(ctx, pool(t, url), apiOpts)
	if err != nil {
		t.Fatalf("api node: %v", err)
	}
	t.Cleanup(func() { api.Close(ctx) })
	checkRefusals(t, api, api)
}
