package clock

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestEvery: f runs repeatedly while ctx lives, never after Every returns.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		Every(ctx, time.Millisecond, func() {
			if n.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	got := n.Load()
	if got < 3 {
		t.Fatalf("f ran %d times before cancel, want 3", got)
	}
	time.Sleep(5 * time.Millisecond)
	if n.Load() != got {
		t.Errorf("f ran after Every returned")
	}
}
