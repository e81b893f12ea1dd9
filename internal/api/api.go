// Package api is Obscura's HTTP API: the /v1 operations (registered with huma,
// which generates the OpenAPI 3.1 document served at /openapi.yaml), health
// and readiness probes, Prometheus metrics, and the one table that maps
// errors to RFC 9457 problem+json responses with stable codes.
//
// Every /v1 operation declares the API key scope it needs; the auth
// middleware rejects requests before any handler runs, and handlers read the
// tenant only from the authenticated principal, so a tenant id never comes
// from the request. Logs and metrics carry route templates, never ids.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/api/admin"
	"github.com/obscuraproject/obscura/internal/api/consents"
	"github.com/obscuraproject/obscura/internal/api/generated"
	"github.com/obscuraproject/obscura/internal/api/learning"
	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/api/photos"
	"github.com/obscuraproject/obscura/internal/api/recognition"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/store"
)

func init() { hookHumaErrors() }

// tenantStore is what the API needs from the metadata store.
type tenantStore interface {
	Tenant(ctx context.Context, id string) (store.Tenant, error)
	store.APIKeys
	Ping(ctx context.Context) error
}

// keyService is what the API needs from the key service.
type keyService interface {
	Ping(ctx context.Context) error
	HashID(domain, id string) string
}

// authenticator verifies Authorization headers.
type authenticator interface {
	Authenticate(ctx context.Context, header string) (auth.Principal, error)
}

// Deps are the API's collaborators, wired by cmd/obscura.
type Deps struct {
	Store    tenantStore
	Keys     keyService
	Auth     authenticator
	Clock    clock.Clock
	Log      *slog.Logger
	Registry *prometheus.Registry
	Version  string
	// Uploads is the ingest pipeline; nil leaves the asset routes out.
	Uploads photos.UploadService
	// PublicURL is the base of upload and download URLs, e.g. https://obscura.example.
	PublicURL string
	// Consents and Subjects serve consent and subject rights; nil leaves them out.
	Consents consents.ConsentService
	Subjects consents.SubjectService
	// Audit receives an entry for every /v1 operation; nil disables auditing.
	Audit auditLog
	// AuditReader serves GET /v1/admin/audit.
	AuditReader auditReader
	// Kill is the incident kill switch; nil means none.
	Kill killSwitch
	// Limiter rate-limits authenticated operations per key and per tenant
	// (by the operation's rate class), and uploads per tenant and per
	// client address; nil means none.
	Limiter rateLimiter
	// Admission bounds concurrent synchronous analyses (analyze, face-tag
	// suggestions) with a queue; a full queue answers 503 overloaded. Nil
	// admits everything.
	Admission admission
	// Alerts observes every audited operation; AlertReader serves GET /v1/admin/alerts.
	Alerts      alertSink
	AlertReader alertReader
	Analysis    recognition.AnalysisService
	Faces       recognition.FaceService
	Jobs        recognition.JobQueue
	Privacy     consents.PrivacyLinks
	// Drafts keeps generated images (package draft); nil leaves the draft
	// routes out.
	Drafts generated.DraftService
	// Provenance verifies generated images; nil leaves POST
	// /v1/provenance/verify out.
	Provenance generated.ProvenanceService
	// Memes makes meme drafts and checks captions; nil leaves those routes out.
	Memes generated.MemeService
	// Plugins lists and runs installed plugins (package plugin); nil
	// leaves the plugin routes out.
	Plugins generated.PluginService
	// Operator performs the operator actions (API keys, kill switch),
	// audited as every channel audits them; nil leaves those routes out.
	Operator admin.OperatorActions
	// FL coordinates federated learning; nil leaves its routes out.
	FL learning.FLService
	// MetricsToken, if set, is the bearer token GET /metrics requires.
	MetricsToken string
	// MetricsElsewhere leaves /metrics off this handler (it is served on
	// its own listen address through MetricsHandler).
	MetricsElsewhere bool
	// Analytics answers differentially private queries; nil leaves
	// /v1/analytics out.
	Analytics learning.AnalyticsService
	// Ready are extra readiness checks (write probes of the store and the
	// blob directory); /readyz answers 503 while any fails.
	Ready []func(ctx context.Context) error
}

// rateLimiter is what the API needs from the guard.
type rateLimiter interface {
	Allow(tenant, key, class string) error
	AllowAddr(addr, class string) error
}

