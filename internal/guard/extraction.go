package guard

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Model-extraction detection after PRADA (Juuti, Szyller, Marchal and
// Asokan, EuroS&P 2019). An extraction attack queries a model with
// synthetic inputs made from a few seeds by small steps, so the distance
// from each new query to the closest earlier one (per predicted class)
// stops looking like the roughly normal distribution natural inputs give.
// Per API key the watcher keeps PRADA's growing sets G_c, the minimum
// distances D, and flags the key when D's Shapiro–Wilk W falls below
// Delta. Two more signals: volume (queries per hour above MaxPerHour) and
// novelty (the share of queries far enough from all earlier ones to grow
// G), reported with every flag.
//
// Queries are compared as 32×32 grey thumbnails scaled to 0..1 (PRADA
// compares inputs in input space; a thumbnail is a bounded, pixel-free
// stand-in: it is kept in memory only, never stored or logged). A repeat
// of an earlier query (closer than RepeatDistance: a retry, a
// re-analysis, a re-encoded upload) adds nothing to D. The unit is the API
// key, not key and subject: the key holder names subjects, so per-subject
// streams could be split at will. Throttled and blocked states are
// written to the store (Restore) and survive restarts; only revoking the
// key lifts them.

// ExtractionConfig tunes the watcher.
type ExtractionConfig struct {
	// MinDistances is how many minimum distances a key needs before its
	// distribution is tested.
	MinDistances int
	// Window bounds the distances kept per key (the newest).
	Window int
	// Delta is the W below which a key is flagged.
	Delta float64
	// MaxGrowing bounds each class set G_c per key (the oldest go).
	MaxGrowing int
	// MaxPerHour flags a key by volume alone.
	MaxPerHour int
	// ThrottleEvery is the one query per interval a flagged key keeps.
	ThrottleEvery time.Duration
	// BlockAfter is how many more flagged queries a throttled key may
	// make before it is blocked.
	BlockAfter int
	// RepeatDistance is the thumbnail distance below which a query
	// repeats an earlier one (retries, re-analysis, re-encodes): it counts
	// towards volume but not towards the distribution.
	RepeatDistance float64
}

// DefaultExtraction is sized for one app on one machine. Delta,
// MinDistances and RepeatDistance are the values the benign-traffic suite
// and the T-RND attack in package guardeval measure against
// (docs/guards.md): RepeatDistance sits above the distance of a photo's
// re-encodes and resizes to itself (mostly 0.05–0.2) and below a T-RND
// step of ±16 levels (≥ 0.185); MaxGrowing bounds the per-query cost.
var DefaultExtraction = ExtractionConfig{
	MinDistances:   50,
	Window:         400,
	Delta:          0.90,
	MaxGrowing:     500,
	MaxPerHour:     20000,
	ThrottleEvery:  10 * time.Second,
	BlockAfter:     20,
	RepeatDistance: 0.15,
}

// Key states.
const (
	StateOK        = "ok"
	StateThrottled = "throttled"
	StateBlocked   = "blocked"
)

// Flag is raised when a key changes state.
type Flag struct {
	Tenant, Key string
	State       string
	Reason      string // "distribution", "volume"
	W           float64
	Novelty     float64
	Queries     int
}

const thumbSide = 32

// Thumbnail is the query representation: the whole image averaged down
// (or spread up) to 32×32 grey cells, 0..1, each cell the area-weighted
// mean of the pixels it covers. Area averaging (not point sampling) makes
// it stable under what apps do to a photo — re-encoding, resizing,
// screenshots — so a repeat of a photo lands next to it.
func Thumbnail(img *image.RGBA) []float32 {
	out := make([]float32, thumbSide*thumbSide)
	r := img.Rect
	if r.Empty() {
		return out
	}
	w, h := r.Dx(), r.Dy()
	xs, ys := cover(w), cover(h)
	var rowSum [thumbSide]float64
	var acc [thumbSide * thumbSide]float64
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		rowSum = [thumbSide]float64{}
		for x := range w {
			g := 0.299*float64(row[4*x]) + 0.587*float64(row[4*x+1]) + 0.114*float64(row[4*x+2])
			for _, c := range xs[x] {
				rowSum[c.cell] += g * c.w
			}
		}
		for _, cy := range ys[y] {
			for cx, v := range rowSum {
				acc[cy.cell*thumbSide+cx] += v * cy.w
			}
		}
	}
	// Every cell is covered by exactly (w/32)·(h/32) pixel area.
	area := float64(w) * float64(h) / (thumbSide * thumbSide)
	for i, v := range acc {
		out[i] = float32(v / area / 255)
	}
	return out
}

