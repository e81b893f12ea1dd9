// Package wire is Obscura's one composition root: it builds the object graph
// from configuration. `obscura serve`, every other CLI command, the
// benchmarks (internal/perf) and the test kit (internal/testkit) all build
// their components here, so each collaborator is constructed in one place
// and the graph a test or a benchmark measures is the graph the server runs.
//
// Read it top to bottom: Open builds the storage core (store, key service,
// blobs, encrypted objects, audit log) and then every service on it, in
// dependency order; Start runs what a long-lived process runs once; Queue
// opens the job queue; Handler assembles the HTTP surface.
//
// A new component is added in Open (or Handler, for an HTTP surface), as a
// field of Graph, and nowhere else.
package wire

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/alert"
	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/api"
	"github.com/obscuraproject/obscura/internal/api/recognition"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/internal/provenance"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/web"
	webconsole "github.com/obscuraproject/obscura/internal/web/console"
	webdemo "github.com/obscuraproject/obscura/internal/web/demo"
	webprivacy "github.com/obscuraproject/obscura/internal/web/privacy"
	"github.com/obscuraproject/obscura/internal/wire/core"
)

// DBFile is the SQLite database's name inside the data directory.
const DBFile = core.DBFile

// Options are what the caller resolves before the graph is built.
type Options struct {
	// Config is the resolved configuration (defaults < file < env < flags).
	Config config.Config
	// Getenv reads the secrets that never live in Config:
	// OBSCURA_MASTER_KEY, VAULT_ADDR, VAULT_TOKEN, OBSCURA_S3_ACCESS_KEY,
	// OBSCURA_S3_SECRET_KEY, OBSCURA_ALERT_SECRET, OBSCURA_METRICS_TOKEN
	// and the test hook OBSCURA_TEST_CRASH_POINT. Nil reads nothing.
	Getenv func(string) string
	// Clock is the time every component reads (nil: the system clock).
	Clock clock.Clock
	// Log receives structured logs; each component scopes it.
	Log *slog.Logger
	// Version is Obscura's version, written into provenance manifests
	// (empty: "dev").
	Version string
	// Engine runs the models. Nil builds the graph without analysis and
	// suggestions (what CLI commands that only store, forget or purge
	// need); the services that forget derived data are still there.
	Engine *vision.Engine
	// Vision, when set, replaces Engine for every decode and model run:
	// the sandboxed worker pool (internal/sandbox) in `obscura serve`.
	Vision Vision
	// Sanitizer, when set, sanitizes uploads (the worker pool); nil
	// sanitizes in this process.
	Sanitizer upload.Sanitizer
}

// Vision decodes photos and runs the models: *vision.Engine in process,
// or the sandboxed worker pool.
type Vision interface {
	Decode(data []byte) (*picture.Picture, error)
	AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
	Embeddings(ctx context.Context, p *picture.Picture) ([]vision.Embedding, error)
	FaceProbe(p *picture.Picture, f blazeface.Face) vision.FaceProbe
}

// Graph is the built object graph. Fields are set by Open in this order.
type Graph struct {
	// The storage core: configuration, clock, log, store, key service,
	// blobs, encrypted objects, audit log.
	*core.Core

	// Egress is the policy of every outbound request to a URL a tenant or
	// operator supplied (job and alert webhooks).
	Egress *egress.Policy
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string

	// Services on the core.
	Tokens   *upload.Codec
	Kill     *incident.Switches
	Alerts   *alert.Engine
	Consents *consent.Service
	// Kinds is the derived-data registry: every kind of data kept about a
	// subject, which deletion, revocation, expiry, erasure, purges,
	// sweeps and export go through.
	Kinds      *derived.Registry
	Uploads    *upload.Service
	Extraction *guard.Extraction
	Analyses   *analysis.Service
	Faces      *faces.Service
	Subjects   *subject.Service
	Purger     *incident.Purger
	// Drafts holds generated images (meme and plugin drafts) until their
	// subject accepts or rejects them. Memes makes meme drafts (nil
	// without an engine); Captions is the sensitive-attribute filter every
	// caption passes (nil without an engine, like Memes, its only user: a
	// command that makes no memes does not parse its lexicons, which was
	// about 60% of a short CLI command's CPU).
	Drafts   *draft.Service
	Memes    *meme.Service
	Captions *textfilter.Filter
	// AnalysisGate bounds concurrent analyses (sync, suggestions, jobs);
	// DecodeGate bounds the megapixels of uploads decoded at once.
	AnalysisGate *guard.Gate
	DecodeGate   *guard.Gate
	Operator     *operator.Service

	// Provenance stamps generated images (C2PA manifest + watermark) and verifies them.
	Provenance *provenance.Service
	// Plugins is the installation's plugin registry and sandbox runtime.
	Plugins   *plugin.Registry
	pluginDir string
	// PluginRuns runs installed plugins on photos into drafts (nil
	// without an engine).
	PluginRuns *plugin.Runner
	// FL coordinates federated learning (issue 23).
	FL *fl.Coordinator
	// Analytics answers differentially private usage queries against
	// each tenant's privacy budget; analyses feed it contributions.
	Analytics *analytics.Service
}

