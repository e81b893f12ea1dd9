package guard

import (
	"errors"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// benignStream is an app's natural workload: distinct photos, each seen
// once. The pinned set has six photos, so "distinct photos" are the
// non-overlapping tiles of a 7×7 grid over each (294 scenes of people,
// rooms and objects, none a near-copy of another), shuffled, with every
// fifth query a rendered text image (memes, signs, notes).
func benignStream(t *testing.T, n int, rng *rand.Rand) []*picture.Picture {
	names, _ := visiontest.Faces(t)
	var tiles []*picture.Picture
	for _, name := range names {
		src := visiontest.Picture(t, name)
		w, h := src.RGB.Rect.Dx()/7, src.RGB.Rect.Dy()/7
		for gy := range 7 {
			for gx := range 7 {
				r := image.Rect(gx*w, gy*h, (gx+1)*w, (gy+1)*h)
				tiles = append(tiles, &picture.Picture{RGB: src.RGB.SubImage(r).(*image.RGBA), Width: w, Height: h, Scale: 1})
			}
		}
	}
	rng.Shuffle(len(tiles), func(i, j int) { tiles[i], tiles[j] = tiles[j], tiles[i] })
	var out []*picture.Picture
	for i := 0; len(out) < n; i++ {
		if i%5 == 4 {
			st := visiontest.Style(rng.IntN(3))
			a := rng.IntN(len(visiontest.Sentences))
			p, _ := visiontest.RenderText(t, []string{visiontest.Sentences[a], visiontest.Sentences[(a+5)%len(visiontest.Sentences)]}, st, 26+float64(rng.IntN(20)), names[rng.IntN(len(names))])
			out = append(out, p)
			continue
		}
		out = append(out, tiles[i%len(tiles)])
	}
	return out
}

// perturb is T-RND's synthetic sample: x + λ·sign(N(0,1)) per value, clipped.
func perturb(p *picture.Picture, lambda int, rng *rand.Rand) *picture.Picture {
	img := image.NewRGBA(p.RGB.Rect)
	copy(img.Pix, p.RGB.Pix)
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		v := int(img.Pix[i]) + lambda*(2*rng.IntN(2)-1)
		img.Pix[i] = uint8(min(255, max(0, v)))
	}
	return &picture.Picture{RGB: img, Width: p.Width, Height: p.Height, Scale: 1}
}

func predict(t *testing.T, c *nsfw.Classifier, p *picture.Picture) string {
	out, err := c.Raw(nsfw.Input(p), 1)
	if err != nil {
		t.Fatal(err)
	}
	return nsfw.Classes[top(out)]
}

func top(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// TestExtractionSimulation runs a benign workload and a scripted
// extraction attack (PRADA's T-RND: a few seeds, then rounds of random
// sign perturbations of everything queried so far) through the watcher,
// each on its own key, and reports when each is flagged.
func TestExtractionSimulation(t *testing.T) {
	visiontest.Dir(t)
	c, err := nsfw.New(visiontest.Load(t, nsfw.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	var flags []Flag
	x := NewExtraction(DefaultExtraction, clk, func(f Flag) { flags = append(flags, f) })
	rng := rand.New(rand.NewPCG(3, 4))

	const benignN = 300
	for i, p := range benignStream(t, benignN, rng) {
		clk.Advance(2 * time.Second)
		if st := x.Observe("ten_a", "key_benign", Thumbnail(p), predict(t, c, p)); st != StateOK {
			t.Fatalf("benign key flagged after %d queries: %+v", i+1, flags)
		}
	}
	x.mu.Lock()
	wBenign := ShapiroWilk(x.keys["ten_a/key_benign"].dists)
	x.mu.Unlock()
	t.Logf("benign: %d queries, no flag, W = %.3f (Delta %.2f)", benignN, wBenign, DefaultExtraction.Delta)

	// The attack: 5 seeds (224×224 crops of sample photos), then T-RND rounds.
	seeds := benignStream(t, 5, rng)
	var pool []*picture.Picture
	for _, s := range seeds {
		pool = append(pool, at224(s))
	}
	queries, flaggedAt, blockedAt := 0, 0, 0
	query := func(p *picture.Picture) {
		queries++
		clk.Advance(200 * time.Millisecond)
		switch x.Observe("ten_a", "key_attacker", Thumbnail(p), predict(t, c, p)) {
		case StateThrottled:
			if flaggedAt == 0 {
				flaggedAt = queries
			}
		case StateBlocked:
			if blockedAt == 0 {
				blockedAt = queries
			}
		}
	}
	for _, p := range pool {
		query(p)
	}
	for round := 0; blockedAt == 0 && queries < 2000; round++ {
		n := len(pool)
		for i := 0; i < n && blockedAt == 0; i++ {
			q := perturb(pool[i], 25, rng)
			pool = append(pool, q)
			query(q)
		}
	}
	t.Logf("attack: throttled after %d queries, blocked after %d", flaggedAt, blockedAt)
	if flaggedAt == 0 || flaggedAt > 200 {
		t.Errorf("extraction attack flagged after %d queries, want within 200", flaggedAt)
	}
	if blockedAt == 0 {
		t.Errorf("attacker never blocked")
	}
	if len(flags) != 2 || flags[0].Key != "key_attacker" || flags[1].State != StateBlocked {
		t.Errorf("flags %+v", flags)
	}
	// Enforcement: a blocked key is refused; the benign key is not.
	if err := x.Check("ten_a", "key_attacker"); !errors.Is(err, fault.Blocked) {
		t.Errorf("blocked key: %v", err)
	}
	if err := x.Check("ten_a", "key_benign"); err != nil {
		t.Errorf("benign key: %v", err)
	}
}

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
		x.Observe("t", "k", thumb(), "_")
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

// at224 is p stretched to 224×224.
func at224(p *picture.Picture) *picture.Picture {
	img := image.NewRGBA(image.Rect(0, 0, nsfw.Size, nsfw.Size))
	picture.ResizeAlignCorners(p.RGB, p.RGB.Rect, nsfw.Size, nsfw.Size, func(x, y int, r, g, b float32) {
		i := img.PixOffset(x, y)
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(r+0.5), uint8(g+0.5), uint8(b+0.5), 255
	})
	return &picture.Picture{RGB: img, Width: nsfw.Size, Height: nsfw.Size, Scale: 1}
}