type share struct {
	cell int
	w    float64
}

// cover maps each of n source pixels along an axis to the thumbnail cells
// it overlaps, with the overlap's length in source pixels.
func cover(n int) [][]share {
	out := make([][]share, n)
	k := float64(thumbSide) / float64(n) // cells per source pixel
	for i := range out {
		lo, hi := float64(i)*k, float64(i+1)*k
		for c := int(lo); c < thumbSide && float64(c) < hi; c++ {
			ov := math.Min(hi, float64(c+1)) - math.Max(lo, float64(c))
			if ov > 0 {
				out[i] = append(out[i], share{c, ov / k})
			}
		}
	}
	return out
}

type stream struct {
	growing  map[string][][]float32
	seen     [][]float32 // recent queries that did not grow G, for repeats
	dists    []float64   // minimum distances, newest last
	classD   map[string][]float64
	grew     []bool // per recent query: did it grow G
	queries  int
	hour     int64
	perHour  int
	state    string
	flagged  int // queries since flagged
	lastPass time.Time
}

// Extraction watches API keys. It is safe for concurrent use.
type Extraction struct {
	cfg    ExtractionConfig
	clk    clock.Clock
	notify func(Flag)
	log    *slog.Logger
	mu     sync.Mutex
	keys   map[string]*stream
	states stateStore
}

// NewExtraction returns a watcher; notify is called (outside the lock)
// whenever a key is throttled or blocked. Its state lives in memory until
// Restore gives it a store.
func NewExtraction(cfg ExtractionConfig, clk clock.Clock, notify func(Flag)) *Extraction {
	return &Extraction{cfg: cfg, clk: clk, notify: notify, log: slog.Default().With("component", "guard"), keys: map[string]*stream{}}
}

// Check is called before an inference: nil, or why the key may not query.
func (e *Extraction) Check(tenant, key string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.keys[tenant+"/"+key]
	if s == nil {
		return nil
	}
	switch s.state {
	case StateBlocked:
		return fault.New(fault.Blocked, "this API key is blocked: its queries look like model extraction")
	case StateThrottled:
		now := e.clk.Now()
		if next := s.lastPass.Add(e.cfg.ThrottleEvery); now.Before(next) {
			return &RateLimitedError{RetryAfter: next.Sub(now), Why: "this API key is throttled: its queries look like model extraction"}
		}
		s.lastPass = now
	}
	return nil
}

// State is a key's current state.
func (e *Extraction) State(tenant, key string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.keys[tenant+"/"+key]; s != nil {
		return s.state
	}
	return StateOK
}

// W is the Shapiro–Wilk statistic of a key's current minimum distances
// (1 before MinDistances of them).
func (e *Extraction) W(tenant, key string) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.keys[tenant+"/"+key]
	if s == nil || len(s.dists) < e.cfg.MinDistances {
		return 1
	}
	return ShapiroWilk(s.dists)
}

func dist(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)))
}

