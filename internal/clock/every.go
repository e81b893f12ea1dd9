package clock

import (
	"context"
	"time"
)

// Every calls f every interval (real time: interval only paces background
// checks such as refreshing shared state; what they decide reads the
// injected Clock) until ctx ends. It returns when ctx ends.
func Every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
