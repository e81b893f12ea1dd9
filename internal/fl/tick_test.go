package fl_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/dp"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/secagg"
)

// stalled creates task "scene" for n devices with the given stage deadline
// and runs a round in which every device goes offline after sharing its
// keys, so the round waits in the masked-input phase with nobody asking.
func stalled(t *testing.T, n int, stage time.Duration) *harness {
	t.Helper()
	h := newHarness(t, n)
	cfg := config(n)
	cfg.StageTimeout = fl.Duration(stage)
	h.create("scene", cfg)
	for i := 0; i < n; i++ {
		h.devices[i].Transport.(*direct).failAt = phaseOf(secagg.TypeMasked)
	}
	h.round("scene", all(n))
	if s := h.summary(); len(s.Rounds) != 2 || s.Rounds[1].Outcome != "open" {
		t.Fatalf("%d round records before the round ended, want the seed's and round 1 open", len(s.Rounds))
	}
	return h
}

// shiftedClock is the real clock moved forward by what shift added.
type shiftedClock struct{ off atomic.Int64 }

// Now is the real time plus the shift.
func (c *shiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

func (c *shiftedClock) shift(d time.Duration) { c.off.Add(int64(d)) }

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
//
// The stage deadline is an hour, passed by moving the coordinator's clock:
// with a real 300 ms deadline the round's own key exchange (device
// training, secure aggregation, under -race on a loaded machine) could
// outlast it, ending the round before it stalled.
func TestRunAdvancesStalledRound(t *testing.T) {
	const n = 3
	h := stalled(t, n, time.Hour)
	h.c.Tick(context.Background())
	if h.summary().Rounds[1].Outcome != "open" {
		t.Fatal("round ended before its deadline")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.c.Run(ctx, 20*time.Millisecond)
	h.clk.shift(time.Hour + time.Minute)
	deadline := time.Now().Add(time.Minute) // only a Run that never ticks hits it
	for h.summary().Rounds[1].Outcome == "open" {
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
	h := stalled(t, n, time.Hour)
	h.c.Tick(context.Background())
	if h.summary().Rounds[1].Outcome != "open" {
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

// TestRestartAbortsOpenRound: a round in flight when the process stops is
// recorded open; the next process's Recover marks it aborted, charges no ρ
// and the task's next round takes the following number.
func TestRestartAbortsOpenRound(t *testing.T) {
	const n = 3
	h := stalled(t, n, time.Hour)
	rs, err := h.st.FLRounds(context.Background(), tenant, "scene")
	if err != nil || len(rs) != 2 || rs[1].Outcome != "open" || len(rs[1].Participants) != n {
		t.Fatalf("in-flight round not recorded open: %+v, %v", rs, err)
	}
	// The "restart": a new coordinator on the same database.
	c2, err := fl.New(fl.Deps{Store: h.st, Consents: h.cons, Kill: h.kill, Hash: hasher{}, Signer: h.server, Clock: clock.System{}, Noise: dp.DiscreteGaussian})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c2.Recover(context.Background()); err != nil || got != 1 {
		t.Fatalf("Recover = %d, %v; want 1", got, err)
	}
	if got, err := c2.Recover(context.Background()); err != nil || got != 0 {
		t.Fatalf("second Recover = %d, %v; want 0", got, err)
	}
	s, err := c2.Summarize(context.Background(), tenant, "scene")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rounds) != 2 || s.Rounds[1].Outcome != "aborted" || s.RhoSpent != 0 || s.Version != 1 {
		t.Fatalf("after restart: %d records, last %+v, ρ %g, version %d", len(s.Rounds), s.Rounds[len(s.Rounds)-1], s.RhoSpent, s.Version)
	}
	task, err := h.st.FLTask(context.Background(), tenant, "scene")
	if err != nil || task.Rounds != 2 {
		t.Fatalf("task round count %d, %v; want 2 (the next round is number 2)", task.Rounds, err)
	}
}
