package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/fl/flsim"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/tenant"
	"github.com/obscuraproject/obscura/internal/wire"
	sdk "github.com/obscuraproject/obscura/sdk/fl"
)

func (a *app) flCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "fl", Short: "Federated learning: simulate a training, roll back a task's model"}
	cmd.AddCommand(a.flSimulateCmd(), a.flRollbackCmd(), a.flClientCmd())
	return cmd
}

func (a *app) flRollbackCmd() *cobra.Command {
	var tenantID string
	c := &cobra.Command{
		Use: "rollback TASK", Short: "Make the previous model version of a task current again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantID == "" {
				return errors.New("--tenant is required")
			}
			return a.withServices(cmd, func(ctx context.Context, g *wire.Graph) error {
				v, err := g.FL.Rollback(ctx, tenantID, args[0])
				if err != nil {
					return err
				}
				return a.print(map[string]any{"task": args[0], "version": v}, fmt.Sprintf("task %s: version %d is current", args[0], v))
			})
		},
	}
	c.Flags().StringVar(&tenantID, "tenant", "", "tenant id")
	return c
}

func (a *app) flSimulateCmd() *cobra.Command {
	var o flsim.Options
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Train the scene task end to end: real devices over HTTP against an in-process server, with secure aggregation and DP",
		Long: "simulate creates a throw-away installation, starts the real API on 127.0.0.1, enrols one device per simulated subject\n" +
			"(each granting federated_learning), creates the scene task (seed model from 3 examples per class, canary set held out)\n" +
			"and runs the rounds with real clients over HTTP. It reports the held-out accuracy of the seed model, of each round's\n" +
			"current model and of the same model trained centrally on the union of the clients' data, and the privacy spent.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := a.simulate(cmd.Context(), o)
			if err != nil {
				return err
			}
			return a.print(rep, rep.String())
		},
	}
	f := c.Flags()
	f.IntVar(&o.Clients, "clients", 20, "simulated devices (one subject each)")
	f.IntVar(&o.Rounds, "rounds", 5, "rounds")
	f.IntVar(&o.Hidden, "hidden", 32, "hidden units of the head (0: logistic regression)")
	f.Float64Var(&o.Dropout, "dropout", 0, "fraction of clients that go offline mid-round, each round")
	f.IntVar(&o.Malicious, "malicious", 0, "clients sending boosted (×20, sign-flipped, unclipped) updates")
	f.BoolVar(&o.NoCanary, "no-canary", false, "publish every candidate (to see what the canary check prevents)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the data split and the seed model")
	f.Float64Var(&o.Noise, "noise", 0.3, "noise multiplier z (total noise standard deviation = z × clip)")
	f.Float64Var(&o.Clip, "clip", 1, "L2 bound of a client's update")
	f.Float64Var(&o.LR, "lr", 0.02, "client learning rate")
	f.IntVar(&o.Epochs, "epochs", 2, "client epochs per round")
	f.Float64Var(&o.Budget, "rho-budget", 1e6, "the task's zCDP budget ρ (rounds that would exceed it are refused)")
	return c
}

// simulate runs flsim against a throw-away installation served on
// 127.0.0.1; see flSimulateCmd.
func (a *app) simulate(ctx context.Context, o flsim.Options) (flsim.Report, error) {
	if err := o.Validate(); err != nil {
		return flsim.Report{}, err
	}
	dir, err := os.MkdirTemp("", "obscura-fl-sim-")
	if err != nil {
		return flsim.Report{}, err
	}
	defer os.RemoveAll(dir)
	a.cfg.Data, a.install = dir, true
	// Every device shares the simulation's one API key: lift the per-key
	// limits for this throw-away installation only.
	a.cfg.RateLimits = guard.Limits{Classes: map[string]guard.Limit{guard.ClassAPI: {PerSecond: 1e6, Burst: 1e6}},
		TenantWide: map[string]guard.Limit{guard.ClassAPI: {PerSecond: 1e6, Burst: 1e6}}}
	g, err := a.open(ctx)
	if err != nil {
		return flsim.Report{}, err
	}
	defer g.Close()
	if err := g.Start(ctx); err != nil {
		return flsim.Report{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return flsim.Report{}, err
	}
	srv := &http.Server{Handler: g.Handler(wire.HTTP{Version: version}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	t, key, err := tenant.Create(ctx, g.Store, g.Keys, "fl simulation", a.clk.Now())
	if err != nil {
		return flsim.Report{}, err
	}
	signer, err := g.Keys.TenantSigner(ctx, "", "fl-model")
	if err != nil {
		return flsim.Report{}, err
	}
	return flsim.Run(ctx, flsim.Server{BaseURL: "http://" + ln.Addr().String(), APIKey: key, ModelKey: signer.PublicKey(),
		Grant: func(ctx context.Context, subject string) error {
			_, err := g.Consents.Grant(ctx, t.ID, subject, consent.Grant{Purpose: fl.Purpose, Notice: "simulation"})
			return err
		}}, o)
}

// flClientCmd runs one device against a running server (for simulations
// spread over processes): it enrols nothing itself — the device key must be
// enrolled and its subject must have granted federated_learning.
func (a *app) flClientCmd() *cobra.Command {
	var url, keyFile, task, serverKey string
	var part, of int
	c := &cobra.Command{
		Use:   "client",
		Short: "Take part in one round as a device (OBSCURA_API_KEY: an ingest key; the device's Ed25519 seed in --device-key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apiKey := a.getenv("OBSCURA_API_KEY")
			if url == "" || keyFile == "" || apiKey == "" || serverKey == "" {
				return errors.New("--url, --device-key, --server-key and OBSCURA_API_KEY are required")
			}
			seed, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			if len(seed) != ed25519.SeedSize {
				return errors.New("device key file must hold a 32-byte Ed25519 seed")
			}
			pk, err := decodeHexKey(serverKey)
			if err != nil {
				return err
			}
			sc, err := scene.ReadScene(scene.SceneData)
			if err != nil {
				return err
			}
			train, _, _ := sc.Split()
			var data []scene.Example
			for i, e := range train {
				if of > 0 && i%of == part {
					data = append(data, e)
				}
			}
			dev := &sdk.Device{Key: ed25519.NewKeyFromSeed(seed), ServerKey: pk, Noise: dp.DiscreteGaussian,
				Transport: &sdk.HTTP{BaseURL: url, APIKey: apiKey, Client: &http.Client{Timeout: 30 * time.Second}}}
			res, err := dev.Participate(cmd.Context(), task, data)
			if err != nil {
				return err
			}
			return a.print(res, fmt.Sprintf("round %d: %s (trained from version %d on %d examples)", res.Round, res.Outcome, res.Version, len(data)))
		},
	}
	f := c.Flags()
	f.StringVar(&url, "url", "", "server base URL")
	f.StringVar(&keyFile, "device-key", "", "file with the device's 32-byte Ed25519 seed")
	f.StringVar(&serverKey, "server-key", "", "the installation's model-signing public key (hex)")
	f.StringVar(&task, "task", "scene", "task id")
	f.IntVar(&part, "part", 0, "this device's share of the scene training set: examples i with i mod --of = --part")
	f.IntVar(&of, "of", 1, "number of shares")
	return c
}

func decodeHexKey(h string) (ed25519.PublicKey, error) {
	var b []byte
	if _, err := fmt.Sscanf(h, "%x", &b); err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("--server-key must be 64 hex digits")
	}
	return ed25519.PublicKey(b), nil
}
