package fl

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/ddg"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/secagg"
	"github.com/obscuraproject/obscura/internal/store"
)

// Purpose is the consent purpose a subject must have granted for any of its
// devices to take part.
const Purpose = "federated_learning"

// Feature is the kill-switch feature that stops every task of a tenant.
const Feature = "federated_learning"

// Errors with a stable meaning (mapped in internal/api's error table).
var (
	// ErrBudget: the task's privacy budget cannot pay for another round.
	ErrBudget = fault.New(fault.Conflict, "the task's privacy budget is spent")
	// ErrRoundFull: the round already has its maximum of subjects.
	ErrRoundFull = fault.New(fault.RateLimited, "the round is full")
	// ErrQuota: the device or its subject took part in too many rounds today.
	ErrQuota = fault.New(fault.RateLimited, "federated-learning quota reached")
	// ErrNotEnrolled: the device key is not enrolled in this tenant.
	ErrNotEnrolled = fault.New(fault.Permission, "device not enrolled")
	// ErrNoRound: no round of this session is running.
	ErrNoRound = fault.New(fault.NotFound, "no such federated-learning round")
	// ErrCheckin: the check-in signature or timestamp does not verify.
	ErrCheckin = fault.New(fault.Permission, "check-in does not verify")
)

// TaskConfig is a task's configuration, fixed at creation.
type TaskConfig struct {
	Shape          scene.Shape `json:"shape"`
	MinSubjects    int         `json:"min_subjects"`     // a round starts only with this many distinct consenting subjects
	MaxSubjects    int         `json:"max_subjects"`     // and admits at most this many
	CheckinWindow  Duration    `json:"checkin_window"`   // how long check-in stays open once the first device checks in
	StageTimeout   Duration    `json:"stage_timeout"`    // deadline of each secure-aggregation round
	Mechanism      ddg.Params  `json:"mechanism"`        // clipping, granularity, noise, ring
	RhoBudget      float64     `json:"rho_budget"`       // zCDP budget of the whole task
	Delta          float64     `json:"delta"`            // δ at which ε is reported
	LocalEpochs    int         `json:"local_epochs"`     // client training
	LocalLR        float64     `json:"local_lr"`         // client learning rate
	ServerLR       float64     `json:"server_lr"`        // the averaged update is applied with this factor
	CanaryDrop     float64     `json:"canary_drop"`      // a candidate may lose at most this much canary accuracy
	CanaryLossRise float64     `json:"canary_loss_rise"` // and raise the canary cross-entropy (nats) by at most this much
	QuotaPerDay    int         `json:"quota_per_day"`    // rounds per subject per day
	Seed           uint64      `json:"seed"`             // the seed model's initialisation
	SeedEpochs     int         `json:"seed_epochs"`      // training of the seed model on the seed set
	NoCanary       bool        `json:"no_canary"`        // publish every candidate (only for the poisoning test's control arm)
}

// Duration is a time.Duration in JSON as seconds.
type Duration time.Duration

// MarshalJSON encodes seconds.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).Seconds()) }

// UnmarshalJSON decodes seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(time.Duration(s * float64(time.Second)))
	return nil
}

// Validate checks a configuration.
func (c TaskConfig) Validate() error {
	bad := func(what string) error { return fault.New(fault.Invalid, "invalid task configuration: "+what) }
	switch {
	case !c.Shape.Valid():
		return bad("shape")
	case c.MinSubjects < 3 || c.MaxSubjects < c.MinSubjects || c.MaxSubjects > secagg.MaxClients:
		return bad("min_subjects/max_subjects")
	case c.CheckinWindow <= 0 || c.StageTimeout <= 0:
		return bad("timeouts")
	case c.Mechanism.Validate() != nil:
		return bad("mechanism")
	case c.Mechanism.Wraps(c.MaxSubjects) >= 1:
		return bad("mechanism: the ring is too small for max_subjects")
	case !(c.RhoBudget > 0) || !(c.Delta > 0 && c.Delta < 1):
		return bad("rho_budget/delta")
	case c.LocalEpochs < 1 || c.LocalEpochs > 100 || !(c.LocalLR > 0) || !(c.ServerLR > 0):
		return bad("training")
	case c.CanaryDrop < 0 || c.CanaryLossRise < 0 || c.QuotaPerDay < 1:
		return bad("canary_drop/quota_per_day")
	}
	return nil
}

