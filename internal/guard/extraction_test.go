package guard

import (
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

func TestExtractionThrottleAndVolume(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	cfg := DefaultExtraction
	cfg.MaxPerHour = 5
	var flags []Flag
	x := NewExtraction(cfg, clk, func(f Flag) { flags = append(flags, f) })
	rng := rand.New(rand.NewPCG(5, 6))
	thumb := func() []float32 {
		v := make([]float32, thumbSide*thumbSide)
		for i := range v {
			v[i] = rng.Float32()
		}
		return v
	}
	for range 6 {
		x.Observe(context.Background(), "t", "k", thumb(), "_")
	}
	if x.State("t", "k") != StateThrottled || len(flags) != 1 || flags[0].Reason != "volume" {
		t.Fatalf("volume: state %s flags %+v", x.State("t", "k"), flags)
	}
	// Throttled: one query per ThrottleEvery.
	if err := x.Check("t", "k"); err != nil {
		clk.Advance(cfg.ThrottleEvery)
		if err := x.Check("t", "k"); err != nil {
			t.Fatalf("throttled key refused after the interval: %v", err)
		}
	}
	err := x.Check("t", "k")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > cfg.ThrottleEvery {
		t.Errorf("second query within the interval: %v", err)
	}
	// Another tenant's key of the same id is separate.
	if err := x.Check("other", "k"); err != nil {
		t.Errorf("other tenant: %v", err)
	}
}

// memStates is a test double of the state store.
type memStates struct{ m map[string]store.GuardState }

func (s *memStates) SetGuardState(_ context.Context, g store.GuardState) error {
	s.m[g.TenantID+"/"+g.KeyID] = g
	return nil
}

func (s *memStates) GuardStates(context.Context) ([]store.GuardState, error) {
	var out []store.GuardState
	for _, g := range s.m {
		out = append(out, g)
	}
	return out, nil
}

// TestExtractionStateSurvivesRestart: a throttled, then blocked key is
// still throttled and blocked in a new watcher restored from the store (a
// restart lifts nothing), and a key the store does not name starts ok.
func TestExtractionStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	cfg := DefaultExtraction
	cfg.MaxPerHour, cfg.BlockAfter = 3, 2
	st := &memStates{m: map[string]store.GuardState{}}
	x := NewExtraction(cfg, clk, nil)
	if err := x.Restore(ctx, st); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	observe := func(x *Extraction, key string) string {
		v := make([]float32, thumbSide*thumbSide)
		for i := range v {
			v[i] = rng.Float32()
		}
		return x.Observe(ctx, "t", key, v, "_")
	}
	for range 4 {
		observe(x, "slow")
	}
	if got := st.m["t/slow"].State; got != StateThrottled {
		t.Fatalf("stored state %q, want throttled", got)
	}
	y := NewExtraction(cfg, clk, nil)
	if err := y.Restore(ctx, st); err != nil {
		t.Fatal(err)
	}
	if y.State("t", "slow") != StateThrottled || y.State("t", "other") != StateOK {
		t.Fatalf("after restart: slow %s, other %s", y.State("t", "slow"), y.State("t", "other"))
	}
	for range 5 {
		observe(y, "slow")
	}
	if got := st.m["t/slow"].State; got != StateBlocked {
		t.Fatalf("stored state %q, want blocked", got)
	}
	z := NewExtraction(cfg, clk, nil)
	if err := z.Restore(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := z.Check("t", "slow"); !errors.Is(err, fault.Blocked) {
		t.Errorf("blocked key after restart: %v", err)
	}
	if err := z.Check("t", "other"); err != nil {
		t.Errorf("unflagged key after restart: %v", err)
	}
}

// TestExtractionRepeats: re-analysing the same photo (the same thumbnail)
// many times adds nothing to the distribution, so it never flags a key;
// before repeats were set apart, ~70 re-analyses of one photo blocked a
// key.
func TestExtractionRepeats(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	var flags []Flag
	x := NewExtraction(DefaultExtraction, clk, func(f Flag) { flags = append(flags, f) })
	rng := rand.New(rand.NewPCG(2, 3))
	photos := make([][]float32, 5)
	for i := range photos {
		photos[i] = make([]float32, thumbSide*thumbSide)
		for j := range photos[i] {
			photos[i][j] = rng.Float32()
		}
	}
	for i := range 1000 {
		clk.Advance(time.Second)
		x.Observe(context.Background(), "t", "k", photos[i%len(photos)], "person")
	}
	if len(flags) != 0 || x.State("t", "k") != StateOK {
		t.Errorf("re-analysis flagged the key: %+v", flags)
	}
}

// TestThumbnail: a flat image gives its grey level everywhere; the same
// picture at another size lands next to itself.
func TestThumbnail(t *testing.T) {
	flat := image.NewRGBA(image.Rect(0, 0, 50, 70))
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	for _, v := range Thumbnail(flat) {
		if v < 0.501 || v > 0.503 {
			t.Fatalf("flat 128 gives %v", v)
		}
	}
	// Left half black, right half white, at 64 and 20 pixels wide.
	half := func(w int) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, w))
		for y := range w {
			for x := w / 2; x < w; x++ {
				o := img.PixOffset(x, y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = 255, 255, 255
			}
		}
		return img
	}
	if d := dist(Thumbnail(half(64)), Thumbnail(half(20))); d > 0.01 {
		t.Errorf("the same picture at two sizes is %.3f apart", d)
	}
	if got := Thumbnail(image.NewRGBA(image.Rect(0, 0, 0, 0))); len(got) != thumbSide*thumbSide {
		t.Errorf("empty image: %d values", len(got))
	}
}