// Open builds the graph. Close it when done.
func Open(ctx context.Context, o Options) (*Graph, error) {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	c, err := core.Open(ctx, core.Options{Config: o.Config, Getenv: o.Getenv, Clock: o.Clock, Log: o.Log})
	if err != nil {
		return nil, err
	}
	cfg, clk, log := c.Config, c.Clock, c.Log
	g := &Graph{Core: c}

	g.Tokens = upload.NewCodec(g.Keys.TokenAEAD())
	g.Kill = incident.NewSwitches(g.Store, clk, log)
	if g.Egress, err = egress.NewPolicy(cfg.EgressAllow); err != nil {
		g.Close()
		return nil, fault.Wrap(fault.Invalid, "egress-allow", err)
	}
	g.MetricsToken = o.Getenv("OBSCURA_METRICS_TOKEN")
	acfg := alert.DefaultConfig()
	acfg.Webhook, acfg.Secret, acfg.Egress = cfg.AlertWebhook, []byte(o.Getenv("OBSCURA_ALERT_SECRET")), g.Egress
	if acfg.Webhook != "" && g.Egress.CheckURL(acfg.Webhook) != nil {
		g.Close()
		return nil, fault.New(fault.Invalid, "alert webhook must be https to a public address (or on egress-allow)")
	}
	if acfg.Webhook != "" && len(acfg.Secret) < 16 {
		g.Close()
		return nil, fault.New(fault.Invalid, "alert webhook needs OBSCURA_ALERT_SECRET of at least 16 bytes")
	}
	g.Alerts = alert.New(acfg, g.Store, clk, log)

	// What revocation and expiry purge, through the registry (its kinds
	// are registered below, once built).
	g.Kinds = derived.New(g.Objects, g.Store, clk)
	g.Consents = consent.New(g.Store, g.Keys, g.Kinds, clk, log)
	g.Consents.OnExpired = func(ctx context.Context, tenant, subjectHash, purpose string) {
		if err := g.Audit.Append(ctx, audit.Entry{Action: "consent.expired", Tenant: tenant, Subject: subjectHash, Purpose: purpose, Result: audit.ResultOK}); err != nil {
			log.Error("audit consent expiry", "component", "wire", "err", err)
		}
	}
	if o.Getenv("OBSCURA_TEST_CRASH_POINT") == "after-revoke-recorded" {
		// Test hook for the crash-resumption test: die like kill -9 would.
		g.Consents.AfterRevokeRecorded = func() { os.Exit(86) }
	}
	g.AnalysisGate, g.DecodeGate = admissionGates(cfg)
	ucfg := upload.DefaultConfig()
	ucfg.OrphanGrace = cfg.OrphanGrace
	g.Uploads = upload.New(ucfg, g.Store, g.Objects, g.Keys, g.Tokens, clk).WithDecodeGate(g.DecodeGate)
	if o.Sanitizer != nil {
		g.Uploads.WithSanitizer(o.Sanitizer)
		if c, ok := o.Sanitizer.(interface{ OnCrashes(func(int)) }); ok {
			c.OnCrashes(g.onSandboxCrashes) // a crashing decoder may be an exploit attempt
		}
	}
	g.Extraction = guard.NewExtraction(guard.DefaultExtraction, clk, g.onExtractionFlag)
	// Throttled and blocked keys stay so across restarts.
	if err := g.Extraction.Restore(ctx, g.Store); err != nil {
		g.Close()
		return nil, err
	}

	ad := analysis.Deps{Objects: g.Objects, Results: g.Store, Audit: g.Audit, Hash: g.Keys, Clock: clk, Log: log,
		Retention: analysis.Retention{Analysis: cfg.RetainAnalysis}}
	fd := faces.Deps{Objects: g.Objects, Store: g.Store, Hash: g.Keys, Audit: g.Audit, Clock: clk, Log: log, TTL: cfg.SuggestionTTL}
	var eng Vision
	if o.Vision != nil {
		eng = o.Vision
	} else if o.Engine != nil {
		eng = o.Engine
	}
	if c, ok := eng.(interface{ OnCrashes(func(int)) }); ok {
		c.OnCrashes(g.onSandboxCrashes)
	}
	if eng != nil {
		squeezer := squeeze.New()
		ad.Guard, ad.Thumbnail = g.Extraction, guard.Thumbnail
		ad.Engine, ad.Assets, ad.Consent = eng, g.Uploads, g.Consents
		fd.Guard, fd.Thumbnail, fd.Squeezer, fd.OnAdversarial = g.Extraction, guard.Thumbnail, squeezer, g.onAdversarial
		fd.Engine, fd.Assets, fd.Consent = eng, g.Uploads, g.Consents
	}
	fd.GalleryLock = g.galleryLock()
	if g.Analytics, err = analytics.New(analytics.Deps{Store: g.Store, Consent: g.Consents, Assets: g.Uploads, Audit: g.Audit, Clock: clk, Log: log,
		Random: rand.Reader, Tags: centernet.Labels[:], Config: analytics.ConfigFrom(cfg.Analytics)}); err != nil {
		g.Close()
		return nil, err
	}
	ad.Contributions, fd.Usage = g.Analytics, g.Analytics
	g.Analyses = analysis.New(ad)
	g.Faces = faces.New(fd)
	g.Drafts = draft.New(draft.Deps{Store: g.Store, Objects: g.Objects, Hash: g.Keys, Audit: g.Audit, Clock: clk, Log: log,
		TTL: cfg.DraftTTL, Downloads: g.Uploads})
	g.Uploads.WithObjectSource(draft.IDPrefix, g.Drafts)
	g.Provenance = provenance.New(g.Keys, g.Store, clk, log, provenance.Options{Version: o.Version})
	g.Drafts.SetStamper(g.Provenance)
	g.Uploads.WithInspector(g.Provenance)
	if eng != nil { // the same vision (in process or the sandboxed workers) as analysis
		if g.Captions, err = textfilter.New(); err != nil {
			g.Close()
			return nil, fmt.Errorf("caption filter: %w", err)
		}
		g.Memes, err = meme.New(meme.Deps{Engine: eng, Assets: g.Uploads, Photos: g.Objects, Consent: g.Consents, Drafts: g.Drafts,
			Filter: meme.TextFilter{F: g.Captions}, Untrusted: textfilter.Untrusted, Names: g.taggedNames,
			Audit: g.Audit, Hash: g.Keys, Clock: clk, Log: log, Guard: g.Extraction, Thumbnail: guard.Thumbnail})
		if err != nil {
			g.Close()
			return nil, err
		}
	}
	g.Uploads.WithDerived(RegisterKinds(g.Kinds, g.Store, g.Objects, g.Analyses, g.Faces, g.Drafts, g.Consents, g.Analytics))

	g.Subjects = subject.New(g.Store, g.Objects, g.Kinds, g.Keys, g.Tokens, clk, 10*time.Minute)
	g.Purger = &incident.Purger{Store: g.Store, Subjects: g.Subjects, Photos: g.Uploads}
	g.Operator = operator.New(g.Store, g.Keys, g.Kill, g.Audit, clk, log).WithProvenance(g.Provenance)
	if g.FL, err = g.openFL(); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.openPlugins(ctx, o.Getenv, eng); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// RegisterKinds registers every kind of data kept about a subject with the
// derived-data registry, in the order forgets run them: what is derived
// from photos first, the photos last. A new generator's kind goes here
// (and into the kinds table of docs/architecture.md and derived_test.go).
func RegisterKinds(reg *derived.Registry, st store.Store, objects *sealed.Store, an *analysis.Service, fs *faces.Service, dr *draft.Service, cs *consent.Service, more ...derived.Kind) *derived.Registry {
	reg.Register(an, fs, dr)
	reg.Register(more...) // later generators' kinds (analytics…), before links, consents and photos
	return reg.Register(subject.Links{Store: st}, fl.Devices{Store: st}, cs, upload.Photos{Records: st, Objects: objects})
}

// taggedNames lists the names of the people a subject has tagged (their
// face gallery): the caption filter refuses captions naming them.
func (g *Graph) taggedNames(ctx context.Context, tenant, subjectHash string) ([]string, error) {
	people, err := g.Faces.People(ctx, tenant, subjectHash)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(people))
	for _, p := range people {
		names = append(names, p.Name)
	}
	return names, nil
}

