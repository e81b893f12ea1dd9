package guardeval

import (
	"bytes"
	"context"
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
