package guard

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/vision/picture"
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
// stand-in: it is kept in memory only, never stored or logged).

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
}

// DefaultExtraction is sized for one app on one machine; Delta and
// MinDistances are the values TestExtractionSimulation measures against.
var DefaultExtraction = ExtractionConfig{
	MinDistances:  50,
	Window:        400,
	Delta:         0.90,
	MaxGrowing:    2000,
	MaxPerHour:    20000,
	ThrottleEvery: 10 * time.Second,
	BlockAfter:    20,
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

// Thumbnail is the query representation: 32×32 grey, 0..1.
func Thumbnail(p *picture.Picture) []float32 {
	out := make([]float32, thumbSide*thumbSide)
	picture.Resize(p.RGB, p.RGB.Rect, thumbSide, thumbSide, func(x, y int, r, g, b float32) {
		out[y*thumbSide+x] = (0.299*r + 0.587*g + 0.114*b) / 255
	})
	return out
}

type stream struct {
	growing  map[string][][]float32
	dists    []float64 // minimum distances, newest last
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
	mu     sync.Mutex
	keys   map[string]*stream
}

// NewExtraction returns a watcher; notify is called (outside the lock)
// whenever a key is throttled or blocked.
func NewExtraction(cfg ExtractionConfig, clk clock.Clock, notify func(Flag)) *Extraction {
	return &Extraction{cfg: cfg, clk: clk, notify: notify, keys: map[string]*stream{}}
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
// predicted for it. It returns the key's state after the query.
func (e *Extraction) Observe(tenant, key string, thumb []float32, class string) string {
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
	e.mu.Unlock()
	if flag != nil && e.notify != nil {
		e.notify(*flag)
	}
	return state
}

// Detail renders a flag for alerts and audit: numbers and fixed words only.
func (f Flag) Detail() string {
	return fmt.Sprintf("state=%s reason=%s W=%.3f novelty=%.2f queries=%d", f.State, f.Reason, f.W, f.Novelty, f.Queries)
}
