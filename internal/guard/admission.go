package guard

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// OverloadedError says a gate's queue is full (or the wait would be too
// long): the server is shedding load. The API answers 503 overloaded with
// Retry-After. It is not a per-key limit (that is 429 rate_limited).
type OverloadedError struct {
	// Gate names the gate ("analysis", "decode").
	Gate string
	// RetryAfter is a hint for the client.
	RetryAfter time.Duration
}

func (e *OverloadedError) Error() string {
	return fmt.Sprintf("%s queue full; retry after %s", e.Gate, e.RetryAfter)
}

// Is makes errors.Is(err, fault.Unavailable) and errors.Is(err,
// ErrOverloaded) true.
func (e *OverloadedError) Is(target error) bool {
	return target == fault.Unavailable || target == ErrOverloaded
}

// RetryAfterSeconds is the Retry-After header value (at least 1).
func (e *OverloadedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// ErrOverloaded matches every *OverloadedError with errors.Is.
var ErrOverloaded = fault.New(fault.Unavailable, "server overloaded")

// GateConfig sizes an admission gate.
type GateConfig struct {
	// Capacity is how many units may run at once (analyses: one unit each;
	// decodes: megapixels). A request heavier than Capacity runs alone.
	Capacity int64
	// MaxQueue is how many Admit callers may wait; one more is refused
	// with *OverloadedError. 0 refuses whenever Capacity is in use.
	MaxQueue int
	// MaxWait bounds how long an Admit caller waits; 0 waits until its
	// context ends.
	MaxWait time.Duration
	// RetryAfter is the hint given with a refusal (default 1 s).
	RetryAfter time.Duration
}

type waiter struct {
	n     int64
	ready chan struct{}
}

// Gate is a weighted, first-come-first-served semaphore with a bounded
// queue: at most Capacity units of work run at once, later requests wait
// in order, and when MaxQueue requests are already waiting the next one is
// refused at once instead of piling up (load shedding). Release returns
// units and wakes waiters in order.
type Gate struct {
	name string
	cfg  GateConfig

	mu      sync.Mutex
	used    int64
	queued  int // Admit callers waiting (Wait callers are not counted)
	waiters list.List
	onIdle  func(peak int64)
	peak    int64 // most units in use since the gate was last idle
}

// NewGate returns a gate named name (used in errors and metrics).
func NewGate(name string, cfg GateConfig) *Gate {
	if cfg.Capacity < 1 {
		cfg.Capacity = 1
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	return &Gate{name: name, cfg: cfg}
}

// OnIdle sets a function called (in its own goroutine) whenever the last
// running unit is released, with the most units that were in use since the
// gate was last idle, e.g. to return memory to the OS after a burst of
// large decodes. It returns g.
func (g *Gate) OnIdle(f func(peak int64)) *Gate {
	g.onIdle = f
	return g
}

// Admit waits for n units in the bounded queue, or returns an
// *OverloadedError when the queue is full or MaxWait passes. The returned
// function releases the units; call it exactly once.
func (g *Gate) Admit(ctx context.Context, n int64) (func(), error) {
	return g.acquire(ctx, n, true)
}

// Wait waits for n units until ctx ends, outside the bounded queue: for
// background workers, which must queue rather than fail.
func (g *Gate) Wait(ctx context.Context, n int64) (func(), error) {
	return g.acquire(ctx, n, false)
}

// InUse reports the units running and the Admit callers waiting.
func (g *Gate) InUse() (used int64, queued int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used, g.queued
}

func (g *Gate) acquire(ctx context.Context, n int64, bounded bool) (func(), error) {
	n = min(max(n, 1), g.cfg.Capacity)
	g.mu.Lock()
	if g.used+n <= g.cfg.Capacity && g.waiters.Len() == 0 {
		g.used += n
		g.peak = max(g.peak, g.used)
		g.mu.Unlock()
		return g.releaser(n), nil
	}
	if bounded && g.queued >= g.cfg.MaxQueue {
		g.mu.Unlock()
		return nil, &OverloadedError{Gate: g.name, RetryAfter: g.cfg.RetryAfter}
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	el := g.waiters.PushBack(w)
	if bounded {
		g.queued++
	}
	g.mu.Unlock()

	var timeout <-chan time.Time
	if bounded && g.cfg.MaxWait > 0 {
		t := time.NewTimer(g.cfg.MaxWait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = &OverloadedError{Gate: g.name, RetryAfter: g.cfg.RetryAfter}
	}
	g.mu.Lock()
	if bounded {
		g.queued--
	}
	if err != nil {
		select {
		case <-w.ready: // granted while giving up: give the units back
			g.used -= n
		default:
			g.waiters.Remove(el)
		}
		g.wake()
		g.mu.Unlock()
		return nil, err
	}
	g.mu.Unlock()
	return g.releaser(n), nil
}

// wake grants waiters in order while they fit. Called with g.mu held.
func (g *Gate) wake() {
	for e := g.waiters.Front(); e != nil; e = g.waiters.Front() {
		w := e.Value.(*waiter)
		if g.used+w.n > g.cfg.Capacity {
			return
		}
		g.used += w.n
		g.peak = max(g.peak, g.used)
		g.waiters.Remove(e)
		close(w.ready)
	}
}

func (g *Gate) releaser(n int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.used -= n
			g.wake()
			idle := g.used == 0 && g.onIdle != nil
			peak := g.peak
			if g.used == 0 {
				g.peak = 0
			}
			g.mu.Unlock()
			if idle {
				go g.onIdle(peak)
			}
		})
	}
}

// FreeIdleMemory returns a function for Gate.OnIdle that, after a burst
// that used at least minPeak units, collects garbage and gives freed heap
// memory back to the operating system when the Go runtime holds more than
// threshold bytes from the OS (after large decodes it would otherwise keep
// them, and the process's RSS stays near its peak). After smaller bursts
// it does nothing; below the threshold it costs one runtime/metrics read.
func FreeIdleMemory(minPeak int64, threshold uint64) func(peak int64) {
	var mu sync.Mutex
	return func(peak int64) {
		if peak < minPeak {
			return
		}
		if !mu.TryLock() {
			return // one release at a time is enough
		}
		defer mu.Unlock()
		if HeldMemory() > threshold {
			debug.FreeOSMemory()
		}
	}
}

// HeldMemory is the memory the Go runtime holds from the operating system
// (mapped and not released), in bytes.
func HeldMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
