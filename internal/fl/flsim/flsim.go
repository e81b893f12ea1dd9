// Package flsim simulates a federated-learning training end to end: real
// devices (package sdk/fl) over HTTP against a running installation, with
// secure aggregation and distributed DP, on the scene task's committed
// data; it measures the held-out accuracy of the seed model, of each
// round's model and of the same model trained centrally, and the privacy
// spent. `obscura fl simulate` runs it against a throw-away installation.
package flsim

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
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/ddg"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/secagg"
	sdk "github.com/obscuraproject/obscura/sdk/fl"
)

// Options are the knobs of a simulation.
type Options struct {
	Clients, Rounds, Hidden int
	Dropout                 float64 // fraction of clients that go offline mid-round, each round
	Malicious               int     // clients sending boosted, unclipped, sign-flipped updates
	NoCanary                bool
	Seed                    uint64
	Noise                   float64 // noise multiplier z: total noise std = z · clip
	Clip, LR, Budget        float64
	Epochs                  int
}

// Validate refuses options a simulation cannot run with.
func (o Options) Validate() error {
	if o.Clients < 3 || o.Clients > 1000 || o.Rounds < 1 || o.Rounds > 100 || o.Dropout < 0 || o.Dropout > 0.4 || o.Malicious < 0 || o.Malicious >= o.Clients/2 {
		return errors.New("need 3–1000 clients, 1–100 rounds, dropout 0–0.4 and fewer than half malicious")
	}
	return nil
}

// Round is one round's line of the report.
type Round struct {
	Round    int     `json:"round"`
	Outcome  string  `json:"outcome"`
	Dropped  int     `json:"dropped"`
	Accuracy float64 `json:"held_out_accuracy"`
	Seconds  float64 `json:"seconds"`
}

// Report is what a simulation measured.
type Report struct {
	Clients       int     `json:"clients"`
	Parameters    int     `json:"parameters"`
	SeedAccuracy  float64 `json:"seed_accuracy"`
	Central       float64 `json:"central_accuracy"`
	Final         float64 `json:"final_accuracy"`
	Rounds        []Round `json:"rounds"`
	Rho           float64 `json:"rho"`
	Epsilon       float64 `json:"epsilon"`
	Delta         float64 `json:"delta"`
	HeldOut       int     `json:"held_out_examples"`
	ClientExample int     `json:"examples_per_client"`
}

// String is the report for a terminal.
func (rep Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scene task: %d parameters, %d clients (%d examples each), held-out set of %d\n", rep.Parameters, rep.Clients, rep.ClientExample, rep.HeldOut)
	fmt.Fprintf(&b, "seed model (version 1): held-out accuracy %.3f\n", rep.SeedAccuracy)
	for _, r := range rep.Rounds {
		fmt.Fprintf(&b, "round %d: %-9s dropped %d  held-out accuracy %.3f  (%.1f s)\n", r.Round, r.Outcome, r.Dropped, r.Accuracy, r.Seconds)
	}
	fmt.Fprintf(&b, "federated: %.3f   central on the union: %.3f   seed: %.3f\n", rep.Final, rep.Central, rep.SeedAccuracy)
	fmt.Fprintf(&b, "privacy spent: ρ = %.3f (zCDP), ε = %.2f at δ = %g", rep.Rho, rep.Epsilon, rep.Delta)
	return b.String()
}

// Config is the simulated task's configuration for o.Clients clients.
func Config(o Options) fl.TaskConfig {
	gamma := 1.0 / 1024
	z := o.Noise
	return fl.TaskConfig{
		Shape: scene.Shape{In: scene.FeatureLen, Hidden: o.Hidden, Out: len(scene.Classes)}, MinSubjects: max(3, o.Clients*3/4), MaxSubjects: o.Clients,
		CheckinWindow: fl.Duration(10 * time.Second), StageTimeout: fl.Duration(max(10*time.Second, time.Duration(o.Clients)*250*time.Millisecond)),
		Mechanism: ddg.Params{Clip: o.Clip, Gamma: gamma, Sigma2: math.Max(0.5, math.Pow(z*o.Clip/gamma, 2)/float64(o.Clients)), Bits: 24, Beta: math.Exp(-0.5)},
		RhoBudget: o.Budget, Delta: 1e-5, LocalEpochs: o.Epochs, LocalLR: o.LR, ServerLR: 1, CanaryDrop: 0.02, CanaryLossRise: 0.05,
		QuotaPerDay: 1000, Seed: o.Seed, SeedEpochs: 20, NoCanary: o.NoCanary,
	}
}