// Consents is what fl needs from the consent service.
type Consents interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

// Kill is what fl needs from the kill switch.
type Kill interface {
	Check(tenant, feature string) error
}

// Hasher keys the hashes of subjects in round records.
type Hasher interface {
	HashID(domain, id string) string
}

// Signer signs model versions with the installation's key.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	PublicKey() ed25519.PublicKey
}

// Deps are the coordinator's collaborators.
type Deps struct {
	Store    store.FL
	Consents Consents
	Kill     Kill // nil: none
	Hash     Hasher
	Signer   Signer
	Clock    clock.Clock
	Log      *slog.Logger
	// Noise is the exact discrete Gaussian sampler (internal/dp.DiscreteGaussian).
	Noise ddg.Sampler
}

// Coordinator runs the tasks' rounds. Safe for concurrent use.
type Coordinator struct {
	d     Deps
	log   *slog.Logger
	mu    sync.Mutex
	tasks map[string]*taskState // tenant + "/" + task
	// sessions maps a running round's session id to its task.
	sessions map[[secagg.SessionLen]byte]*taskState
	// outcomes remembers how past rounds ended, by session, for devices
	// that poll after the next round began.
	outcomes map[[secagg.SessionLen]byte]string
	// today counts rounds per subject hash per UTC day (quota).
	today map[string]int
	day   string
}

// New returns a coordinator.
func New(d Deps) (*Coordinator, error) {
	if d.Store == nil || d.Consents == nil || d.Hash == nil || d.Signer == nil || d.Clock == nil || d.Noise == nil {
		return nil, errors.New("fl: missing dependency")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{d: d, log: d.Log.With("component", "fl"), tasks: map[string]*taskState{},
		sessions: map[[secagg.SessionLen]byte]*taskState{}, outcomes: map[[secagg.SessionLen]byte]string{}, today: map[string]int{}}, nil
}

// DeviceID is the id of a device key: hex SHA-256 of the public key.
func DeviceID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:])
}

// Enroll records a device key for a subject (the app backend does this for
// its own users; admin scope).
func (c *Coordinator) Enroll(ctx context.Context, tenant, subject string, pub ed25519.PublicKey) (string, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fault.New(fault.Invalid, "device key must be a 32-byte Ed25519 public key")
	}
	id := DeviceID(pub)
	err := c.d.Store.EnrollFLDevice(ctx, store.FLDevice{Tenant: tenant, ID: id, SubjectHash: c.d.Hash.HashID("subject", subject),
		PublicKey: slices.Clone(pub), EnrolledAt: c.d.Clock.Now()})
	if err != nil {
		return "", fmt.Errorf("enroll device: %w", err)
	}
	return id, nil
}

// CreateTask creates a task with its seed set (a small labelled set the
// seed model, version 1, is trained on) and its canary set (held out from
// every client; each candidate is checked on it).
func (c *Coordinator) CreateTask(ctx context.Context, tenant, id string, cfg TaskConfig, seed []scene.Example, canary []byte) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cs, err := scene.ReadScene(canary)
	if err != nil || len(cs.Examples) == 0 {
		return fault.Wrap(fault.Invalid, "canary set must be a non-empty scene-v1 feature set", err)
	}
	h, err := scene.NewHead(cfg.Shape, cfg.Seed)
	if err != nil {
		return fault.Wrap(fault.Invalid, "invalid task configuration: shape", err)
	}
	if err := h.Check(seed); err != nil {
		return fault.Wrap(fault.Invalid, "seed set does not fit the shape", err)
	}
	if err := h.Check(cs.Examples); err != nil {
		return fault.Wrap(fault.Invalid, "canary set does not fit the shape", err)
	}
	h.Train(seed, max(cfg.SeedEpochs, 1), cfg.LocalLR, cfg.Seed)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("task config: %w", err)
	}
	now := c.d.Clock.Now()
	if err := c.d.Store.CreateFLTask(ctx, store.FLTask{Tenant: tenant, ID: id, Config: raw, Canary: canary, CreatedAt: now}); err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	acc := h.Accuracy(cs.Examples)
	v, err := c.version(tenant, id, 1, h, Record{Round: 0, CanaryAccuracy: acc, Note: fmt.Sprintf("seed model: %d examples, %d epochs", len(seed), max(cfg.SeedEpochs, 1))})
	if err != nil {
		return err
	}
	return c.d.Store.RecordFLRound(ctx, store.FLRound{Tenant: tenant, Task: id, Number: 0, Outcome: "published", CanaryAfter: acc, Version: 1, At: now}, v)
}

