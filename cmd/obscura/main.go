// Command obscura is the Obscura server and operator CLI. It is the only
// place that builds the whole object graph: it resolves configuration, opens
// the store and the key service, and hands them to the packages that use them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/redact"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// app is the state shared by every command.
type app struct {
	cfg        config.Config
	configFile string
	jsonOut    bool
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	log        *slog.Logger
	clk        clock.Clock
	// install lets open create an installation in an empty data dir
	// (serve, init); every other command needs an existing one.
	install bool
}

// run executes the CLI and returns the exit code. Errors are one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{cfg: config.Default(), stdout: stdout, stderr: stderr, getenv: getenv, clk: clock.System{}}
	if clockOverride != nil {
		if c := clockOverride(getenv); c != nil {
			a.clk = c
		}
	}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		code := 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, errAlreadyReported) {
			msg := strings.ReplaceAll(err.Error(), "\n", " ")
			fmt.Fprintf(stderr, "obscura: %s\n", msg)
		}
		return code
	}
	return 0
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "obscura",
		Short:         "Privacy-first image recognition backend",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.resolve(cmd.Flags(), cmd.Name() == "serve")
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "YAML config file (env OBSCURA_CONFIG)")
	pf.String("data", a.cfg.Data, "data directory (env OBSCURA_DATA)")
	pf.String("log-level", a.cfg.LogLevel, "debug, info, warn or error (env OBSCURA_LOG_LEVEL)")
	pf.BoolVar(&a.jsonOut, "json", false, "machine-readable output")
	root.AddCommand(a.serveCmd(), a.tenantCmd(), a.keysCmd(), a.objectCmd(), a.importCmd(), a.consentCmd(), a.auditCmd(), a.incidentCmd(), a.modelsCmd(), a.analyzeCmd(), a.facesCmd(), a.benchCmd(), a.consoleCmd(), a.versionCmd(), a.initCmd(), a.flCmd(), a.workerCmd(), a.pluginCmd(), a.analyticsCmd(), a.provenanceCmd(), a.storeCmd())
	return root
}

// resolve applies file, env and explicitly set flags, in that order. The
// server logs at the configured level; a one-shot command's stderr carries
// only warnings (errors with --json, whose stdout is only JSON) unless a
// level was asked for with --log-level, OBSCURA_LOG_LEVEL or the file.
func (a *app) resolve(fs *pflag.FlagSet, server bool) error {
	if a.configFile == "" {
		a.configFile = a.getenv("OBSCURA_CONFIG")
	}
	if a.configFile != "" {
		if err := a.cfg.LoadFile(a.configFile); err != nil {
			return err
		}
	}
	if err := a.cfg.LoadEnv(a.getenv); err != nil {
		return err
	}
	var err error
	fs.Visit(func(f *pflag.Flag) {
		for _, s := range config.Settings {
			if s.Flag == f.Name && err == nil {
				err = a.cfg.Set(f.Name, f.Value.String())
			}
		}
	})
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.cfg.LogLevel)); err != nil {
		return err
	}
	asked := fs.Changed("log-level") || a.getenv("OBSCURA_LOG_LEVEL") != "" || a.cfg.LogLevel != config.Default().LogLevel
	switch {
	case server || asked:
	case a.jsonOut:
		level = slog.LevelError
	default:
		level = max(level, slog.LevelWarn)
	}
	// Every record, from Obscura or a library (the job queue logs job
	// errors, webhook URLs included), passes the redacting handler.
	a.log = slog.New(redact.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

// record appends a CLI action to the audit log (actor "cli"). A failed
// append fails the command: operator actions must leave a trace.
func (a *app) record(ctx context.Context, svc *wire.Graph, e audit.Entry) error {
	if e.Actor == "" {
		e.Actor = "cli"
	}
	if e.Result == "" {
		e.Result = audit.ResultOK
	}
	if err := svc.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// open builds the object graph (without the models) in the composition root.
func (a *app) open(ctx context.Context) (*wire.Graph, error) {
	return a.openWith(ctx, nil)
}

// openWith builds the object graph with the vision engine eng (nil: none).
// Only serve and init (a.install) may create an installation.
func (a *app) openWith(ctx context.Context, eng *vision.Engine) (*wire.Graph, error) {
	if err := a.checkInstallation(a.install); err != nil {
		return nil, err
	}
	return wire.Open(ctx, wire.Options{Config: a.cfg, Getenv: a.getenv, Clock: a.clk, Log: a.log, Engine: eng, Version: version})
}

// printJSONOrText writes v as JSON with --json, else the text.
func (a *app) print(v any, text string) error {
	if a.jsonOut {
		return writeJSON(a.stdout, v)
	}
	_, err := fmt.Fprintln(a.stdout, text)
	return err
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.print(map[string]string{"version": version}, "obscura "+version)
		},
	}
}

// withServices opens the data dir, runs fn and closes everything.
func (a *app) withServices(cmd *cobra.Command, fn func(ctx context.Context, svc *wire.Graph) error) error {
	ctx := cmd.Context()
	svc, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer svc.Close()
	return fn(ctx, svc)
}