// Server is the running installation a simulation trains against.
type Server struct {
	// BaseURL and APIKey reach its API (an admin key: the simulation
	// enrols devices and creates the task).
	BaseURL, APIKey string
	// ModelKey verifies the model artefacts it publishes.
	ModelKey ed25519.PublicKey
	// Grant records subject's federated_learning consent.
	Grant func(ctx context.Context, subject string) error
}

// Run enrols one device per simulated subject, creates the scene task
// (seed model from 3 examples per class, canary set held out) and runs the
// rounds with real clients over HTTP.
func Run(ctx context.Context, s Server, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	sc, err := scene.ReadScene(scene.SceneData)
	if err != nil {
		return Report{}, err
	}
	train, canary, test := sc.Split()
	r := mrand.New(mrand.NewPCG(o.Seed, 23))
	r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	var seed []scene.Example
	per := map[int]int{}
	for _, e := range train {
		if per[e.Y] < 3 {
			seed, per[e.Y] = append(seed, e), per[e.Y]+1
		}
	}
	data := make([][]scene.Example, o.Clients)
	for i, e := range train {
		data[i%o.Clients] = append(data[i%o.Clients], e)
	}
	cfg := Config(o)
	tr := &sdk.HTTP{BaseURL: s.BaseURL, APIKey: s.APIKey, Client: &http.Client{Timeout: 30 * time.Second}}
	admin := func(method, path string, in, out any) error { return call(ctx, tr, method, path, in, out) }
	devices := make([]*sdk.Device, o.Clients)
	for i := range devices {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return Report{}, err
		}
		subject := fmt.Sprintf("sim-subject-%d", i)
		if err := s.Grant(ctx, subject); err != nil {
			return Report{}, err
		}
		if err := admin(http.MethodPost, "/v1/fl/devices", map[string]any{"subject": subject, "public_key": priv.Public()}, nil); err != nil {
			return Report{}, fmt.Errorf("enrol device: %w", err)
		}
		devices[i] = &sdk.Device{Key: priv, ServerKey: s.ModelKey, Transport: tr, Noise: dp.DiscreteGaussian, PollEvery: 20 * time.Millisecond}
		if i < o.Malicious {
			devices[i].SkipClip = true
			devices[i].Transform = func(d []float64) []float64 {
				for k := range d {
					d[k] *= -20
				}
				return d
			}
		}
	}
	if err := admin(http.MethodPost, "/v1/fl/tasks", map[string]any{"id": "scene", "config": cfg, "seed": (&scene.Scene{Examples: seed}).Marshal(), "canary": (&scene.Scene{Examples: canary}).Marshal()}, nil); err != nil {
		return Report{}, fmt.Errorf("create task: %w", err)
	}
	accuracy := func() (float64, error) {
		var m struct {
			Artefact []byte `json:"artefact"`
			SHA256   string `json:"sha256"`
		}
		if err := admin(http.MethodGet, "/v1/fl/tasks/scene/model", nil, &m); err != nil {
			return 0, err
		}
		art, err := fl.OpenArtefact(m.Artefact, m.SHA256, s.ModelKey)
		if err != nil {
			return 0, err
		}
		return (&scene.Head{Shape: art.Shape, W: art.Weights}).Accuracy(test), nil
	}
	rep := Report{Clients: o.Clients, Parameters: cfg.Shape.Len(), HeldOut: len(test), ClientExample: len(data[0]), Delta: cfg.Delta}
	if rep.SeedAccuracy, err = accuracy(); err != nil {
		return rep, err
	}
	central, err := scene.NewHead(cfg.Shape, cfg.Seed)
	if err != nil {
		return rep, err
	}
	central.Train(train, 2*o.Rounds*cfg.LocalEpochs, cfg.LocalLR, o.Seed)
	rep.Central = central.Accuracy(test)
	for round := 0; round < o.Rounds; round++ {
		start := time.Now()
		drop := map[int]bool{}
		for len(drop) < int(o.Dropout*float64(o.Clients)) {
			drop[o.Malicious+r.IntN(o.Clients-o.Malicious)] = true
		}
		outcomes := make([]string, o.Clients)
		errs := make([]error, o.Clients)
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
		line := Round{Round: round + 1, Dropped: len(drop), Seconds: time.Since(start).Seconds()}
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

// call makes an admin request with the simulation's key.
func call(ctx context.Context, tr *sdk.HTTP, method, path string, in, out any) error {
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
