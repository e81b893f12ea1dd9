// Package jobs is Obscura's work queue: River (github.com/riverqueue/river)
// on the same database as everything else — SQLite (Open, with its own
// one-connection pool as River's SQLite driver asks) or, scaled out,
// Postgres (OpenPostgres, River's pgx v5 driver on the store's pool),
// where api nodes enqueue and jobs nodes work. It carries asynchronous
// analyses and the periodic retention sweep.
//
// Job arguments hold ids Obscura minted (tenant, asset) and feature names —
// never a subject id, pixels or results. A finished analysis's results
// live where synchronous ones do: sealed under their purposes (package
// analysis), read back on demand.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/fault"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// AnalyzeArgs is an asynchronous analysis.
type AnalyzeArgs struct {
	Tenant   string   `json:"tenant"`
	Key      string   `json:"key,omitempty"` // the API key id that asked (watched by the extraction guard)
	AssetID  string   `json:"asset_id"`
	Features []string `json:"features"`
	Webhook  string   `json:"webhook,omitempty"`
}

// Kind implements river.JobArgs.
func (AnalyzeArgs) Kind() string { return "analyze" }

// SweepArgs is the periodic retention sweep.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "retention_sweep" }

type analyzer interface {
	AnalyzeQueued(ctx context.Context, tenant, key, assetID string, features []string) (analysis.Result, error)
}

// Sweeper deletes what its retention schedule says has expired.
type Sweeper interface {
	Sweep(ctx context.Context, limit int) (int, error)
}

type analyzeWorker struct {
	river.WorkerDefaults[AnalyzeArgs]
	a    analyzer
	q    *Queue
	code func(error) string
	kill func(tenant string) error
}

// refused reports an error retrying cannot change: the same code as the
// synchronous answer, final.
func refused(err error) bool {
	return errors.Is(err, fault.ConsentRequired) || errors.Is(err, fault.NotFound) || errors.Is(err, fault.Invalid) ||
		errors.Is(err, fault.Blocked) || errors.Is(err, fault.RateLimited) || errors.Is(err, fault.InputRejected) ||
		errors.Is(err, fault.Unsupported)
}

func (w *analyzeWorker) Work(ctx context.Context, j *river.Job[AnalyzeArgs]) error {
	var err error
	killed := false
	if w.kill != nil {
		err = w.kill(j.Args.Tenant)
		killed = err != nil
	}
	if !killed {
		_, err = w.a.AnalyzeQueued(ctx, j.Args.Tenant, j.Args.Key, j.Args.AssetID, j.Args.Features)
	}
	final := err == nil
	if err != nil {
		// The job's error starts with the stable code the synchronous
		// answer would carry (the API's error table), so Get reports it.
		err = codedError{code: w.code(err), err: err}
	}
	if err != nil && (killed || refused(err)) {
		// Retrying cannot help: record the refusal and stop; the job
		// reads as failed, with the synchronous answer's code.
		err, final = river.JobCancel(err), true
	}
	if final && j.Args.Webhook != "" {
		// Notify once the job's state is final; delivery retries on its own.
		if _, ierr := w.q.client.Insert(ctx, WebhookArgs{Tenant: j.Args.Tenant, JobID: j.ID, URL: j.Args.Webhook},
			&river.InsertOpts{MaxAttempts: webhookAttempts, ScheduledAt: w.q.clk.Now().Add(time.Second)}); ierr != nil {
			return fmt.Errorf("queue webhook: %w", ierr)
		}
	}
	return err
}

// codedError prefixes an error with its stable code: "[code] text".
type codedError struct {
	code string
	err  error
}

func (e codedError) Error() string { return "[" + e.code + "] " + e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	ss  []Sweeper
	log *slog.Logger
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	for _, s := range w.ss {
		for {
			n, err := s.Sweep(ctx, 500)
			if err != nil {
				return err
			}
			if n > 0 {
				w.log.Info("retention sweep", "deleted", n)
			}
			if n < 500 {
				break
			}
		}
	}
	return nil
}

