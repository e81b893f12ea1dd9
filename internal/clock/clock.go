// Package clock provides the injected time source used for every TTL, expiry,
// rate limit and retention decision, so that tests control time instead of sleeping.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the real wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Sleep waits d, or until ctx ends.
func (System) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sleep waits d on clk: a clock that can sleep (System, Fake) does; any
// other sleeps in real time. It returns early with ctx's error.
func Sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if s, ok := clk.(interface {
		Sleep(context.Context, time.Duration) error
	}); ok {
		return s.Sleep(ctx, d)
	}
	return System{}.Sleep(ctx, d)
}

// Fake is a manually advanced clock for tests. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep advances the fake time by d and returns at once, so code that
// backs off does not make tests wait.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.Advance(d)
	return nil
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

var (
	_ Clock = System{}
	_ Clock = (*Fake)(nil)
)
