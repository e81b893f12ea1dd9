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
	"github.com/obscuraproject/obscura/internal/guard/normality"
	"github.com/obscuraproject/obscura/internal/store"
)

// Model-extraction detection after PRADA (Juuti, Szyller, Marchal and
// Asokan, EuroS&P 2019). An extraction attack queries a model with
// synthetic inputs made from a few seeds by small steps, so the distance
// from each new query to the closest earlier one (per predicted class)
// stops looking like the roughly normal distribution natural inputs give.
// Per API key the watcher keeps PRADA's growing sets G_c, the minimum
// distances D, and flags the key when D's Shapiro–Wilk W falls below
// Delta and D is right-skewed (natural photos' minimum distances tail
// towards small values, an attack's steps from a few seeds towards large
// ones). More signals: families (more than MaxVariants near copies of one
// photo among the recent versions: a perturbation attack), volume
// (queries per hour above MaxPerHour) and novelty (the share of queries
// far enough from all earlier ones to grow G), reported with every flag.
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
	// VariantDistance is the distance between Coarse signatures below
	// which a query that is not a repeat is another version of an earlier
	// query (a resized or re-encoded copy, or a perturbed sample): it
	// counts towards volume and towards its family, not towards the
	// distribution.
	VariantDistance float64
	// FamilyDistance is the distance between Coarse signatures below
	// which a query joins the family of the earlier one (a near copy: a
	// version, or a perturbed sample from it).
	FamilyDistance float64
	// MaxVariants is how many versions one family (a photo and its
	// variants) may have before the key is flagged ("variants").
	MaxVariants int
}