// admission is what the API needs from an admission gate (guard.Gate).
type admission interface {
	Admit(ctx context.Context, n int64) (func(), error)
}

// admit holds one unit of the analysis admission gate for the duration of
// an expensive operation; release it when done.
func (a *API) admit(ctx context.Context) (func(), error) {
	if a.d.Admission == nil {
		return func() {}, nil
	}
	return a.d.Admission.Admit(ctx, 1)
}

// killSwitch is what the API needs from the incident kill switch.
type killSwitch interface {
	Check(tenant, feature string) error
	Set(ctx context.Context, tenant, feature string, on bool) (string, error)
	Active() []string
}

// API is the HTTP API.
type API struct {
	d       Deps
	log     *slog.Logger
	mux     *http.ServeMux
	huma    huma.API
	metrics *metrics
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	authFail prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obscura_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "obscura_http_request_duration_seconds", Help: "HTTP request latency by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		authFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obscura_auth_failures_total", Help: "Requests rejected for missing or invalid credentials.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.authFail)
	return m
}

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }

// SecurityScheme is the OpenAPI name of the bearer API key scheme.
const SecurityScheme = op.SecurityScheme

// New builds the API and registers every operation.
func New(d Deps) *API {
	a := &API{d: d, log: d.Log.With("component", "api"), mux: http.NewServeMux(), metrics: newMetrics(d.Registry)}
	cfg := huma.DefaultConfig("Obscura API", d.Version)
	cfg.CreateHooks = nil // no $schema links in bodies
	cfg.DocsPath = ""     // the docs renderer loads third-party scripts; serve only the document
	cfg.Info.Description = "Privacy-first image recognition. Errors are RFC 9457 problem+json with a stable `code`."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		SecurityScheme: {Type: "http", Scheme: "bearer", Description: "An Obscura API key: `Authorization: Bearer obs_…`"},
	}
	// A copy: DefaultConfig's Formats is huma's package-level DefaultFormats,
	// which every New would otherwise wrap once more (and two at once race on).
	formats := make(map[string]huma.Format, len(cfg.Formats))
	for name, f := range cfg.Formats {
		if name == "application/json" || name == "json" {
			f = strictJSONFormat(f)
		}
		formats[name] = f
	}
	cfg.Formats = formats
	a.huma = humago.New(a.mux, cfg)
	a.huma.UseMiddleware(a.auditOps, a.authenticate, a.rateLimit, a.killSwitch, a.auditIntent)
	a.huma.OpenAPI().Components.Schemas.Schema(reflectType[Problem](), true, "")
	h := host{a}
	ad := admin.Deps{Store: d.Store, Operator: d.Operator, Kill: d.Kill}
	rd := recognition.Deps{Analysis: d.Analysis, Jobs: d.Jobs, Faces: d.Faces}
	gd := generated.Deps{Drafts: d.Drafts, Memes: d.Memes, Plugins: d.Plugins, Provenance: d.Provenance, Kill: d.Kill}
	cd := consents.Deps{Consents: d.Consents, Subjects: d.Subjects, Privacy: d.Privacy}
	ld := learning.Deps{FL: d.FL, Analytics: d.Analytics}
	// A service's routes exist only when the service is wired; the
	// registrations marked true check what they need themselves.
	for _, r := range []struct {
		wired    bool
		register func()
	}{
		{true, a.registerSystem},
		{true, func() { admin.RegisterTenant(h, ad) }},
		{d.Uploads != nil, func() { photos.RegisterAssets(h, photos.Deps{Uploads: d.Uploads, Kill: d.Kill, Limiter: d.Limiter}) }},
		{d.Analysis != nil, func() { recognition.RegisterAnalysis(h, rd) }},
		{d.Faces != nil, func() { recognition.RegisterFaces(h, rd) }},
		{d.Drafts != nil, func() { generated.RegisterDrafts(h, gd) }},
		{d.Provenance != nil, func() { generated.RegisterProvenance(h, gd) }},
		{d.Memes != nil, func() { generated.RegisterMemes(h, gd) }},
		{d.Plugins != nil, func() { generated.RegisterPlugins(h, gd) }},
		{true, func() { consents.RegisterPrivacy(h, cd) }},
		{true, func() { consents.RegisterConsent(h, cd) }},
		{true, a.registerAudit},
		{true, func() { admin.RegisterIncident(h, ad) }},
		{true, a.registerAlerts},
		{d.FL != nil, func() { learning.RegisterFL(h, ld) }},
		{d.Analytics != nil, func() { learning.RegisterAnalytics(h, ld) }},
	} {
		if r.wired {
			r.register()
		}
	}
	if !d.MetricsElsewhere {
		a.mux.Handle("GET /metrics", a.MetricsHandler())
	}
	a.mux.HandleFunc("/", a.noRoute)
	return a
}