// taskState is a loaded task and its round in progress.
type taskState struct {
	tenant, id string
	cfg        TaskConfig
	canary     []scene.Example
	model      *scene.Head // the current version
	version    int
	raw        []byte // its artefact
	sum        string // and the artefact's SHA-256
	rounds     int    // next round number
	rhoSpent   float64
	round      *round
}

// phase is where a round is.
type phase int

const (
	phaseCheckin phase = iota
	phaseAdvertise
	phaseShareKeys
	phaseMasked
	phaseConsistency
	phaseUnmask
	phaseDone
)

var phaseNames = [...]string{"checkin", "advertise", "share_keys", "masked_input", "consistency", "unmask", "done"}

// String names the phase on the wire.
func (p phase) String() string { return phaseNames[p] }

type member struct {
	index   uint32
	device  store.FLDevice
	subject string // keyed hash of the subject hash, for the record
}

type round struct {
	number   int
	session  [secagg.SessionLen]byte
	phase    phase
	deadline time.Time
	members  map[string]*member // device id → member
	subjects map[string]bool
	srv      *secagg.Server
	params   secagg.Params
	sent     map[uint32]bool // senders in the current phase
	expected int             // how many may send in the current phase
	outcome  string
}

func key(tenant, task string) string { return tenant + "/" + task }