// DefaultExtraction is sized for one app on one machine. Delta,
// MinDistances and RepeatDistance are the values the benign-traffic suite
// and the T-RND attack in package guardeval measure against
// (docs/guards.md): RepeatDistance sits above the distance of a photo's
// re-encodes and resizes to itself (mostly 0.05–0.2) and below a T-RND
// step of ±16 levels (≥ 0.185); VariantDistance (0.07) sits above the
// Coarse distance of re-encodes and resizes (≤ 0.056) and below distinct
// photos' (≥ 0.18); FamilyDistance and MaxVariants catch T-RND at λ 16–64
// within 100 queries without flagging the suite; MaxGrowing bounds the
// per-query cost.
var DefaultExtraction = ExtractionConfig{
	MinDistances:    50,
	Window:          400,
	Delta:           0.90,
	MaxGrowing:      500,
	MaxPerHour:      20000,
	ThrottleEvery:   10 * time.Second,
	BlockAfter:      20,
	RepeatDistance:  0.15,
	VariantDistance: 0.07,
	FamilyDistance:  0.25,
	MaxVariants:     12,
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

// family is a photo and the versions of it a key has sent.
type family struct{ _ byte }

// familyWindow is how many recent versions a family's size is counted
// over.
const familyWindow = 200

type version struct {
	sig []float32
	fam *family
}

type stream struct {
	versions []version // recent queries' Coarse signatures
	maxFam   int       // the largest family's size
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
	shared rateState // with several nodes: the throttle's one query per interval, across nodes
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
	s := e.keys[tenant+"/"+key]
	if s == nil {
		e.mu.Unlock()
		return nil
	}
	if st := e.shared; st != nil && s.state == StateThrottled {
		e.mu.Unlock() // no lock held over the database round trip
		return e.sharedThrottle(st, tenant, key)
	}
	defer e.mu.Unlock()
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
	return normality.ShapiroWilk(s.dists)
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

// skew is the sample skewness of v: positive when a bulk of small values
// has a tail of large ones (an attack's small steps from a few seeds),
// negative when the tail runs towards small values (natural photos, a few
// of which happen to be close to an earlier one).
func skew(v []float64) float64 {
	m, sd := meanStd(v)
	if sd == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		z := (x - m) / sd
		s += z * z * z
	}
	return s / float64(len(v))
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
		if e.cfg.VariantDistance > 0 {
			// The first photo of a class starts a family like any other.
			s.versions = append(s.versions, version{Coarse(thumb), &family{}})
		}
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
		variant := false
		if !repeat && e.cfg.VariantDistance > 0 {
			sig := Coarse(thumb)
			var fam *family
			best := max(e.cfg.VariantDistance, e.cfg.FamilyDistance)
			for _, v := range s.versions {
				if d := dist(sig, v.sig); d < best {
					best, fam = d, v.fam
				}
			}
			if fam != nil {
				variant = best < e.cfg.VariantDistance
				// The family's size among the recent versions: an app
				// revisits a photo now and then, a perturbation attack
				// grows its few families with every query.
				n := 1
				for _, v := range s.versions[max(0, len(s.versions)-familyWindow):] {
					if v.fam == fam {
						n++
					}
				}
				s.maxFam = max(s.maxFam, n)
			} else {
				fam = &family{}
			}
			s.versions = append(s.versions, version{sig, fam})
			if len(s.versions) > e.cfg.MaxGrowing {
				s.versions = s.versions[1:]
			}
		}
		if variant {
			// A version of an earlier photo joins G, so that a later
			// step from it is measured from it, not from the photo.
			g = append(g, thumb)
			if len(g) > e.cfg.MaxGrowing {
				g = g[1:]
			}
			s.growing[class] = g
		}
		if !repeat && !variant {
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
		w = normality.ShapiroWilk(s.dists)
	}
	reason := ""
	switch {
	case len(s.dists) >= e.cfg.MinDistances && w < e.cfg.Delta && skew(s.dists) > 0:
		reason = "distribution"
	case e.cfg.MaxVariants > 0 && s.maxFam > e.cfg.MaxVariants:
		reason = "variants"
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
	e.mu.Lock()
	e.states = st
	e.mu.Unlock()
	return e.Refresh(ctx)
}

// Refresh re-reads the recorded key states and applies those stricter
// than what this process knows: with several nodes on one database, a key
// another node throttled or blocked is throttled or blocked here too
// (wire runs it every second on a shared store). It never lifts a state.
func (e *Extraction) Refresh(ctx context.Context) error {
	e.mu.Lock()
	st := e.states
	e.mu.Unlock()
	if st == nil {
		return nil
	}
	all, err := st.GuardStates(ctx)
	if err != nil {
		return fmt.Errorf("extraction guard: load key states: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, gs := range all {
		if gs.State != StateThrottled && gs.State != StateBlocked {
			continue
		}
		k := gs.TenantID + "/" + gs.KeyID
		s := e.keys[k]
		if s == nil {
			s = &stream{growing: map[string][][]float32{}, classD: map[string][]float64{}, state: StateOK}
			e.keys[k] = s
		}
		if severity(gs.State) > severity(s.state) {
			s.state = gs.State
		}
	}
	return nil
}

// Run refreshes the key states every interval until ctx ends.
func (e *Extraction) Run(ctx context.Context, interval time.Duration) {
	clock.Every(ctx, interval, func() {
		if err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "extraction guard: keeping the last known key states", "err", err)
		}
	})
}

// severity orders key states: ok < throttled < blocked.
func severity(state string) int {
	switch state {
	case StateThrottled:
		return 1
	case StateBlocked:
		return 2
	}
	return 0
}

// Detail renders a flag for alerts and audit: numbers and fixed words only.
func (f Flag) Detail() string {
	return fmt.Sprintf("state=%s reason=%s W=%.3f novelty=%.2f queries=%d", f.State, f.Reason, f.W, f.Novelty, f.Queries)
}

// Coarse pools a 32×32 thumbnail to 8×8 cells (4×4 means): the
// signature by which a re-encoded or resized copy of a photo is
// recognised as a version of it.
func Coarse(thumb []float32) []float32 {
	const k = thumbSide / coarseSide
	out := make([]float32, coarseSide*coarseSide)
	for y := range thumbSide {
		for x := range thumbSide {
			out[(y/k)*coarseSide+x/k] += thumb[y*thumbSide+x] / (k * k)
		}
	}
	return out
}

const coarseSide = 8