// Close waits for alert deliveries, flushes the audit log and closes the store.
func (g *Graph) Close() error {
	if g.Alerts != nil {
		g.Alerts.Wait()
	}
	if g.Uploads != nil {
		g.Uploads.Wait() // inspections of answered uploads
	}
	if g.Plugins != nil {
		_ = g.Plugins.Runtime().Close(context.Background())
	}
	return g.Core.Close()
}

// Start runs what a long-lived process runs once before serving: it
// finishes purges a crash interrupted and loads the kill switches, then
// keeps them fresh until ctx ends.
func (g *Graph) Start(ctx context.Context) error {
	if n, err := g.Kinds.Resume(ctx); err != nil {
		return fmt.Errorf("resume interrupted forgets: %w", err)
	} else if n > 0 {
		g.Log.Warn("finished forgets interrupted by a previous crash", "component", "wire", "count", n)
	}
	if n, err := g.Consents.ResumePurges(ctx); err != nil {
		return fmt.Errorf("resume interrupted purges: %w", err)
	} else if n > 0 {
		g.Log.Warn("finished purges interrupted by a previous crash", "component", "wire", "count", n)
	}
	if err := g.Provenance.Init(ctx); err != nil {
		return fmt.Errorf("provenance CA: %w", err)
	}
	if err := g.Kill.Refresh(ctx); err != nil {
		return fmt.Errorf("read kill switches: %w", err)
	}
	go g.Kill.Run(ctx, g.killPoll())
	g.startShared(ctx)
	if n, err := g.FL.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		g.Log.Warn("federated rounds left open by a previous process were aborted", "component", "wire", "count", n)
	}
	go g.FL.Run(ctx, time.Second) // stalled federated rounds move on without a request
	if err := g.InstallBuiltinPlugins(ctx); err != nil {
		g.Log.Error("install built-in plugins", "component", "wire", "err", err)
	}
	return nil
}

