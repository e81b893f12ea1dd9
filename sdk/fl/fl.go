// Package fl is the device side of Obscura's federated learning, the start
// of a Go SDK for apps. A Device holds an Ed25519 key its app backend
// enrolled for one subject (POST /v1/fl/devices). For a round it checks in,
// downloads the signed model version the round trains from (verified
// against the installation's model-signing key), trains the head locally on
// the device's own feature vectors, clips the update to the task's L2
// bound, adds its share of distributed discrete Gaussian noise and takes
// part in secure aggregation, so the server only ever sees masked vectors
// and a noisy sum. It takes part only if the subject consents: the
// Consent callback (the app's own record) is asked first, and the server
// refuses a check-in of a subject that has not granted federated_learning.
//
// Nothing but protocol messages leaves the device: no features, labels,
// photos or raw updates.
package fl

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/obscuraproject/obscura/internal/ddg"
	core "github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/secagg"
)

// Example is one labelled feature vector on the device (internal/scene.Features).
type Example = scene.Example

// Status is a device's view of its round (the API's FLStatus).
type Status struct {
	Task      string `json:"task"`
	Round     int    `json:"round"`
	Session   string `json:"session"`
	Phase     string `json:"phase"`
	Index     uint32 `json:"index"`
	Threshold int    `json:"threshold"`
	Bits      uint8  `json:"bits"`
	Length    int    `json:"length"`
	Version   int    `json:"version"`
	SHA256    string `json:"sha256"`
	Artefact  []byte `json:"artefact"`
	Broadcast []byte `json:"broadcast"`
	Outcome   string `json:"outcome"`
}

// Transport is how a device talks to the server (HTTP in apps: NewHTTP).
type Transport interface {
	Config(ctx context.Context, task string) (core.TaskConfig, error)
	Checkin(ctx context.Context, task, deviceID string, at int64, sig []byte) (Status, error)
	Poll(ctx context.Context, session, deviceID string, withModel bool) (Status, error)
	Submit(ctx context.Context, session string, msg []byte) error
}

// Device is one device's participant.
type Device struct {
	Key       ed25519.PrivateKey
	ServerKey ed25519.PublicKey // the installation's model-signing key
	Transport Transport
	// Noise is the exact discrete Gaussian sampler (internal/dp.DiscreteGaussian).
	Noise ddg.Sampler
	// Consent reports whether the subject granted federated_learning; nil
	// leaves the decision to the server alone.
	Consent func(ctx context.Context) (bool, error)
	// Rand is the randomness of keys, rounding and noise; nil: crypto/rand.
	Rand io.Reader
	// PollEvery is the polling interval (default 50 ms).
	PollEvery time.Duration
	// Now is the clock of check-in timestamps (default time.Now).
	Now func() time.Time

	// Transform and SkipClip simulate adversarial clients in tests and
	// simulations (boosted or sign-flipped updates, no clipping); nil and
	// false in apps.
	Transform func(delta []float64) []float64
	SkipClip  bool
}

// ErrNoConsent: the subject has not granted federated_learning; nothing was sent.
var ErrNoConsent = errors.New("fl: subject has not granted federated_learning")

// Result is what a round came to, from the device's side.
type Result struct {
	Round   int
	Outcome string // published, rejected, aborted, or "dropped" if this device left
	Version int    // the version the device trained from
}

// ID is the device id the server knows it by.
func (d *Device) ID() string { return core.DeviceID(d.Key.Public().(ed25519.PublicKey)) }