// Observe records one query of key: its thumbnail and the class the model
// predicted for it. It returns the key's state after the query. A change
// of state is written to the state store (Restore) before it is
// returned.
func (e *Extraction) Observe(ctx context.Context, tenant, key string, thumb []float32, class string) string {
	e.mu.Lock()
	s := e.keys[tenant+"/"+key]
	if s == nil {
		s = &stream{growing: map[string][][]float32{}, classD: map[string][]float64{}, state: StateOK}
		e.keys[tenant+"/"+key] = s
	}
	s.queries++
	if h := e.clk.Now().Unix() / 3600; h != s.hour {
		s.hour, s.perHour = h, 0
	}
	s.perHour++
	g := s.growing[class]
	grew := false
	if len(g) == 0 {
		s.growing[class] = [][]float32{thumb}
		grew = true
	} else {
		dmin := math.Inf(1)
		for _, y := range g {
			dmin = math.Min(dmin, dist(thumb, y))
		}
		// A repeat of an earlier query (a retry, a re-analysis, the same
		// photo re-encoded or resized) teaches an attacker nothing new
		// about the model: it counts towards volume only. Earlier queries
		// that did not grow G are remembered apart for this.
		repeat := dmin < e.cfg.RepeatDistance
		for _, y := range s.seen {
			if repeat {
				break
			}
			repeat = dist(thumb, y) < e.cfg.RepeatDistance
		}
		if !repeat {
			s.dists = append(s.dists, dmin)
			if len(s.dists) > e.cfg.Window {
				s.dists = s.dists[len(s.dists)-e.cfg.Window:]
			}
			m, sd := meanStd(s.classD[class])
			if dmin > m-sd {
				g = append(g, thumb)
				if len(g) > e.cfg.MaxGrowing {
					g = g[1:]
				}
				s.growing[class] = g
				cd := append(s.classD[class], dmin)
				if len(cd) > e.cfg.Window {
					cd = cd[1:]
				}
				s.classD[class] = cd
				grew = true
			} else {
				s.seen = append(s.seen, thumb)
				if len(s.seen) > e.cfg.MaxGrowing {
					s.seen = s.seen[1:]
				}
			}
		}
	}
	s.grew = append(s.grew, grew)
	if len(s.grew) > e.cfg.Window {
		s.grew = s.grew[1:]
	}
	var flag *Flag
	w := 1.0
	if len(s.dists) >= e.cfg.MinDistances {
		w = ShapiroWilk(s.dists)
	}
	reason := ""
	switch {
	case len(s.dists) >= e.cfg.MinDistances && w < e.cfg.Delta:
		reason = "distribution"
	case e.cfg.MaxPerHour > 0 && s.perHour > e.cfg.MaxPerHour:
		reason = "volume"
	}
	if reason != "" {
		switch s.state {
		case StateOK:
			s.state, s.flagged, s.lastPass = StateThrottled, 0, e.clk.Now()
			flag = &Flag{State: StateThrottled}
		case StateThrottled:
			s.flagged++
			if s.flagged >= e.cfg.BlockAfter {
				s.state = StateBlocked
				flag = &Flag{State: StateBlocked}
			}
		}
	}
	if flag != nil {
		n := 0
		for _, g := range s.grew {
			if g {
				n++
			}
		}
		flag.Tenant, flag.Key, flag.Reason, flag.W, flag.Queries = tenant, key, reason, w, s.queries
		flag.Novelty = float64(n) / float64(len(s.grew))
	}
	state := s.state
	st := e.states
	e.mu.Unlock()
	if flag != nil {
		if st != nil {
			gs := store.GuardState{TenantID: tenant, KeyID: key, State: flag.State, Detail: flag.Detail(), Since: e.clk.Now().UTC()}
			if err := st.SetGuardState(ctx, gs); err != nil {
				// The state holds in this process; it is lost on restart.
				e.log.ErrorContext(ctx, "extraction guard: persist key state", "state", flag.State, "err", err)
			}
		}
		if e.notify != nil {
			e.notify(*flag)
		}
	}
	return state
}

// stateStore keeps keys' states across restarts (store.GuardStates).
type stateStore interface {
	SetGuardState(ctx context.Context, s store.GuardState) error
	GuardStates(ctx context.Context) ([]store.GuardState, error)
}

// Restore loads the throttled and blocked keys from st and writes every
// later change of state to it, so that a restart lifts nothing. States
// are lifted only by revoking the key (a new key starts clean).
func (e *Extraction) Restore(ctx context.Context, st stateStore) error {
	all, err := st.GuardStates(ctx)
	if err != nil {
		return fmt.Errorf("extraction guard: load key states: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.states = st
	for _, gs := range all {
		if gs.State != StateThrottled && gs.State != StateBlocked {
			continue
		}
		k := gs.TenantID + "/" + gs.KeyID
		s := e.keys[k]
		if s == nil {
			s = &stream{growing: map[string][][]float32{}, classD: map[string][]float64{}}
			e.keys[k] = s
		}
		s.state = gs.State
	}
	return nil
}

// Detail renders a flag for alerts and audit: numbers and fixed words only.
func (f Flag) Detail() string {
	return fmt.Sprintf("state=%s reason=%s W=%.3f novelty=%.2f queries=%d", f.State, f.Reason, f.W, f.Novelty, f.Queries)
}
