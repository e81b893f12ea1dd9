package guardeval

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

type models struct {
	det *blazeface.Detector
	emb *faceres.Embedder
}

func loadModels(t testing.TB) models {
	visiontest.Dir(t)
	det, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { det.Close() })
	e, err := faceres.New(visiontest.Load(t, faceres.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return models{det, e}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// attack is a black-box evasion attack on the photo's own pixels (what an
// uploader controls) inside the face's crop: random search over ±eps
// changes to one value in every (per block×block pixels), keeping the
// step that moves the embedding furthest from the original, for steps
// model queries.
type attack struct{ eps, every, block, steps int }

func (a attack) run(t testing.TB, probe faceres.Probe, rng *rand.Rand) (*image.RGBA, float64) {
	ctx := context.Background()
	src := probe.Photo()
	orig, err := probe.Embed(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	r := probe.Region().Intersect(src.Rect)
	cur := slices.Clone(src.Pix)
	best := 1.0
	for range a.steps {
		cand := slices.Clone(cur)
		for y := r.Min.Y; y+a.block <= r.Max.Y; y += a.block {
			for x := r.Min.X; x+a.block <= r.Max.X; x += a.block {
				for c := range 3 {
					if rng.IntN(a.every) != 0 {
						continue
					}
					d := a.eps * (2*rng.IntN(2) - 1)
					for dy := range a.block {
						for dx := range a.block {
							o := src.PixOffset(x+dx, y+dy) + c
							cand[o] = uint8(min(255, max(0, int(src.Pix[o])+d)))
						}
					}
				}
			}
		}
		v, err := probe.Embed(ctx, &image.RGBA{Pix: cand, Stride: src.Stride, Rect: src.Rect})
		if err != nil {
			t.Fatal(err)
		}
		if c := cosine(orig, v); c < best {
			best, cur = c, cand
		}
	}
	return &image.RGBA{Pix: cur, Stride: src.Stride, Rect: src.Rect}, best
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode(t testing.TB, data []byte) *picture.Picture {
	p, err := picture.Decode(data, picture.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExploreAttacks logs attack strength and squeeze score by face size.
func TestExploreAttacks(t *testing.T) {
	if os.Getenv("OBSCURA_GUARD_EXPLORE") == "" {
		t.Skip("OBSCURA_GUARD_EXPLORE not set")
	}
	m := loadModels(t)
	s := guard.NewFaceSqueezer()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 9))
	names, _ := visiontest.Faces(t)
	for _, name := range names {
		full := visiontest.Picture(t, name)
		for _, long := range []int{1280, 640, 400} {
			p := full
			if long < 1280 {
				p = decode(t, encodeJPEG(t, Scale(full.RGB, float64(long)/float64(full.RGB.Rect.Dx())), 90))
			}
			fs, err := m.det.Detect(ctx, p)
			if err != nil || len(fs) == 0 {
				continue
			}
			f := fs[rng.IntN(len(fs))]
			for _, a := range []attack{{16, 10, 1, 40}, {16, 10, 2, 40}, {32, 2, 1, 40}, {8, 2, 1, 40}} {
				probe := m.emb.Probe(p, f)
				adv, cos := a.run(t, probe, rng)
				q := &picture.Picture{RGB: adv, Width: p.Width, Height: p.Height, Scale: p.Scale}
				v, err := s.Check(ctx, m.emb.Probe(q, f), nil)
				if err != nil {
					t.Fatal(err)
				}
				// The same attack re-encoded (JPEG 85) by the attacker or a messenger.
				rq := decode(t, encodeJPEG(t, adv, 85))
				o, _ := probe.Embed(ctx, p.RGB)
				re, _ := m.emb.Probe(rq, f).Embed(ctx, rq.RGB)
				rv, err := s.Check(ctx, m.emb.Probe(rq, f), nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s long=%d side=%d attack=%v cos=%.3f score=%.4f | jpeg85 cos=%.3f score=%.4f", name, long, v.Side, a, cos, v.Score, cosine(o, re), rv.Score)
			}
		}
	}
}

// TestFaceSqueezeBenign re-measures the adversarial-input guard's false
// flags on natural faces the threshold was not fitted on: the pinned
// sample photos (group photos, 22 people) and their degraded variants
// (JPEG 90, 60 and 40, downscaled to 640 and 320 px, greyscale, a
// half-size PNG).
func TestFaceSqueezeBenign(t *testing.T) {
	m := loadModels(t)
	s := guard.NewFaceSqueezer()
	ctx := context.Background()
	names, _ := visiontest.Faces(t)
	n, flagged := 0, 0
	worst := 0.0 // the highest score as a share of its threshold
	for _, name := range names {
		raw := visiontest.Load(t, name)
		src := visiontest.Picture(t, name)
		vs, err := Variants(src.RGB, []int{640, 320})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range append(vs, Variant{Name: "orig", Data: raw}) {
			p := decode(t, v.Data)
			fs, err := m.det.Detect(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				vd, err := s.Check(ctx, m.emb.Probe(p, f), nil)
				if err != nil {
					t.Fatal(err)
				}
				n++
				worst = max(worst, vd.Score/vd.Threshold)
				if vd.Suspicious {
					flagged++
					t.Logf("%s %s: face of %d px flagged, score %.4f > %.4f", name, v.Name, vd.Side, vd.Score, vd.Threshold)
				}
			}
		}
	}
	t.Logf("natural faces: %d of %d flagged (%.2f%%); highest score %.2f× its threshold", flagged, n, 100*float64(flagged)/float64(n), worst)
	if n < 150 {
		t.Errorf("only %d faces measured", n)
	}
	// Regression floor, not the target: the thresholds were fitted on the
	// stretched detector's crops (0 of 174 flagged then); with the
	// letterboxed BlazeFace boxes one greyscale 240-px face of sample2
	// scores 1.5× its threshold (1 of 176). Issue 15's target (≤ 0.5% on
	// ≥ 1,000 faces) needs a recalibration on the new crops, which is open.
	if flagged*100 > n {
		t.Errorf("%d of %d natural faces flagged, want ≤ 1%%", flagged, n)
	}
}

// TestFaceSqueezeAttacks re-measures detection of black-box evasion
// attacks on the photo's own pixels, crafted at the photo's size and on
// downscaled copies (an attacker who shrinks the photo to reach the
// larger thresholds of small faces), and the same attacks re-encoded
// (JPEG 85) or downscaled after crafting. An attack counts as effective
// when it moves the face's embedding below cosine 0.8 to the original
// (weaker ones do not change whom a face matches); every effective attack
// or copy of one is checked.
func TestFaceSqueezeAttacks(t *testing.T) {
	m := loadModels(t)
	s := guard.NewFaceSqueezer()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 9))
	const effective = 0.8
	caught, total := 0, 0
	check := func(what string, p *picture.Picture, f blazeface.Face, orig []float32) {
		probe := m.emb.Probe(p, f)
		e, err := probe.Embed(ctx, p.RGB)
		if err != nil {
			t.Fatal(err)
		}
		cos := cosine(orig, e)
		v, err := s.Check(ctx, probe, e)
		if err != nil {
			t.Fatal(err)
		}
		if cos >= effective {
			t.Logf("%s: cosine %.3f, not effective (score %.4f, threshold %.4f)", what, cos, v.Score, v.Threshold)
			return
		}
		total++
		if v.Suspicious {
			caught++
		}
		t.Logf("%s: face %d px, cosine %.3f, score %.4f, threshold %.4f, caught %v", what, v.Side, cos, v.Score, v.Threshold, v.Suspicious)
	}
	for _, name := range []string{"sample2.jpg", "sample4.jpg"} {
		full := visiontest.Picture(t, name)
		for _, long := range []int{0, 640, 400} {
			p := full
			if long > 0 {
				p = decode(t, encodeJPEG(t, Scale(full.RGB, float64(long)/float64(full.RGB.Rect.Dx())), 90))
			}
			fs, err := m.det.Detect(ctx, p)
			if err != nil || len(fs) == 0 {
				t.Fatalf("%s at %d: %d faces, %v", name, long, len(fs), err)
			}
			f := fs[0]
			for _, a := range []attack{{16, 10, 1, 30}, {16, 10, 2, 30}, {32, 2, 1, 30}} {
				probe := m.emb.Probe(p, f)
				orig, err := probe.Embed(ctx, p.RGB)
				if err != nil {
					t.Fatal(err)
				}
				adv, _ := a.run(t, probe, rng)
				what := fmt.Sprintf("%s long %d ±%d every %d block %d", name, long, a.eps, a.every, a.block)
				q := &picture.Picture{RGB: adv, Width: p.Width, Height: p.Height, Scale: p.Scale}
				check(what, q, f, orig)
				check(what+" re-encoded", decode(t, encodeJPEG(t, adv, 85)), f, orig)
				if long == 0 {
					// Shrunk after crafting: the face moves, so find it again.
					small := decode(t, encodeJPEG(t, Scale(adv, 0.5), 90))
					ref := decode(t, encodeJPEG(t, Scale(p.RGB, 0.5), 90))
					if fs2, err := m.det.Detect(ctx, ref); err == nil && len(fs2) > 0 {
						half := f
						half.Box.X, half.Box.Y, half.Box.W, half.Box.H = f.Box.X/2, f.Box.Y/2, f.Box.W/2, f.Box.H/2
						g := nearest(fs2, half)
						o2, err := m.emb.Probe(ref, g).Embed(ctx, ref.RGB)
						if err != nil {
							t.Fatal(err)
						}
						check(what+" shrunk", small, g, o2)
					}
				}
			}
		}
	}
	t.Logf("effective attacks caught: %d of %d", caught, total)
	if total < 10 {
		t.Errorf("only %d effective attacks", total)
	}
	// Regression floor: 24 of 29 (83%) were caught on the stretched
	// detector's crops; 22 of 33 (67%) on the letterboxed crops, before a
	// recalibration (open). The verdict only withholds a suggestion the
	// user would confirm; it refuses nothing.
	if caught*10 < total*6 {
		t.Errorf("%d of %d effective attacks caught, want ≥ 60%%", caught, total)
	}
}

// nearest is the face of fs whose box centre is closest to f's.
func nearest(fs []blazeface.Face, f blazeface.Face) blazeface.Face {
	best, bd := fs[0], math.Inf(1)
	for _, g := range fs {
		dx := g.Box.X + g.Box.W/2 - f.Box.X - f.Box.W/2
		dy := g.Box.Y + g.Box.H/2 - f.Box.Y - f.Box.H/2
		if d := dx*dx + dy*dy; d < bd {
			best, bd = g, d
		}
	}
	return best
}