// Queue opens the job queue on the same database; with worker it also runs
// the analysis workers and the periodic sweeps in this process.
func (g *Graph) Queue(ctx context.Context, worker bool) (*jobs.Queue, error) {
	return g.openQueue(ctx, filepath.Join(g.Config.Data, DBFile), jobs.Options{StartWorker: worker, Log: g.Log, Clock: g.Clock,
		Analyzer: gatedAnalyzer{g.Analyses, g.AnalysisGate}, Sweepers: g.sweepers(), SweepEvery: g.Config.SweepEvery,
		JobTimeout: g.Config.JobTimeout, RescueAfter: g.Config.JobRescueAfter,
		Code:          func(err error) string { return api.ProblemFor(err).Code },
		Kill:          func(tenant string) error { return g.Kill.Check(tenant, "analyze") },
		WebhookSecret: func(t string) []byte { return []byte(recognition.WebhookSecret(g.Keys, t)) },
		Egress:        g.Egress, IDKey: g.jobIDKey()})
}

// jobIDKey keys the queue's public job ids (internal/jobs id.go): derived
// from the keyring, so ids printed by `obscura import` and answered by
// `obscura serve` agree and survive restarts.
func (g *Graph) jobIDKey() []byte { return []byte(g.Keys.HashID("job-id", "installation")) }

// HTTP are the parts of the HTTP surface only the caller knows.
type HTTP struct {
	Registry  *prometheus.Registry // metrics (nil: a fresh registry)
	Version   string
	PublicURL string      // base URL of links (default http://<addr>)
	Jobs      *jobs.Queue // nil: asynchronous analysis is unavailable
	// Demo mounts the in-process demo page (loopback listeners only).
	Demo bool
	// MetricsElsewhere leaves /metrics off this handler: the caller serves
	// MetricsHandler on its own listener (config metrics_addr).
	MetricsElsewhere bool
}

