package wire

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/store"
)

// Several nodes on one database (issue 24): what changes when the store is
// shared (Postgres) rather than one process's (SQLite).

// pooled is a store on a Postgres pool (internal/store/postgres).
type pooled interface {
	Pool() *pgxpool.Pool
}

// killListener is a store that announces kill-switch changes as they
// happen (Postgres LISTEN/NOTIFY): onChange runs after each one until ctx
// ends or the connection fails.
type killListener interface {
	ListenKillSwitches(ctx context.Context, onChange func()) error
}

// KillSwitchPoll is how often a node on a shared store re-reads the kill
// switches when no notification comes (the fallback that keeps "a switch
// set on one node is enforced by every node within 1 s" true when a
// notification is lost).
const KillSwitchPoll = 500 * time.Millisecond

// Shared reports whether the store is shared by several nodes (Postgres):
// rate limits, guard states, gallery locks and kill switches then go
// through the database, and `serve --role api|jobs` is allowed.
func (g *Graph) Shared() bool {
	_, ok := any(g.Store).(pooled)
	return ok
}

// CheckRole refuses a serve role the configuration cannot support: api
// and jobs nodes need a database other nodes share (database_url).
func CheckRole(cfg config.Config) error {
	switch cfg.Role {
	case "", config.RoleAll:
		return nil
	case config.RoleAPI, config.RoleJobs:
		if cfg.DatabaseURL != "" {
			return nil
		}
		return fault.New(fault.Invalid, "role "+cfg.Role+" needs a database shared by every node (database_url postgres://…); the embedded SQLite store serves role all only")
	}
	return fault.New(fault.Invalid, "role "+cfg.Role+" is not all, api or jobs")
}

// sharedState is the store's shared state when several nodes share it,
// else nil.
func (g *Graph) sharedState() store.SharedState {
	if !g.Shared() {
		return nil
	}
	sh, _ := any(g.Store).(store.SharedState)
	return sh
}

// galleryLock is the gallery write lock across nodes (nil on one node:
// the faces service's own lock is enough).
func (g *Graph) galleryLock() interface {
	LockGallery(ctx context.Context, tenant, subjectHash string) (func(), error)
} {
	if sh := g.sharedState(); sh != nil {
		return sh
	}
	return nil
}

// rateLimiter is the API's rate limiter: the buckets in the shared
// database when there is one, else in this process.
func (g *Graph) rateLimiter() interface {
	Allow(tenant, key, class string) error
	AllowAddr(addr, class string) error
} {
	if sh := g.sharedState(); sh != nil {
		return guard.NewSharedLimiter(g.Config.RateLimits, g.Clock, sh,
			func(addr string) string { return g.Keys.HashID("rate-limit-address", addr) })
	}
	return guard.NewLimiter(g.Config.RateLimits, g.Clock)
}

// startShared runs what keeps a node in step with the others on a shared
// store: guard states every second (and a throttled key's one query per
// interval counted across nodes), kill switches on notification (and every
// KillSwitchPoll).
func (g *Graph) startShared(ctx context.Context) {
	if !g.Shared() {
		return
	}
	if sh := g.sharedState(); sh != nil {
		g.Extraction.ShareThrottle(sh)
	}
	go g.Extraction.Run(ctx, time.Second)
	if l, ok := any(g.Store).(killListener); ok {
		go g.listenKill(ctx, l)
	}
}

// listenKill refreshes the kill switches on every notification,
// reconnecting after a failure (the poll covers the gap).
func (g *Graph) listenKill(ctx context.Context, l killListener) {
	for ctx.Err() == nil {
		err := l.ListenKillSwitches(ctx, func() {
			if err := g.Kill.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.Log.Error("refresh kill switches on notification", "component", "wire", "err", err)
			}
		})
		if ctx.Err() != nil {
			return
		}
		g.Log.Warn("kill-switch notifications interrupted; polling until they resume", "component", "wire", "err", err)
		if clock.Sleep(ctx, clock.System{}, time.Second) != nil {
			return
		}
	}
}

// killPoll is the kill switches' refresh interval.
func (g *Graph) killPoll() time.Duration {
	if g.Shared() {
		return KillSwitchPoll
	}
	return time.Second
}

// ratePruner sweeps rate-limit rows that hold nothing any more.
type ratePruner struct {
	st  store.SharedState
	clk clock.Clock
}

// Sweep implements jobs.Sweeper.
func (p ratePruner) Sweep(ctx context.Context, limit int) (int, error) {
	return p.st.PruneRate(ctx, p.clk.Now(), limit)
}

// sweepers are what the periodic sweep job runs.
func (g *Graph) sweepers() []jobs.Sweeper {
	ss := []jobs.Sweeper{g.Kinds, g.Uploads}
	if sh := g.sharedState(); sh != nil {
		ss = append(ss, ratePruner{sh, g.Clock})
	}
	return ss
}

// openQueue opens the job queue on the store's database: River's pgx
// driver on the shared pool, or its SQLite driver on the database file.
func (g *Graph) openQueue(ctx context.Context, sqlitePath string, o jobs.Options) (*jobs.Queue, error) {
	if p, ok := any(g.Store).(pooled); ok {
		return jobs.OpenPostgres(ctx, p.Pool(), o)
	}
	return jobs.Open(ctx, sqlitePath, o)
}

// ProbesHandler is the HTTP surface of a jobs node: /healthz, /readyz
// (the same probes as the API's) and, unless it has its own listener,
// /metrics; everything else is 404.
func (g *Graph) ProbesHandler(h HTTP) http.Handler {
	full := g.Handler(h)
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", full)
	mux.Handle("GET /readyz", full)
	if !h.MetricsElsewhere {
		mux.Handle("GET /metrics", full)
	}
	return mux
}
