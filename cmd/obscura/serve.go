package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/alert"
	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/api"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/web"
)

func (a *app) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server on the embedded default (SQLite, local key service)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.serve(ctx)
		},
	}
	cmd.Flags().String("addr", a.cfg.Addr, "listen address (env OBSCURA_ADDR)")
	cmd.Flags().String("public-url", "", "base URL of upload/download links (env OBSCURA_PUBLIC_URL; default http://<addr>)")
	return cmd
}

func (a *app) serve(ctx context.Context) error {
	// The models are verified and loaded first: a tampered or missing model
	// stops the server before it touches any data.
	eng, err := a.openEngine()
	if err != nil {
		return fmt.Errorf("vision engine: %w", err)
	}
	defer eng.Close()
	svc, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer svc.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	publicURL := a.cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + a.cfg.Addr
	}
	kinds := derived.New(svc.objects, svc.store, a.clk)
	consents := consent.New(svc.store, svc.keys, kinds, a.clk, a.log)
	if a.getenv("OBSCURA_TEST_CRASH_POINT") == "after-revoke-recorded" {
		// Test hook for the crash-resumption test: die like kill -9 would.
		consents.AfterRevokeRecorded = func() { os.Exit(86) }
	}
	tokens := upload.NewCodec(svc.keys.TokenAEAD())
	kill := incident.NewSwitches(svc.store, a.clk, a.log)
	if err := kill.Refresh(ctx); err != nil {
		return fmt.Errorf("read kill switches: %w", err)
	}
	go kill.Run(ctx, time.Second)
	acfg := alert.DefaultConfig()
	acfg.Webhook, acfg.Secret = a.cfg.AlertWebhook, []byte(a.getenv("OBSCURA_ALERT_SECRET"))
	if acfg.Webhook != "" && len(acfg.Secret) < 16 {
		return fault.New(fault.Invalid, "alert webhook needs OBSCURA_ALERT_SECRET of at least 16 bytes")
	}
	alerts := alert.New(acfg, svc.store, a.clk, a.log)
	defer alerts.Wait()
	uploads := upload.New(upload.DefaultConfig(), svc.store, svc.objects, svc.keys, tokens, a.clk)
	extraction := guard.NewExtraction(guard.DefaultExtraction, a.clk, func(f guard.Flag) {
		sev := "warning"
		if f.State == guard.StateBlocked {
			sev = "critical"
		}
		alerts.Raise(ctx, store.Alert{Rule: alert.RuleExtraction, Severity: sev, TenantID: f.Tenant, Detail: f.Detail()})
		if err := svc.audit.Append(ctx, audit.Entry{Action: "guard.extraction", Tenant: f.Tenant, Actor: f.Key, Result: f.State, Detail: f.Detail()}); err != nil {
			a.log.Error("audit extraction flag", "component", "serve", "err", err)
		}
	})
	squeezer := guard.NewFaceSqueezer(eng.FaceEmbedder())
	onAdversarial := func(ctx context.Context, tenant, key string, score float64) {
		detail := fmt.Sprintf("squeeze=%.4f threshold=%.3f", score, guard.DefaultFaceSqueezeThreshold)
		alerts.Raise(ctx, store.Alert{Rule: alert.RuleAdversarial, Severity: "warning", TenantID: tenant, Detail: detail})
		if err := svc.audit.Append(ctx, audit.Entry{Action: "guard.adversarial", Tenant: tenant, Actor: key, Result: "rejected", Detail: detail}); err != nil {
			a.log.Error("audit adversarial input", "component", "serve", "err", err)
		}
	}
	analyses := analysis.New(analysis.Deps{Guard: extraction, Thumbnail: guard.Thumbnail, Engine: eng, Assets: uploads, Objects: svc.objects, Consent: consents,
		Results: svc.store, Audit: svc.audit, Hash: svc.keys, Clock: a.clk, Log: a.log, Retention: analysis.Retention{Analysis: a.cfg.RetainAnalysis}})
	faceTags := faces.New(faces.Deps{Guard: extraction, Thumbnail: guard.Thumbnail,
		Squeezer: squeezer, OnAdversarial: onAdversarial, Engine: eng, Assets: uploads, Objects: svc.objects, Consent: consents, Store: svc.store,
		Hash: svc.keys, Audit: svc.audit, Clock: a.clk, Log: a.log, TTL: a.cfg.SuggestionTTL})
	uploads.WithDerived(registerKinds(kinds, svc, analyses, faceTags, consents))
	if n, err := kinds.Resume(ctx); err != nil {
		return fmt.Errorf("resume interrupted forgets: %w", err)
	} else if n > 0 {
		a.log.Warn("finished forgets interrupted by a previous crash", "component", "serve", "count", n)
	}
	if n, err := consents.ResumePurges(ctx); err != nil {
		return fmt.Errorf("resume interrupted purges: %w", err)
	} else if n > 0 {
		a.log.Warn("finished purges interrupted by a previous crash", "component", "serve", "count", n)
	}
	queue, err := jobs.Open(ctx, a.cfg.Data+"/obscura.db", jobs.Options{StartWorker: true, Log: a.log,
		Analyzer: analyses, Sweepers: []jobs.Sweeper{kinds}, SweepEvery: a.cfg.SweepEvery,
		Code:          func(err error) string { return api.ProblemFor(err).Code },
		Kill:          func(tenant string) error { return kill.Check(tenant, "analyze") },
		WebhookSecret: func(t string) []byte { return []byte(api.WebhookSecret(svc.keys, t)) }})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		if err := queue.Close(sctx); err != nil {
			a.log.Error("stop job queue", "component", "serve", "err", err)
		}
	}()
	subjectsSvc := subject.New(svc.store, svc.objects, kinds, svc.keys, tokens, a.clk, 10*time.Minute)
	privacy := &web.Privacy{Tokens: tokens, Store: svc.store, Drafts: svc.store, Consents: consents, Subjects: subjectsSvc, Gallery: faceTags,
		Hash: svc.keys, Photos: uploads, Results: analyses, Audit: svc.audit, Now: a.clk.Now, Log: a.log}
	h := api.New(api.Deps{
		Store:       svc.store,
		Keys:        svc.keys,
		Auth:        auth.New(svc.store, svc.keys, a.clk),
		Clock:       a.clk,
		Log:         a.log,
		Registry:    reg,
		Version:     version,
		Uploads:     uploads,
		Analysis:    analyses,
		Faces:       faceTags,
		Jobs:        queue,
		PublicURL:   publicURL,
		Consents:    consents,
		Subjects:    subjectsSvc,
		Privacy:     privacy,
		Audit:       svc.audit,
		AuditReader: svc.store,
		Kill:        kill,
		Limiter:     guard.NewLimiter(a.cfg.RateLimits, a.clk),
		Alerts:      alerts,
		AlertReader: svc.store,
	}).Handler()
	{
		pages := privacy.Handler()
		console := (&web.Console{Tokens: tokens, Auth: auth.New(svc.store, svc.keys, a.clk), Kill: kill, Store: svc.store, Audit: svc.audit, Alerts: alerts,
			AuditKey: func(ctx context.Context) (ed25519.PublicKey, error) {
				s, err := svc.keys.TenantSigner(ctx, "", "audit")
				if err != nil {
					return nil, err
				}
				return s.PublicKey(), nil
			},
			Keys:  svc.keys,
			Purge: &incident.Purger{Store: svc.store, Subjects: subjectsSvc, Photos: uploads},
			Forensic: func(ctx context.Context, tenant string, from, to time.Time) (incident.Bundle, error) {
				signer, err := svc.keys.TenantSigner(ctx, "", "audit")
				if err != nil {
					return incident.Bundle{}, err
				}
				cfg, _ := json.Marshal(a.cfg)
				if tenant == "" {
					return incident.Export(ctx, svc.store, signer, from, to, a.clk.Now(), cfg)
				}
				return incident.ExportTenant(ctx, svc.store, signer, tenant, from, to, a.clk.Now(), cfg)
			},
			Now: a.clk.Now, Log: a.log}).Handler()
		top := http.NewServeMux()
		top.Handle("/privacy", pages)
		top.Handle("/privacy/", pages)
		top.Handle("/console", console)
		top.Handle("/console/", console)
		top.Handle("/console/static/", (&web.Demo{Log: a.log}).Static())
		top.Handle("/", h)
		h = top
		if strings.HasPrefix(publicURL, "https://") {
			h = web.BehindHTTPS(h)
		}
	}
	if demoAllowed(a.cfg.Addr) {
		if err := ensureDemoTenant(ctx, a, svc); err != nil {
			return err
		}
		demo := (&web.Demo{Ingest: uploads, Consent: consents, Analysis: analyses, Photos: uploads, Log: a.log}).Handler()
		top := http.NewServeMux()
		top.Handle("/demo", demo)
		top.Handle("/demo/", demo)
		top.Handle("/console/static/", demo)
		top.Handle("/", h)
		h = top
		a.log.Info("demo page on /demo (loopback clients only)", "component", "serve")
	}

	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          nil,
	}
	a.log.Info("serving", "component", "serve", "addr", ln.Addr().String(), "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "component", "serve")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped", "component", "serve")
	return nil
}

// demoAllowed: the demo page is on by default only when the server
// listens on a loopback address.
func demoAllowed(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ensureDemoTenant creates the demo tenant once (its API key is never
// shown: the demo page works in process).
func ensureDemoTenant(ctx context.Context, a *app, svc *services) error {
	if _, err := svc.store.Tenant(ctx, web.DemoTenant); err == nil {
		return nil
	} else if !errors.Is(err, fault.NotFound) {
		return err
	}
	now := a.clk.Now().UTC()
	_, rec := auth.Mint(svc.keys, web.DemoTenant, []auth.Scope{auth.ScopeAnalyze}, now)
	if err := svc.store.CreateTenant(ctx, store.Tenant{ID: web.DemoTenant, Name: "Demo", CreatedAt: now}, rec); err != nil && !errors.Is(err, fault.Conflict) {
		return fmt.Errorf("create demo tenant: %w", err)
	}
	return svc.keys.InitTenant(ctx, web.DemoTenant)
}
