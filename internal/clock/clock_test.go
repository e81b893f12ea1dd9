package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := Sleep(context.Background(), f, time.Hour); err != nil || f.Now().Hour() != 1 {
		t.Errorf("fake sleep: %v, now %v", err, f.Now())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, System{}, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("system sleep with a cancelled context: %v", err)
	}
	if err := Sleep(ctx, f, time.Hour); !errors.Is(err, context.Canceled) || f.Now().Hour() != 1 {
		t.Errorf("fake sleep with a cancelled context: %v, now %v", err, f.Now())
	}
}