// OpenAPI returns the generated OpenAPI document.
func (a *API) OpenAPI() *huma.OpenAPI { return a.huma.OpenAPI() }

// Handler returns the whole HTTP handler: recovery, logging and metrics,
// security headers, then the routes.
func (a *API) Handler() http.Handler {
	return a.observe(securityHeaders(a.mux))
}

// scopeOf returns the scope an operation requires, or "" for public ones.
func scopeOf(op *huma.Operation) auth.Scope {
	for _, req := range op.Security {
		for _, scopes := range req {
			if len(scopes) > 0 {
				return auth.Scope(scopes[0])
			}
		}
	}
	return ""
}

// authenticate is the huma middleware that enforces each operation's scope.
func (a *API) authenticate(ctx huma.Context, next func(huma.Context)) {
	want := scopeOf(ctx.Operation())
	if want == "" {
		next(ctx)
		return
	}
	p, err := a.d.Auth.Authenticate(ctx.Context(), ctx.Header("Authorization"))
	if err != nil {
		a.metrics.authFail.Inc()
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="obscura"`)
		a.writeErr(ctx, err)
		return
	}
	if !p.Has(want) {
		a.writeErr(ctx, fmt.Errorf("operation needs %s: %w", want, auth.ErrForbidden))
		return
	}
	if h := holderFrom(ctx.Context()); h != nil {
		h.tenant, h.actor = p.TenantID, p.KeyID
	}
	next(huma.WithContext(ctx, op.WithPrincipal(ctx.Context(), p)))
}

// rateLimit applies the per-key and tenant-wide limits of the operation's
// class (operation metadata "rate_class", default "api") to authenticated
// operations.
func (a *API) rateLimit(ctx huma.Context, next func(huma.Context)) {
	p := principal(ctx.Context())
	if a.d.Limiter == nil || p.KeyID == "" {
		next(ctx)
		return
	}
	if err := a.d.Limiter.Allow(p.TenantID, p.KeyID, rateClass(ctx.Operation())); err != nil {
		a.writeErr(ctx, err)
		return
	}
	next(ctx)
}

// rateClass is an operation's rate class: metadata "rate_class", or
// guard.ClassAPI.
func rateClass(op *huma.Operation) string {
	if class, _ := op.Metadata["rate_class"].(string); class != "" {
		return class
	}
	return guard.ClassAPI
}

// killSwitch refuses operations whose feature (operation metadata
// "feature") is stopped for the caller's tenant.
func (a *API) killSwitch(ctx huma.Context, next func(huma.Context)) {
	if f, _ := ctx.Operation().Metadata["feature"].(string); f != "" && a.d.Kill != nil {
		if err := a.d.Kill.Check(principal(ctx.Context()).TenantID, f); err != nil {
			a.writeErr(ctx, err)
			return
		}
	}
	next(ctx)
}

func principal(ctx context.Context) auth.Principal { return op.Principal(ctx) }

func (a *API) writeErr(ctx huma.Context, err error) {
	p := a.problem(ctx.Context(), err)
	for k, v := range p.headers {
		ctx.SetHeader(k, v[0])
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	if err := jsonEncode(ctx.BodyWriter(), p); err != nil {
		a.log.Warn("write problem", "err", err)
	}
}

// problem maps err and logs internal ones.
func (a *API) problem(ctx context.Context, err error) *Problem {
	p := ProblemFor(err)
	if h := holderFrom(ctx); h != nil {
		h.code = p.Code
	}
	if p.Status >= 500 {
		a.log.ErrorContext(ctx, "request failed", "code", p.Code, "err", err)
	}
	return p
}

// fail converts a handler error into the problem huma writes.
func (a *API) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return a.problem(ctx, err)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe recovers panics and records each request in the log and metrics
// under its route template (never the concrete path, which holds ids).
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.d.Clock.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, newProblem(kindTable[fault.Other], "internal error"))
				}
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			d := a.d.Clock.Now().Sub(start)
			a.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			a.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			a.log.Info("request", "route", route, "method", r.Method, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", float64(d)/float64(time.Millisecond))
		}()
		next.ServeHTTP(sw, r)
	})
}