// Options configure the queue.
type Options struct {
	Workers     int           // concurrent analyses (default 2)
	SweepEvery  time.Duration // retention sweep interval (default 1 min)
	PollEvery   time.Duration // job fetch poll interval (default 1 s)
	Log         *slog.Logger
	Analyzer    analyzer
	Sweepers    []Sweeper
	StartWorker bool // run workers in this process (serve does; a CLI enqueuer does not)
	// WebhookSecret returns a tenant's webhook signing secret.
	WebhookSecret func(tenant string) []byte
	// Code maps a job's error to the stable code the synchronous API
	// would answer with (the API's error table); default: by fault kind.
	Code func(error) string
	// Kill, when set, is checked before each queued analysis runs: an
	// error (the kill switch is on for the tenant) refuses the job.
	Kill func(tenant string) error
	// JobTimeout cancels one run of a job (default 2 min). RescueAfter is
	// how long a job may stay "running" before it is presumed orphaned by a
	// crashed worker and retried (default 3 min; must exceed JobTimeout).
	// River's rescuer checks every 30 s and once when the queue starts.
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// Clock dates webhook signatures and schedules follow-up jobs
	// (default the system clock).
	Clock clock.Clock
	// Egress decides which addresses webhooks may reach (default: public
	// addresses only; see internal/egress).
	Egress *egress.Policy
	// IDKey keys the public job ids (see id.go); serve derives it from the
	// keyring so ids survive restarts. Nil: a random key for this process.
	IDKey []byte
}

// Queue is the job queue.
type Queue struct {
	close  func() error // closes what Open opened (the SQLite pool); nil for a borrowed pool
	client riverClient
	run    bool
	egress *egress.Policy
	ids    *idCodec
	clk    clock.Clock
}

// riverClient is what the queue uses of a river.Client, whatever its
// driver's transaction type.
type riverClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Open opens the queue on the SQLite database at path, migrating River's
// tables (idempotent).
func Open(ctx context.Context, path string, o Options) (*Queue, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	qq, err := open(ctx, riversqlite.New(db), o)
	if err != nil {
		db.Close()
		return nil, err
	}
	qq.close = db.Close
	return qq, nil
}

// open migrates River's tables through driver and builds the client;
// with o.StartWorker it also starts the workers.
func open[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], o Options) (*Queue, error) {
	mig, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: o.Log})
	if err == nil {
		_, err = mig.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.SweepEvery == 0 {
		o.SweepEvery = time.Minute
	}
	if o.Egress == nil {
		o.Egress, _ = egress.NewPolicy(nil)
	}
	qq := &Queue{run: o.StartWorker, egress: o.Egress, ids: newIDCodec(o.IDKey)}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	qq.clk = o.Clock
	o.JobTimeout = cmp.Or(o.JobTimeout, 2*time.Minute)
	o.RescueAfter = cmp.Or(o.RescueAfter, 3*time.Minute)
	if o.RescueAfter <= o.JobTimeout {
		return nil, fault.New(fault.Invalid, fmt.Sprintf("job rescue delay (%s) must exceed the job timeout (%s)", o.RescueAfter, o.JobTimeout))
	}
	cfg := &river.Config{Logger: o.Log, FetchPollInterval: o.PollEvery, JobTimeout: o.JobTimeout, RescueStuckJobsAfter: o.RescueAfter}
	if o.PollEvery > 0 && o.PollEvery < river.FetchCooldownDefault {
		cfg.FetchCooldown = o.PollEvery
	}
	if o.StartWorker {
		ws := river.NewWorkers()
		if o.Analyzer != nil {
			code := o.Code
			if code == nil {
				code = kindCode
			}
			river.AddWorker(ws, &analyzeWorker{a: o.Analyzer, q: qq, code: code, kill: o.Kill})
		}
		if o.WebhookSecret != nil {
			river.AddWorker(ws, &webhookWorker{q: qq, secret: o.WebhookSecret, client: o.Egress.Client(10 * time.Second), now: o.Clock.Now})
		}
		river.AddWorker(ws, &sweepWorker{ss: o.Sweepers, log: o.Log.With("component", "jobs")})
		cfg.Workers = ws
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
		cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.SweepEvery),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	qq.client = client
	if o.StartWorker {
		if err := client.Start(ctx); err != nil {
			return nil, fmt.Errorf("start job workers: %w", err)
		}
	}
	return qq, nil
}