// Handler assembles the HTTP surface: the /v1 API, the privacy center, the
// operator console and, with h.Demo, the demo page.
func (g *Graph) Handler(h HTTP) http.Handler {
	if h.Registry == nil {
		h.Registry = prometheus.NewRegistry()
	}
	if h.PublicURL == "" {
		h.PublicURL = "http://" + g.Config.Addr
	}
	clk, log := g.Clock, g.Log
	privacy := &webprivacy.Privacy{Tokens: g.Tokens, Store: g.Store, Drafts: g.Store, Consents: g.Consents, Subjects: g.Subjects, Gallery: g.Faces,
		Hash: g.Keys, Photos: g.Uploads, Results: g.Analyses, Generated: g.Drafts, Audit: g.Audit, Now: clk.Now, Log: log}
	deps := api.Deps{
		Store:       g.Store,
		Keys:        g.Keys,
		Auth:        auth.New(g.Store, g.Keys, clk),
		Clock:       clk,
		Log:         log,
		Registry:    h.Registry,
		Version:     h.Version,
		Uploads:     g.Uploads,
		Analysis:    g.Analyses,
		Faces:       g.Faces,
		Drafts:      g.Drafts,
		Provenance:  g.Provenance,
		PublicURL:   h.PublicURL,
		Consents:    g.Consents,
		Subjects:    g.Subjects,
		Privacy:     privacy,
		Operator:    g.Operator,
		FL:          g.FL,
		Audit:       g.Audit,
		AuditReader: g.Store,
		Kill:        g.Kill,
		Limiter:     g.rateLimiter(),
		Admission:   g.AnalysisGate,
		Alerts:      g.Alerts,
		AlertReader: g.Store,
		Ready:       g.writeProbes(),
		Analytics:   g.Analytics,
		// /metrics: a bearer token and/or its own listener.
		MetricsToken:     g.MetricsToken,
		MetricsElsewhere: h.MetricsElsewhere,
	}
	if h.Jobs != nil { // a nil *jobs.Queue in the interface would not read as absent
		deps.Jobs = h.Jobs
	}
	if g.Memes != nil {
		deps.Memes = g.Memes
	}
	if g.PluginRuns != nil {
		deps.Plugins = g.PluginRuns
	}
	apiHandler := api.New(deps).Handler()
	pages := privacy.Handler()
	console := (&webconsole.Console{Tokens: g.Tokens, Auth: auth.New(g.Store, g.Keys, clk), Kill: g.Kill, Store: g.Store, Audit: g.Audit, Alerts: g.Alerts,
		AuditKey: g.auditKey, Keys: g.Keys, Operator: g.Operator, Purge: g.Purger, Forensic: g.forensic, Now: clk.Now, Log: log,
		Plugins: g.Plugins, Analytics: g.Analytics}).Handler()
	top := http.NewServeMux()
	top.Handle("/privacy", pages)
	top.Handle("/privacy/", pages)
	top.Handle("/console", console)
	top.Handle("/console/", console)
	top.Handle("/console/static/", web.Static())
	top.Handle("/", apiHandler)
	var out http.Handler = web.PublicOrigin(h.PublicURL, top)
	if strings.HasPrefix(h.PublicURL, "https://") {
		out = web.BehindHTTPS(out)
	}
	if h.Demo {
		d := &webdemo.Demo{Ingest: g.Uploads, Consent: g.Consents, Analysis: g.Analyses, Photos: g.Uploads, Log: log, Drafts: g.Drafts}
		if g.Memes != nil {
			d.Memes = g.Memes
		}
		demo := d.Handler()
		mux := http.NewServeMux()
		mux.Handle("/demo", demo)
		mux.Handle("/demo/", demo)
		mux.Handle("/console/static/", demo)
		mux.Handle("/", out)
		out = mux
	}
	return out
}

// MetricsHandler serves /metrics alone (for its own listener), behind the
// bearer token when one is set.
func (g *Graph) MetricsHandler(reg *prometheus.Registry) http.Handler {
	return api.MetricsHandler(reg, g.MetricsToken)
}

