package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/wire"
)

func (a *app) serveCmd() *cobra.Command {
	var insecure bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API server on the embedded default (SQLite, local key service)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.serve(ctx, insecure)
		},
	}
	insecureFlag(cmd, &insecure)
	cmd.Flags().String("addr", a.cfg.Addr, "listen address (env OBSCURA_ADDR)")
	cmd.Flags().String("public-url", "", "base URL of upload/download links (env OBSCURA_PUBLIC_URL; default http://<addr>)")
	cmd.Flags().String("role", a.cfg.Role, "all, api (HTTP; jobs are queued for jobs nodes) or jobs (queued work; /healthz and /readyz only); api and jobs need database_url (env OBSCURA_ROLE)")
	return cmd
}

func (a *app) serve(ctx context.Context, insecure bool) error {
	if err := wire.CheckRole(a.cfg); err != nil {
		return err // before anything starts or is created
	}
	// The sandboxed workers start first and verify and load the models: a
	// kernel without the sandbox, or a tampered or missing model, stops the
	// server before it touches any data.
	pool, err := a.startPool(ctx, sandboxWorkers, true, insecure)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Uploads are sanitized in their own workers (lanes.go).
	sanitizers, err := a.startPool(ctx, sanitizeWorkers, false, insecure)
	if err != nil {
		return err
	}
	defer sanitizers.Close()
	a.install = true
	g, err := a.openSandboxed(ctx, pool, sanitizers)
	if err != nil {
		return err
	}
	defer g.Close()
	role := a.cfg.Role
	if err := g.Start(ctx); err != nil {
		return err
	}
	// api nodes queue jobs for the jobs nodes and work none.
	queue, err := g.Queue(ctx, role != config.RoleAPI)
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	demo := demoAllowed(a.cfg.Addr) && role != config.RoleJobs
	if demo {
		if err := g.EnsureDemoTenant(ctx); err != nil {
			return err
		}
	}
	hh := wire.HTTP{Registry: reg, Version: version, PublicURL: a.cfg.PublicURL, Jobs: queue, Demo: demo, MetricsElsewhere: a.cfg.MetricsAddr != ""}
	var h http.Handler
	if role == config.RoleJobs {
		h = g.ProbesHandler(hh) // a jobs node answers its health probes only
	} else {
		h = g.Handler(hh)
	}
	if a.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		msrv := &http.Server{Handler: g.MetricsHandler(reg), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		go msrv.Serve(mln)
		defer msrv.Close()
		a.log.Info("metrics on a separate listener", "component", "serve", "addr", mln.Addr().String())
	}
	if demo {
		a.log.Info("demo page on /demo (loopback clients only)", "component", "serve")
	}

	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	log.SetOutput(slog.NewLogLogger(a.log.Handler(), slog.LevelInfo).Writer()) // libraries using package log
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn), // net/http errors, redacted
	}
	a.log.Info("serving", "component", "serve", "addr", ln.Addr().String(), "data", a.cfg.Data, "version", version, "role", role)
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