// Close stops the workers (finishing running jobs) and closes the pool.
func (q *Queue) Close(ctx context.Context) error {
	if q.run {
		if err := q.client.Stop(ctx); err != nil {
			return err
		}
	}
	if q.close != nil {
		return q.close()
	}
	return nil
}

// Job is what the API reports of a job.
type Job struct {
	ID       string    `json:"id" doc:"Opaque job id (job_…)"`
	State    string    `json:"state" doc:"queued, running, completed or failed (a refusal fails the job with the code the synchronous call would answer)"`
	AssetID  string    `json:"asset_id"`
	Features []string  `json:"features"`
	Created  time.Time `json:"created_at"`
	Error    string    `json:"error,omitempty" doc:"Why the job failed (stable code only)"`
}

// EnqueueAnalyze queues an analysis the caller admitted
// (analysis.Service.Check, which validates the features) and returns the job.
func (q *Queue) EnqueueAnalyze(ctx context.Context, args AnalyzeArgs) (Job, error) {
	if args.Webhook != "" {
		if err := q.egress.CheckURL(args.Webhook); err != nil {
			return Job{}, err
		}
	}
	res, err := q.client.Insert(ctx, args, nil)
	if err != nil {
		return Job{}, fmt.Errorf("enqueue: %w", err)
	}
	return q.jobOf(res.Job, args), nil
}

// Get returns the tenant's analysis job, or fault.NotFound (also for
// another tenant's job).
func (q *Queue) Get(ctx context.Context, tenant string, public string) (Job, error) {
	id, ok := q.ids.decode(tenant, public)
	if !ok {
		return Job{}, fault.New(fault.NotFound, "job not found")
	}
	return q.get(ctx, tenant, id)
}

// get is Get by River id.
func (q *Queue) get(ctx context.Context, tenant string, id int64) (Job, error) {
	row, err := q.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return Job{}, fault.New(fault.NotFound, "job not found")
	}
	if err != nil {
		return Job{}, err
	}
	var args AnalyzeArgs
	if row.Kind != (AnalyzeArgs{}).Kind() || unmarshal(row.EncodedArgs, &args) != nil || args.Tenant != tenant {
		return Job{}, fault.New(fault.NotFound, "job not found")
	}
	return q.jobOf(row, args), nil
}

func (q *Queue) jobOf(row *rivertype.JobRow, args AnalyzeArgs) Job {
	j := Job{ID: q.ids.encode(args.Tenant, row.ID), AssetID: args.AssetID, Features: args.Features, Created: row.CreatedAt.UTC()}
	switch row.State {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending, rivertype.JobStateRetryable:
		j.State = "queued"
	case rivertype.JobStateRunning:
		j.State = "running"
	case rivertype.JobStateCompleted:
		j.State = "completed"
	default: // discarded after its retries, or cancelled as refused

		j.State = "failed"
	}
	if len(row.Errors) > 0 && j.State != "completed" {
		j.Error = errorCode(row.Errors[len(row.Errors)-1].Error)
	}
	return j
}

func unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// errorCode reduces a job error to a stable code: job errors are kept in
// River's table, and their text never reaches a client. Errors carry
// their code ("[code] …", possibly inside River's wrapping); older rows are matched by text.
func errorCode(msg string) string {
	if i := strings.IndexByte(msg, '['); i >= 0 {
		if end := strings.IndexByte(msg[i:], ']'); end > 1 && validCode(msg[i+1:i+end]) {
			return msg[i+1 : i+end]
		}
	}
	switch {
	case strings.Contains(msg, "consent required"):
		return "consent_required"
	case strings.Contains(msg, "not found"):
		return "not_found"
	case strings.Contains(msg, "not a decodable image"), strings.Contains(msg, "too many pixels"):
		return "bad_image"
	}
	return "internal"
}

// validCode: a stable code is snake_case ASCII.
func validCode(c string) bool {
	for _, r := range c {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return c != ""
}

// kindCode is the default code of an error: its fault kind in snake case.
func kindCode(err error) string {
	switch {
	case errors.Is(err, fault.ConsentRequired):
		return "consent_required"
	case errors.Is(err, fault.NotFound):
		return "not_found"
	case errors.Is(err, fault.Invalid):
		return "invalid"
	case errors.Is(err, fault.InputRejected):
		return "input_rejected"
	}
	return "internal"
}