// EnsureDemoTenant creates the demo tenant once (its API key is never
// shown: the demo page works in process).
func (g *Graph) EnsureDemoTenant(ctx context.Context) error {
	if _, err := g.Store.Tenant(ctx, webdemo.DemoTenant); err == nil {
		return nil
	} else if !errors.Is(err, fault.NotFound) {
		return err
	}
	now := g.Clock.Now().UTC()
	_, rec := auth.Mint(g.Keys, webdemo.DemoTenant, []auth.Scope{auth.ScopeAnalyze}, now)
	if err := g.Store.CreateTenant(ctx, store.Tenant{ID: webdemo.DemoTenant, Name: "Demo", CreatedAt: now}, rec); err != nil && !errors.Is(err, fault.Conflict) {
		return fmt.Errorf("create demo tenant: %w", err)
	}
	return g.Keys.InitTenant(ctx, webdemo.DemoTenant)
}

// auditKey is the installation's audit signing public key.
func (g *Graph) auditKey(ctx context.Context) (ed25519.PublicKey, error) {
	s, err := g.Keys.TenantSigner(ctx, "", "audit")
	if err != nil {
		return nil, err
	}
	return s.PublicKey(), nil
}

// forensic builds the signed forensic bundle of [from, to): the tenant's,
// or ("") the installation's.
func (g *Graph) forensic(ctx context.Context, tenant string, from, to time.Time) (incident.Bundle, error) {
	signer, err := g.Keys.TenantSigner(ctx, "", "audit")
	if err != nil {
		return incident.Bundle{}, err
	}
	cfg, err := json.Marshal(g.Config)
	if err != nil {
		return incident.Bundle{}, fmt.Errorf("encode configuration: %w", err)
	}
	if tenant == "" {
		return incident.Export(ctx, g.Store, signer, from, to, g.Clock.Now(), cfg)
	}
	return incident.ExportTenant(ctx, g.Store, signer, tenant, from, to, g.Clock.Now(), cfg)
}

// onExtractionFlag raises an alert and audits a model-extraction flag.
func (g *Graph) onExtractionFlag(f guard.Flag) {
	ctx := context.Background()
	sev := "warning"
	if f.State == guard.StateBlocked {
		sev = "critical"
	}
	g.Alerts.Raise(ctx, store.Alert{Rule: alert.RuleExtraction, Severity: sev, TenantID: f.Tenant, Detail: f.Detail()})
	if err := g.Audit.Append(ctx, audit.Entry{Action: "guard.extraction", Tenant: f.Tenant, Actor: f.Key, Result: f.State, Detail: f.Detail()}); err != nil {
		g.Log.Error("audit extraction flag", "component", "wire", "err", err)
	}
}

// onAdversarial raises an alert and audits a face the squeezer flagged (its
// embedding was neither stored nor matched).
func (g *Graph) onAdversarial(ctx context.Context, tenant, key string, score float64) {
	detail := fmt.Sprintf("squeeze=%.4f", score)
	g.Alerts.Raise(ctx, store.Alert{Rule: alert.RuleAdversarial, Severity: "warning", TenantID: tenant, Detail: detail})
	if err := g.Audit.Append(ctx, audit.Entry{Action: "guard.adversarial", Tenant: tenant, Actor: key, Result: "withheld", Detail: detail}); err != nil {
		g.Log.Error("audit adversarial input", "component", "wire", "err", err)
	}
}

// onSandboxCrashes raises the alert for repeated worker failures.
func (g *Graph) onSandboxCrashes(n int) {
	g.Alerts.Raise(context.Background(), store.Alert{Rule: alert.RuleSandboxCrashes, Severity: "critical",
		Detail: fmt.Sprintf("failures=%d in %s", n, "10m")})
}

// writeProbes are the readiness checks that the store and the blob
// directory can be written now (issue 17.2: a full disk makes /readyz 503
// until there is room again, without a restart). A blob store without a
// probe (S3) is left to its own health.
func (g *Graph) writeProbes() []func(context.Context) error {
	probes := []func(context.Context) error{func(ctx context.Context) error { return g.Store.ProbeWrite(ctx, g.Clock.Now()) }}
	if p, ok := g.Blobs.(interface{ Probe(context.Context) error }); ok {
		probes = append(probes, p.Probe)
	}
	return probes
}