// load returns the task's state, reading it from the store the first time.
// c.mu is held.
func (c *Coordinator) load(ctx context.Context, tenant, id string) (*taskState, error) {
	if t, ok := c.tasks[key(tenant, id)]; ok {
		return t, nil
	}
	st, err := c.d.Store.FLTask(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	t := &taskState{tenant: tenant, id: id, rounds: st.Rounds, rhoSpent: st.RhoSpent}
	if err := json.Unmarshal(st.Config, &t.cfg); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	cs, err := scene.ReadScene(st.Canary)
	if err != nil {
		return nil, fmt.Errorf("canary set: %w", err)
	}
	t.canary = cs.Examples
	if err := c.loadCurrent(ctx, t); err != nil {
		return nil, err
	}
	c.tasks[key(tenant, id)] = t
	return t, nil
}

// loadCurrent reads the current version's weights, verifying hash and signature.
func (c *Coordinator) loadCurrent(ctx context.Context, t *taskState) error {
	vs, err := c.d.Store.FLVersions(ctx, t.tenant, t.id)
	if err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	for _, v := range vs {
		if !v.Current {
			continue
		}
		a, err := OpenArtefact(v.Artefact, v.SHA256, c.d.Signer.PublicKey())
		if err != nil {
			return fmt.Errorf("current version %d: %w", v.Number, err)
		}
		t.model, t.version, t.raw, t.sum = &scene.Head{Shape: a.Shape, W: a.Weights}, v.Number, v.Artefact, v.SHA256
		return nil
	}
	return fault.New(fault.Unavailable, "task has no current model version")
}

// Checkin admits a device to the task's next round. The device signs
// "obscura/fl/v1 checkin\x00" ‖ task ‖ unix seconds (big-endian int64);
// the timestamp must be within five minutes of the server's clock. The
// device must be enrolled, its subject must have granted federated_learning
// and be under quota, and no other device of the subject may be in the
// round (rounds count distinct subjects).
func (c *Coordinator) Checkin(ctx context.Context, tenant, task, deviceID string, at int64, sig []byte) (Status, error) {
	if c.d.Kill != nil {
		if err := c.d.Kill.Check(tenant, Feature); err != nil {
			return Status{}, err
		}
	}
	dev, err := c.d.Store.FLDevice(ctx, tenant, deviceID)
	if errors.Is(err, fault.NotFound) {
		return Status{}, ErrNotEnrolled
	}
	if err != nil {
		return Status{}, fmt.Errorf("device: %w", err)
	}
	now := c.d.Clock.Now()
	if math.Abs(float64(now.Unix()-at)) > 300 || !ed25519.Verify(dev.PublicKey, CheckinMessage(task, at), sig) {
		return Status{}, ErrCheckin
	}
	if err := c.d.Consents.Require(ctx, tenant, dev.SubjectHash, Purpose); err != nil {
		return Status{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.load(ctx, tenant, task)
	if err != nil {
		return Status{}, err
	}
	c.advance(ctx, t, now)
	if t.round == nil || t.round.phase == phaseDone {
		if t.rhoSpent+c.worstRho(t) > t.cfg.RhoBudget {
			return Status{}, ErrBudget
		}
		var s [secagg.SessionLen]byte
		if _, err := rand.Read(s[:]); err != nil {
			return Status{}, fmt.Errorf("session id: %w", err)
		}
		t.round = &round{number: t.rounds, session: s, deadline: now.Add(time.Duration(t.cfg.CheckinWindow)),
			members: map[string]*member{}, subjects: map[string]bool{}}
		c.sessions[s] = t
	}
	r := t.round
	if m, ok := r.members[deviceID]; ok {
		return c.status(t, m), nil
	}
	if r.phase != phaseCheckin || len(r.members) >= t.cfg.MaxSubjects {
		return Status{}, ErrRoundFull
	}
	if r.subjects[dev.SubjectHash] {
		return Status{}, fault.New(fault.Conflict, "another device of this subject is in the round")
	}
	if d := now.UTC().Format(time.DateOnly); d != c.day {
		c.day, c.today = d, map[string]int{}
	}
	if c.today[tenant+"/"+dev.SubjectHash] >= t.cfg.QuotaPerDay {
		return Status{}, ErrQuota
	}
	m := &member{index: uint32(len(r.members) + 1), device: dev, subject: c.d.Hash.HashID("fl-participant", tenant+"/"+dev.SubjectHash)}
	r.members[deviceID] = m
	r.subjects[dev.SubjectHash] = true
	c.today[tenant+"/"+dev.SubjectHash]++
	if len(r.members) == t.cfg.MaxSubjects {
		c.start(t, now)
	}
	return c.status(t, m), nil
}

// CheckinMessage is what a device signs to check in.
func CheckinMessage(task string, at int64) []byte {
	m := append([]byte("obscura/fl/v1 checkin\x00"), task...)
	return append(m, byte(at>>56), byte(at>>48), byte(at>>40), byte(at>>32), byte(at>>24), byte(at>>16), byte(at>>8), byte(at))
}

// worstRho is the ρ of one round in which only a threshold of the minimum
// number of subjects survive (the fewest noise shares a release can have).
func (c *Coordinator) worstRho(t *taskState) float64 {
	return t.cfg.Mechanism.Rho(threshold(t.cfg.MinSubjects), t.cfg.Shape.Len())
}

// threshold is the secure-aggregation threshold for n participants: a
// strict majority, at least 2.
func threshold(n int) int { return max(2, n/2+1) }

// start begins secure aggregation with the checked-in members. c.mu is held.
func (c *Coordinator) start(t *taskState, now time.Time) {
	r := t.round
	devs := map[uint32]ed25519.PublicKey{}
	for _, m := range r.members {
		devs[m.index] = m.device.PublicKey
	}
	r.params = secagg.Params{Session: r.session, Threshold: threshold(len(r.members)), Bits: t.cfg.Mechanism.Bits, Length: t.cfg.Shape.Len()}
	srv, err := secagg.NewServer(r.params, devs)
	if err != nil {
		c.finish(context.Background(), t, "aborted", now, err)
		return
	}
	// The round is recorded open, so a restart that loses it from memory
	// aborts it explicitly (Recover) instead of forgetting it.
	if err := c.d.Store.OpenFLRound(context.Background(), store.FLRound{Tenant: t.tenant, Task: t.id, Number: r.number,
		Participants: r.participants(), Version: t.version, At: now}); err != nil {
		c.finish(context.Background(), t, "aborted", now, err)
		return
	}
	r.srv, r.phase, r.deadline = srv, phaseAdvertise, now.Add(time.Duration(t.cfg.StageTimeout))
	r.sent, r.expected = map[uint32]bool{}, len(r.members)
}

// Recover runs once at start, before any request: rounds a previous
// process left open (their state lived in its memory) are recorded
// aborted, their ρ is not charged and nothing of them is released.
func (c *Coordinator) Recover(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, err := c.d.Store.AbortOpenFLRounds(ctx, c.d.Clock.Now())
	if err != nil {
		return 0, fmt.Errorf("abort rounds left open: %w", err)
	}
	for _, r := range rs {
		c.log.Warn("fl round aborted: the process restarted mid-round", "task", r.Task, "round", r.Number, "participants", len(r.Participants))
		delete(c.tasks, key(r.Tenant, r.Task)) // reload its round count
	}
	return len(rs), nil
}

// advance moves the task's round on when its deadline passed or everyone
// expected answered. c.mu is held.
func (c *Coordinator) advance(ctx context.Context, t *taskState, now time.Time) {
	r := t.round
	if r == nil || r.phase == phaseDone {
		return
	}
	if c.d.Kill != nil && c.d.Kill.Check(t.tenant, Feature) != nil {
		c.finish(ctx, t, "aborted", now, errors.New("kill switch"))
		return
	}
	if r.phase == phaseCheckin {
		if now.Before(r.deadline) {
			return
		}
		if len(r.members) < t.cfg.MinSubjects {
			// Not enough subjects: the check-in window starts again.
			r.deadline = now.Add(time.Duration(t.cfg.CheckinWindow))
			return
		}
		c.start(t, now)
		return
	}
	for r.phase != phaseDone && (len(r.sent) >= r.expected || !now.Before(r.deadline)) {
		if err := r.srv.Close(); err != nil {
			c.finish(ctx, t, "aborted", now, err)
			return
		}
		if r.phase == phaseUnmask {
			c.aggregate(ctx, t, now)
			return
		}
		r.phase++
		r.expected, r.sent = len(r.sent), map[uint32]bool{}
		r.deadline = now.Add(time.Duration(t.cfg.StageTimeout))
	}
}

// Tick advances every running round (call it periodically; requests also do).
func (c *Coordinator) Tick(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.d.Clock.Now()
	for _, t := range c.tasks {
		c.advance(ctx, t, now)
	}
}

// Run calls Tick every interval until ctx ends, so a stalled round (devices
// gone quiet, the kill switch thrown) moves on without waiting for the next
// request. Deadlines are read from the injected clock; interval only paces
// the checks. `obscura serve` runs it (internal/wire Start).
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) {
	clock.Every(ctx, interval, func() { c.Tick(ctx) })
}

// Submit takes one signed secure-aggregation message for the round of session.
func (c *Coordinator) Submit(ctx context.Context, tenant string, session [secagg.SessionLen]byte, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.sessions[session]
	if !ok || t.tenant != tenant || t.round == nil || t.round.session != session {
		return ErrNoRound
	}
	now := c.d.Clock.Now()
	c.advance(ctx, t, now)
	r := t.round
	if r.phase == phaseCheckin || r.phase == phaseDone {
		return fmt.Errorf("round in phase %s: %w", r.phase, secagg.ErrStage)
	}
	if err := r.srv.Receive(msg); err != nil {
		return err
	}
	e, _ := secagg.ParseEnvelope(msg) // Receive parsed it already
	r.sent[e.Sender] = true
	c.advance(ctx, t, now)
	return nil
}

// Status is what a device learns when it checks in or polls.
type Status struct {
	Task      string
	Round     int
	Session   [secagg.SessionLen]byte
	Phase     string
	Index     uint32
	Params    secagg.Params // set once the round started
	Version   int
	Artefact  []byte // the model version the round trains from (signed)
	SHA256    string
	Broadcast []byte // the server message of the current phase for this device, if any
	Outcome   string // when done: published, rejected or aborted
}

// Poll returns the state of the device's round.
func (c *Coordinator) Poll(ctx context.Context, tenant string, session [secagg.SessionLen]byte, deviceID string) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.sessions[session]
	if !ok || t.tenant != tenant {
		return Status{}, ErrNoRound
	}
	c.advance(ctx, t, c.d.Clock.Now())
	if t.round == nil || t.round.session != session {
		return Status{Task: t.id, Session: session, Phase: phaseDone.String(), Outcome: c.outcomes[session]}, nil
	}
	m, ok := t.round.members[deviceID]
	if !ok {
		return Status{}, ErrNoRound
	}
	return c.status(t, m), nil
}

// status builds a member's view. c.mu is held.
func (c *Coordinator) status(t *taskState, m *member) Status {
	r := t.round
	s := Status{Task: t.id, Round: r.number, Session: r.session, Phase: r.phase.String(), Index: m.index, Params: r.params,
		Version: t.version, Outcome: r.outcome}
	s.Artefact, s.SHA256 = c.artefact(t)
	var b []byte
	var err error
	switch r.phase {
	case phaseShareKeys:
		b, err = r.srv.KeyList()
	case phaseMasked:
		b, err = r.srv.Ciphertexts(m.index)
	case phaseConsistency:
		b, err = r.srv.Survivors()
	case phaseUnmask:
		b, err = r.srv.Signatures()
	}
	if err == nil {
		s.Broadcast = b
	}
	return s
}

// artefact returns the current version's artefact and its SHA-256.
func (c *Coordinator) artefact(t *taskState) ([]byte, string) { return t.raw, t.sum }

// aggregate decodes the sum, builds the candidate, checks it on the canary
// set and publishes or rejects it. c.mu is held.
func (c *Coordinator) aggregate(ctx context.Context, t *taskState, now time.Time) {
	r := t.round
	sum, err := r.srv.Sum()
	if err != nil {
		c.finish(ctx, t, "aborted", now, err)
		return
	}
	n := len(r.srv.Survived())
	delta := t.cfg.Mechanism.Decode(sum)
	cand := t.model.Clone()
	for i := range cand.W {
		cand.W[i] += t.cfg.ServerLR * delta[i] / float64(n)
	}
	before, after := t.model.Accuracy(t.canary), cand.Accuracy(t.canary)
	lossBefore, lossAfter := t.model.Loss(t.canary), cand.Loss(t.canary)
	c.log.Debug("fl canary", "task", t.id, "round", r.number, "acc_before", before, "acc_after", after, "loss_before", lossBefore, "loss_after", lossAfter)
	rho := t.cfg.Mechanism.Rho(n, t.cfg.Shape.Len())
	rec := store.FLRound{Tenant: t.tenant, Task: t.id, Number: r.number, Participants: r.participants(), Survivors: n, Rho: rho,
		CanaryBefore: before, CanaryAfter: after, At: now}
	var v *store.FLVersion
	if t.cfg.NoCanary || (after >= before-t.cfg.CanaryDrop && lossAfter <= lossBefore+t.cfg.CanaryLossRise) {
		rec.Outcome, rec.Version = "published", t.version+1
		v, err = c.version(t.tenant, t.id, rec.Version, cand, Record{Round: r.number, Survivors: n, Rho: rho,
			RhoTotal: t.rhoSpent + rho, Epsilon: ddg.Epsilon(t.rhoSpent+rho, t.cfg.Delta), Delta: t.cfg.Delta, CanaryAccuracy: after})
		if err != nil {
			c.finish(ctx, t, "aborted", now, err)
			return
		}
	} else {
		rec.Outcome = "rejected"
	}
	if err := c.d.Store.RecordFLRound(ctx, rec, v); err != nil {
		c.log.Error("record round", "task", t.id, "round", r.number, "err", err)
		r.phase, r.outcome = phaseDone, "aborted"
		c.outcomes[r.session] = "aborted"
		return
	}
	t.rounds++
	t.rhoSpent += rho
	if v != nil {
		t.model, t.version, t.raw, t.sum = cand, rec.Version, v.Artefact, v.SHA256
	}
	r.phase, r.outcome = phaseDone, rec.Outcome
	c.outcomes[r.session] = rec.Outcome
	c.log.Info("fl round", "task", t.id, "round", r.number, "outcome", rec.Outcome, "survivors", n,
		"canary_before", before, "canary_after", after, "rho", rho)
}

// finish ends a round without a release (nothing was learnt: no ρ spent).
func (c *Coordinator) finish(ctx context.Context, t *taskState, outcome string, now time.Time, cause error) {
	r := t.round
	r.phase, r.outcome = phaseDone, outcome
	c.outcomes[r.session] = outcome
	rec := store.FLRound{Tenant: t.tenant, Task: t.id, Number: r.number, Participants: r.participants(), Outcome: outcome, At: now}
	if err := c.d.Store.RecordFLRound(ctx, rec, nil); err != nil {
		c.log.Error("record round", "task", t.id, "round", r.number, "err", err)
		return
	}
	t.rounds++
	c.log.Info("fl round", "task", t.id, "round", r.number, "outcome", outcome, "cause", cause)
}

func (r *round) participants() []string {
	out := make([]string, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, m.subject)
	}
	slices.Sort(out)
	return out
}

