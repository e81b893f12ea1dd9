package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/ddg"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/secagg"
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

// simOptions are the knobs of a simulation.
type simOptions struct {
	clients, rounds, hidden int
	dropout                 float64 // fraction of clients that go offline mid-round, each round
	malicious               int     // clients sending boosted, unclipped, sign-flipped updates
	noCanary                bool
	seed                    uint64
	noise                   float64 // noise multiplier z: total noise std = z · clip
	clip, lr, budget        float64
	epochs                  int
}

// simRound is one round's line of the report.
type simRound struct {
	Round    int     `json:"round"`
	Outcome  string  `json:"outcome"`
	Dropped  int     `json:"dropped"`
	Accuracy float64 `json:"held_out_accuracy"`
	Seconds  float64 `json:"seconds"`
}

// simReport is what a simulation measured.
type simReport struct {
	Clients       int        `json:"clients"`
	Parameters    int        `json:"parameters"`
	SeedAccuracy  float64    `json:"seed_accuracy"`
	Central       float64    `json:"central_accuracy"`
	Final         float64    `json:"final_accuracy"`
	Rounds        []simRound `json:"rounds"`
	Rho           float64    `json:"rho"`
	Epsilon       float64    `json:"epsilon"`
	Delta         float64    `json:"delta"`
	HeldOut       int        `json:"held_out_examples"`
	ClientExample int        `json:"examples_per_client"`
}

func (a *app) flSimulateCmd() *cobra.Command {
	var o simOptions
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Train the scene task end to end: real devices over HTTP against an in-process server, with secure aggregation and DP",
		Long: "simulate creates a throw-away installation, starts the real API on 127.0.0.1, enrols one device per simulated subject\n" +
			"(each granting federated_learning), creates the scene task (seed model from 3 examples per class, canary set held out)\n" +
			"and runs the rounds with real clients over HTTP. It reports the held-out accuracy of the seed model, of each round's\n" +
			"current model and of the same model trained centrally on the union of the clients' data, and the privacy spent.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.clients < 3 || o.clients > 1000 || o.rounds < 1 || o.rounds > 100 || o.dropout < 0 || o.dropout > 0.4 || o.malicious < 0 || o.malicious >= o.clients/2 {
				return errors.New("need 3–1000 clients, 1–100 rounds, dropout 0–0.4 and fewer than half malicious")
			}
			rep, err := a.simulate(cmd.Context(), o)
			if err != nil {
				return err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "scene task: %d parameters, %d clients (%d examples each), held-out set of %d\n", rep.Parameters, rep.Clients, rep.ClientExample, rep.HeldOut)
			fmt.Fprintf(&b, "seed model (version 1): held-out accuracy %.3f\n", rep.SeedAccuracy)
			for _, r := range rep.Rounds {
				fmt.Fprintf(&b, "round %d: %-9s dropped %d  held-out accuracy %.3f  (%.1f s)\n", r.Round, r.Outcome, r.Dropped, r.Accuracy, r.Seconds)
			}
			fmt.Fprintf(&b, "federated: %.3f   central on the union: %.3f   seed: %.3f\n", rep.Final, rep.Central, rep.SeedAccuracy)
			fmt.Fprintf(&b, "privacy spent: ρ = %.3f (zCDP), ε = %.2f at δ = %g", rep.Rho, rep.Epsilon, rep.Delta)
			return a.print(rep, b.String())
		},
	}
	f := c.Flags()
	f.IntVar(&o.clients, "clients", 20, "simulated devices (one subject each)")
	f.IntVar(&o.rounds, "rounds", 5, "rounds")
	f.IntVar(&o.hidden, "hidden", 32, "hidden units of the head (0: logistic regression)")
	f.Float64Var(&o.dropout, "dropout", 0, "fraction of clients that go offline mid-round, each round")
	f.IntVar(&o.malicious, "malicious", 0, "clients sending boosted (×20, sign-flipped, unclipped) updates")
	f.BoolVar(&o.noCanary, "no-canary", false, "publish every candidate (to see what the canary check prevents)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the data split and the seed model")
	f.Float64Var(&o.noise, "noise", 0.3, "noise multiplier z (total noise standard deviation = z × clip)")
	f.Float64Var(&o.clip, "clip", 1, "L2 bound of a client's update")
	f.Float64Var(&o.lr, "lr", 0.02, "client learning rate")
	f.IntVar(&o.epochs, "epochs", 2, "client epochs per round")
	f.Float64Var(&o.budget, "rho-budget", 1e6, "the task's zCDP budget ρ (rounds that would exceed it are refused)")
	return c
}