// Participate takes part in the task's next round with the device's data
// and returns when the round is over.
func (d *Device) Participate(ctx context.Context, task string, data []Example) (Result, error) {
	if d.Consent != nil {
		ok, err := d.Consent(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("consent: %w", err)
		}
		if !ok {
			return Result{}, ErrNoConsent
		}
	}
	rnd, now, every := d.Rand, d.Now, d.PollEvery
	if rnd == nil {
		rnd = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	cfg, err := d.Transport.Config(ctx, task)
	if err != nil {
		return Result{}, fmt.Errorf("task config: %w", err)
	}
	at := now().Unix()
	st, err := d.Transport.Checkin(ctx, task, d.ID(), at, ed25519.Sign(d.Key, core.CheckinMessage(task, at)))
	if err != nil {
		return Result{}, fmt.Errorf("check in: %w", err)
	}
	var (
		client *secagg.Client
		x      []uint64
		done   = map[string]bool{}
		res    = Result{Round: st.Round}
	)
	for {
		if st.Phase == "done" {
			res.Outcome = st.Outcome
			return res, nil
		}
		if x == nil && st.Artefact != nil {
			// Train as soon as the round's model is known (during check-in),
			// so the protocol's deadlines are not spent training.
			a, err := core.OpenArtefact(st.Artefact, st.SHA256, d.ServerKey)
			if err != nil {
				return res, err
			}
			res.Version = a.Version
			if x, err = d.update(rnd, cfg, a, data); err != nil {
				return res, err
			}
		}
		if st.Phase != "checkin" && !done[st.Phase] {
			var msg []byte
			switch st.Phase {
			case "advertise":
				if x == nil {
					break // ask again with the model
				}
				sess, err := sessionBytes(st.Session)
				if err != nil {
					return res, err
				}
				p := secagg.Params{Session: sess, Threshold: st.Threshold, Bits: st.Bits, Length: st.Length}
				if p.Bits != cfg.Mechanism.Bits || p.Length != len(x) {
					return res, fmt.Errorf("round parameters differ from the task's: %w", secagg.ErrMismatch)
				}
				if client, err = secagg.NewClient(p, st.Index, d.Key, rnd); err != nil {
					return res, err
				}
				msg, err = client.AdvertiseKeys()
				if err != nil {
					return res, err
				}
			case "share_keys":
				msg, err = step(client, func(c *secagg.Client) ([]byte, error) { return c.ShareKeys(st.Broadcast) })
			case "masked_input":
				msg, err = step(client, func(c *secagg.Client) ([]byte, error) { return c.MaskedInput(st.Broadcast, x) })
			case "consistency":
				msg, err = step(client, func(c *secagg.Client) ([]byte, error) { return c.ConsistencyCheck(st.Broadcast) })
			case "unmask":
				msg, err = step(client, func(c *secagg.Client) ([]byte, error) { return c.Unmask(st.Broadcast) })
			}
			if err != nil {
				return res, err
			}
			if msg != nil {
				if err := d.Transport.Submit(ctx, st.Session, msg); err != nil {
					return res, fmt.Errorf("submit %s: %w", st.Phase, err)
				}
				done[st.Phase] = true
			}
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(every):
		}
		want := x == nil
		if st, err = d.Transport.Poll(ctx, st.Session, d.ID(), want); err != nil {
			return res, fmt.Errorf("poll: %w", err)
		}
	}
}

func step(c *secagg.Client, f func(*secagg.Client) ([]byte, error)) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("joined after the round started: %w", secagg.ErrStage)
	}
	return f(c)
}

// update trains locally from the round's model and returns the encoded,
// clipped, noised update in Z_{2^k}.
func (d *Device) update(rnd io.Reader, cfg core.TaskConfig, a core.Artefact, data []Example) ([]uint64, error) {
	global := &scene.Head{Shape: a.Shape, W: a.Weights}
	if err := global.Check(data); err != nil {
		return nil, err
	}
	local := global.Clone()
	var seed [8]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("read randomness: %w", err)
	}
	s := uint64(seed[0]) | uint64(seed[1])<<8 | uint64(seed[2])<<16 | uint64(seed[3])<<24 | uint64(seed[4])<<32
	local.Train(data, cfg.LocalEpochs, cfg.LocalLR, s)
	delta := make([]float64, len(local.W))
	for i := range delta {
		delta[i] = local.W[i] - global.W[i]
	}
	if d.Transform != nil {
		delta = d.Transform(delta)
	}
	mech := cfg.Mechanism
	if d.SkipClip {
		mech.Clip *= 1000
	}
	return mech.Encode(rnd, delta, d.Noise)
}

func sessionBytes(h string) ([secagg.SessionLen]byte, error) {
	var s [secagg.SessionLen]byte
	if len(h) != 2*secagg.SessionLen {
		return s, fmt.Errorf("session id: %w", secagg.ErrMalformed)
	}
	for i := range s {
		var b byte
		if _, err := fmt.Sscanf(h[2*i:2*i+2], "%02x", &b); err != nil {
			return s, fmt.Errorf("session id: %w", secagg.ErrMalformed)
		}
		s[i] = b
	}
	return s, nil
}