// Rollback makes the previous published version current again.
func (c *Coordinator) Rollback(ctx context.Context, tenant, task string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.load(ctx, tenant, task)
	if err != nil {
		return 0, err
	}
	if t.version <= 1 {
		return 0, fault.New(fault.Conflict, "no earlier version to roll back to")
	}
	if err := c.d.Store.SetFLCurrent(ctx, tenant, task, t.version-1); err != nil {
		return 0, fmt.Errorf("rollback: %w", err)
	}
	if err := c.loadCurrent(ctx, t); err != nil {
		return 0, err
	}
	return t.version, nil
}

// Model returns the task's current version: the artefact the product uses.
func (c *Coordinator) Model(ctx context.Context, tenant, task string) (Artefact, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.load(ctx, tenant, task)
	if err != nil {
		return Artefact{}, nil, err
	}
	raw, sum := c.artefact(t)
	a, err := OpenArtefact(raw, sum, c.d.Signer.PublicKey())
	return a, raw, err
}

// Summary is a task's state for operators.
type Summary struct {
	Task     string
	Version  int
	Rounds   []store.FLRound
	RhoSpent float64
	Epsilon  float64
	Budget   float64
}

// Summarize returns a task's summary.
func (c *Coordinator) Summarize(ctx context.Context, tenant, task string) (Summary, error) {
	c.mu.Lock()
	t, err := c.load(ctx, tenant, task)
	c.mu.Unlock()
	if err != nil {
		return Summary{}, err
	}
	rounds, err := c.d.Store.FLRounds(ctx, tenant, task)
	if err != nil {
		return Summary{}, err
	}
	st, err := c.d.Store.FLTask(ctx, tenant, task)
	if err != nil {
		return Summary{}, err
	}
	return Summary{Task: task, Version: t.version, Rounds: rounds, RhoSpent: st.RhoSpent, Epsilon: ddg.Epsilon(st.RhoSpent, t.cfg.Delta), Budget: t.cfg.RhoBudget}, nil
}

// Config returns a task's configuration.
func (c *Coordinator) Config(ctx context.Context, tenant, task string) (TaskConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.load(ctx, tenant, task)
	if err != nil {
		return TaskConfig{}, err
	}
	return t.cfg, nil
}
