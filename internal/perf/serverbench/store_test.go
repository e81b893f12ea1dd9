package serverbench

import (
	"context"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
	"github.com/obscuraproject/obscura/internal/vision"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkStoreAPI: the whole API stack on one node with the SQLite
// store beside the same stack on Postgres (the rate limiter then keeps
// its buckets in the database); obscura bench store prints the ratio.
func BenchmarkStoreAPI(b *testing.B) {
	for _, be := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", pgtest.URL(b)}} {
		g, err := perf.NewServices(context.Background(), b.TempDir(), "store", nil, withDatabase(be.url))
		if err != nil {
			b.Fatal(err)
		}
		e, err := apiEnvOn(context.Background(), g)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(be.name, e.Parallel(e.stack))
		e.Close()
	}
}

// BenchmarkStoreQueuedAnalysis: queued tags analyses, enqueue to
// completion, on SQLite and on Postgres (River's two drivers).
func BenchmarkStoreQueuedAnalysis(b *testing.B) {
	dir := models.DefaultDir(os.Getenv)
	eng, err := vision.Open(models.Pinned(), dir, vision.Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	photo, err := models.Pinned().Load(dir, "sample5.jpg")
	if err != nil {
		b.Fatal(err)
	}
	rep, err := RunStore(context.Background(), b.TempDir(), pgtest.URL(b), eng, photo, 8)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rep.Rows {
		b.ReportMetric(r.PhotosPerSec, r.Backend+"-photos/s")
	}
}

// TestStoreAPIRuns: the store comparison's API case answers on both
// backends (the figures come from obscura bench store).
func TestStoreAPIRuns(t *testing.T) {
	for _, be := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", pgtest.URL(t)}} {
		g, err := perf.NewServices(context.Background(), t.TempDir(), "store", nil, withDatabase(be.url))
		if err != nil {
			t.Fatalf("%s: %v", be.name, err)
		}
		e, err := apiEnvOn(context.Background(), g)
		if err != nil {
			t.Fatalf("%s: %v", be.name, err)
		}
		if _, err := e.P99(e.stack, 5); err != nil {
			t.Errorf("%s: %v", be.name, err)
		}
		e.Close()
	}
}