// simConfig is the simulated task's configuration for n clients.
func simConfig(o simOptions) fl.TaskConfig {
	gamma := 1.0 / 1024
	z := o.noise
	return fl.TaskConfig{
		Shape: fl.Shape{In: fl.FeatureLen, Hidden: o.hidden, Out: len(fl.Classes)}, MinSubjects: max(3, o.clients*3/4), MaxSubjects: o.clients,
		CheckinWindow: fl.Duration(10 * time.Second), StageTimeout: fl.Duration(max(10*time.Second, time.Duration(o.clients)*250*time.Millisecond)),
		Mechanism: ddg.Params{Clip: o.clip, Gamma: gamma, Sigma2: math.Max(0.5, math.Pow(z*o.clip/gamma, 2)/float64(o.clients)), Bits: 24, Beta: math.Exp(-0.5)},
		RhoBudget: o.budget, Delta: 1e-5, LocalEpochs: o.epochs, LocalLR: o.lr, ServerLR: 1, CanaryDrop: 0.02, CanaryLossRise: 0.05,
		QuotaPerDay: 1000, Seed: o.seed, SeedEpochs: 20, NoCanary: o.noCanary,
	}
}

// simulate runs the whole training; see flSimulateCmd.
func (a *app) simulate(ctx context.Context, o simOptions) (simReport, error) {
	dir, err := os.MkdirTemp("", "obscura-fl-sim-")
	if err != nil {
		return simReport{}, err
	}
	defer os.RemoveAll(dir)
	a.cfg.Data, a.install = dir, true
	// Every device shares the simulation's one API key: lift the per-key
	// limits for this throw-away installation only.
	a.cfg.RateLimits = guard.Limits{Classes: map[string]guard.Limit{guard.ClassAPI: {PerSecond: 1e6, Burst: 1e6}},
		TenantWide: map[string]guard.Limit{guard.ClassAPI: {PerSecond: 1e6, Burst: 1e6}}}
	g, err := a.open(ctx)
	if err != nil {
		return simReport{}, err
	}
	defer g.Close()
	if err := g.Start(ctx); err != nil {
		return simReport{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return simReport{}, err
	}
	srv := &http.Server{Handler: g.Handler(wire.HTTP{Version: version}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	t, key, err := tenant.Create(ctx, g.Store, g.Keys, "fl simulation", a.clk.Now())
	if err != nil {
		return simReport{}, err
	}
	signer, err := g.Keys.TenantSigner(ctx, "", "fl-model")
	if err != nil {
		return simReport{}, err
	}
	sc, err := fl.ReadScene(fl.SceneData)
	if err != nil {
		return simReport{}, err
	}
	train, canary, test := sc.Split()
	r := mrand.New(mrand.NewPCG(o.seed, 23))
	r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	var seed []fl.Example
	per := map[int]int{}
	for _, e := range train {
		if per[e.Y] < 3 {
			seed, per[e.Y] = append(seed, e), per[e.Y]+1
		}
	}
	data := make([][]fl.Example, o.clients)
	for i, e := range train {
		data[i%o.clients] = append(data[i%o.clients], e)
	}
	cfg := simConfig(o)
	tr := &sdk.HTTP{BaseURL: base, APIKey: key, Client: &http.Client{Timeout: 30 * time.Second}}
	admin := func(method, path string, in, out any) error { return simCall(ctx, tr, method, path, in, out) }
	devices := make([]*sdk.Device, o.clients)
	for i := range devices {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return simReport{}, err
		}
		subject := fmt.Sprintf("sim-subject-%d", i)
		if _, err := g.Consents.Grant(ctx, t.ID, subject, consent.Grant{Purpose: fl.Purpose, Notice: "simulation"}); err != nil {
			return simReport{}, err
		}
		if err := admin(http.MethodPost, "/v1/fl/devices", map[string]any{"subject": subject, "public_key": priv.Public()}, nil); err != nil {
			return simReport{}, fmt.Errorf("enrol device: %w", err)
		}
		devices[i] = &sdk.Device{Key: priv, ServerKey: signer.PublicKey(), Transport: tr, Noise: dp.DiscreteGaussian, PollEvery: 20 * time.Millisecond}
		if i < o.malicious {
			devices[i].SkipClip = true
			devices[i].Transform = func(d []float64) []float64 {
				for k := range d {
					d[k] *= -20
				}
				return d
			}
		}
	}
	if err := admin(http.MethodPost, "/v1/fl/tasks", map[string]any{"id": "scene", "config": cfg, "seed": (&fl.Scene{Examples: seed}).Marshal(), "canary": (&fl.Scene{Examples: canary}).Marshal()}, nil); err != nil {
		return simReport{}, fmt.Errorf("create task: %w", err)
	}
	accuracy := func() (float64, error) {
		var m struct {
			Artefact []byte `json:"artefact"`
			SHA256   string `json:"sha256"`
		}
		if err := admin(http.MethodGet, "/v1/fl/tasks/scene/model", nil, &m); err != nil {
			return 0, err
		}
		art, err := fl.OpenArtefact(m.Artefact, m.SHA256, signer.PublicKey())
		if err != nil {
			return 0, err
		}
		return (&fl.Head{Shape: art.Shape, W: art.Weights}).Accuracy(test), nil
	}
	rep := simReport{Clients: o.clients, Parameters: cfg.Shape.Len(), HeldOut: len(test), ClientExample: len(data[0]), Delta: cfg.Delta}
	if rep.SeedAccuracy, err = accuracy(); err != nil {
		return rep, err
	}
	central, err := fl.NewHead(cfg.Shape, cfg.Seed)
	if err != nil {
		return rep, err
	}
	central.Train(train, 2*o.rounds*cfg.LocalEpochs, cfg.LocalLR, o.seed)
	rep.Central = central.Accuracy(test)
	for round := 0; round < o.rounds; round++ {
		start := time.Now()
		drop := map[int]bool{}
		for len(drop) < int(o.dropout*float64(o.clients)) {
			drop[o.malicious+r.IntN(o.clients-o.malicious)] = true
		}
		outcomes := make([]string, o.clients)
		errs := make([]error, o.clients)
		var wg sync.WaitGroup
		for i, d := range devices {
			dev := *d
			if drop[i] {
				dev.Transport = &dropping{Transport: tr, at: secagg.Type(2 + r.IntN(3))}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := dev.Participate(ctx, "scene", data[i])
				outcomes[i], errs[i] = res.Outcome, err
			}()
		}
		wg.Wait()
		line := simRound{Round: round + 1, Dropped: len(drop), Seconds: time.Since(start).Seconds()}
		for i, err := range errs {
			if err != nil && !drop[i] {
				return rep, fmt.Errorf("round %d, device %d: %w", round+1, i, err)
			}
			if err == nil && line.Outcome == "" {
				line.Outcome = outcomes[i]
			}
		}
		if line.Accuracy, err = accuracy(); err != nil {
			return rep, err
		}
		rep.Rounds = append(rep.Rounds, line)
	}
	rep.Final = rep.Rounds[len(rep.Rounds)-1].Accuracy
	var sum struct {
		RhoSpent float64 `json:"rho_spent"`
		Epsilon  float64 `json:"epsilon"`
	}
	if err := admin(http.MethodGet, "/v1/fl/tasks/scene", nil, &sum); err != nil {
		return rep, err
	}
	rep.Rho, rep.Epsilon = sum.RhoSpent, sum.Epsilon
	return rep, nil
}

// dropping is a device that goes offline when it would send message type at.
type dropping struct {
	sdk.Transport
	at secagg.Type
}

func (d *dropping) Submit(ctx context.Context, session string, msg []byte) error {
	if e, err := secagg.ParseEnvelope(msg); err == nil && e.Type >= d.at {
		return errors.New("simulated device went offline")
	}
	return d.Transport.Submit(ctx, session, msg)
}

// simCall makes an admin request with the simulation's key.
func simCall(ctx context.Context, tr *sdk.HTTP, method, path string, in, out any) error {
	var body *bytes.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, tr.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tr.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var p sdk.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		p.Status = resp.StatusCode
		return &p
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
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
			sc, err := fl.ReadScene(fl.SceneData)
			if err != nil {
				return err
			}
			train, _, _ := sc.Split()
			var data []fl.Example
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
