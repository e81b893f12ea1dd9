package fl_test

import (
	"context"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/secagg"
)

// stall runs a round in which every device goes offline after sharing its
// keys, so the round waits in the masked-input phase with nobody asking.
func stall(t *testing.T, h *harness, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		h.devices[i].Transport.(*direct).failAt = phaseOf(secagg.TypeMasked)
	}
	h.round("scene", all(n))
	if s := h.summary(); len(s.Rounds) != 1 {
		t.Fatalf("%d round records before the round ended, want 1 (the seed)", len(s.Rounds))
	}
}

func (h *harness) summary() fl.Summary {
	h.t.Helper()
	s, err := h.c.Summarize(context.Background(), tenant, "scene")
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// TestRunAdvancesStalledRound: with no request at all, Run (what serve
// starts) closes the stalled phase at its deadline and aborts the round
// without charging its budget.
func TestRunAdvancesStalledRound(t *testing.T) {
	const n = 3
	h := newHarness(t, n)
	cfg := config(n)
	cfg.StageTimeout = fl.Duration(300 * time.Millisecond)
	h.create("scene", cfg)
	stall(t, h, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.c.Run(ctx, 20*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.summary().Rounds) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled round never ended without requests")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := h.summary()
	if got := s.Rounds[1].Outcome; got != "aborted" {
		t.Fatalf("outcome %q, want aborted", got)
	}
	if s.RhoSpent != 0 {
		t.Fatalf("ρ spent %g by an aborted round", s.RhoSpent)
	}
}

// TestKillStopsRunningRound: throwing the kill switch mid-round aborts the
// round at the next tick, long before its stage deadline, and refuses the
// next check-in.
func TestKillStopsRunningRound(t *testing.T) {
	const n = 3
	h := newHarness(t, n)
	cfg := config(n)
	cfg.StageTimeout = fl.Duration(time.Hour)
	h.create("scene", cfg)
	stall(t, h, n)
	h.c.Tick(context.Background())
	if len(h.summary().Rounds) != 1 {
		t.Fatal("round ended before its deadline without the kill switch")
	}
	h.kill.set(true)
	h.c.Tick(context.Background())
	s := h.summary()
	if len(s.Rounds) != 2 || s.Rounds[1].Outcome != "aborted" {
		t.Fatalf("after the kill switch: %d records, last %+v", len(s.Rounds), s.Rounds[len(s.Rounds)-1])
	}
	if s.RhoSpent != 0 {
		t.Fatalf("ρ spent %g by a killed round", s.RhoSpent)
	}
}
