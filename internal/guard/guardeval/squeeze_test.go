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
	"sync"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

type models struct {
	det *blazeface.Detector
	arc *arcface.Embedder
	fr  *faceres.Embedder
}

// probe is the face probe the guard ships with (package wire): FaceRes,
// chosen by measurement over the ArcFace probe (docs/guards.md).
// OBSCURA_GUARD_PROBE=arcface measures the ArcFace probe instead.
func (m models) probe(p *picture.Picture, f blazeface.Face) squeeze.FaceProbe {
	if os.Getenv("OBSCURA_GUARD_PROBE") == "arcface" {
		return m.arc.Probe(p, f)
	}
	return m.fr.Probe(p, f)
}

// target is the model an attack is crafted against and judged on: the
// identity embedder (ArcFace), whose output decides whom a face matches.
// OBSCURA_GUARD_TARGET=faceres attacks the probe's own model instead (the
// suite before session 6).
func (m models) target(p *picture.Picture, f blazeface.Face) squeeze.FaceProbe {
	if os.Getenv("OBSCURA_GUARD_TARGET") == "faceres" {
		return m.fr.Probe(p, f)
	}
	return m.arc.Probe(p, f)
}

func loadModels(t testing.TB) models {
	return models{visiontest.Open(t, blazeface.ModelFile, blazeface.New), visiontest.Open(t, arcface.ModelFile, arcface.New),
		visiontest.Open(t, faceres.ModelFile, faceres.New)}
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

func (a attack) run(t testing.TB, probe squeeze.FaceProbe, rng *rand.Rand) (*image.RGBA, float64) {
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
	s := squeeze.New()
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
				probe := m.target(p, f)
				adv, cos := a.run(t, probe, rng)
				q := &picture.Picture{RGB: adv, Width: p.Width, Height: p.Height, Scale: p.Scale}
				v, err := s.Check(ctx, m.probe(q, f), nil)
				if err != nil {
					t.Fatal(err)
				}
				// The same attack re-encoded (JPEG 85) by the attacker or a messenger.
				rq := decode(t, encodeJPEG(t, adv, 85))
				o, _ := probe.Embed(ctx, p.RGB)
				re, _ := m.target(rq, f).Embed(ctx, rq.RGB)
				rv, err := s.Check(ctx, m.probe(rq, f), nil)
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
// sample photos (group photos, 21 people) and their degraded variants
// (JPEG 90, 60, 40 and 30, downscaled to 960, 640, 480 and 320 px,
// greyscale, a half-size PNG, 3×3 blur, σ 6 noise, a 70% crop).
func TestFaceSqueezeBenign(t *testing.T) {
	m := loadModels(t)
	s := squeeze.New()
	names, _ := visiontest.Faces(t)
	var jobs []benignJob
	for i, name := range names {
		jobs = append(jobs, benignJobs(t, name, visiontest.Load(t, name), visiontest.Picture(t, name).RGB, uint64(i))...)
	}
	n, flagged, worst := screenBenign(t, m, s, jobs)
	t.Logf("natural faces: %d of %d flagged (%.2f%%); highest score %.2f (threshold %.2f)", flagged, n, 100*float64(flagged)/float64(n), worst, s.Threshold)
	if n < 250 {
		t.Errorf("only %d faces measured", n)
	}
	// Issue 15's target: ≤ 0.5% of natural faces flagged. Measured in
	// sessions 7 and 8: 2 of 303 (0.66%, target not met by one face):
	// sample2 shrunk to 480 px (its 66-px face at 3.35, the same face scores
	// 1.8–2.2 at other sizes) and sample6 at 640 px (a 99-px face at 2.21).
	// The models and threshold were fitted on LFW10 and checked on all of it
	// (4 of 1,406 flagged, squeeze.TestDefaultsOnCalibration), never on
	// these photos; a refit on all of LFW10 flags 1 here but catches fewer
	// attacks (docs/guards.md). A flag withholds one suggestion; it refuses
	// nothing. The bound is the measured count plus one (the 99-px face
	// sits 0.6% above the threshold, so a change in decoding can move it
	// either way): a real regression fails.
	if flagged > 3 {
		t.Errorf("%d of %d natural faces flagged, want ≤ 3 (measured 2; target ≤ 0.5%%)", flagged, n)
	}
}

// benignJob is one photo, as an app would upload it, to screen for false
// flags.
type benignJob struct {
	name, variant string
	data          []byte
}

// benignJobs is the photo raw (decoded as src) and its degraded variants
// (Variants at 960, 640, 480 and 320 px, and Harsher with seed).
func benignJobs(t *testing.T, name string, raw []byte, src image.Image, seed uint64) []benignJob {
	vs, err := Variants(src, []int{960, 640, 480, 320})
	if err != nil {
		t.Fatal(err)
	}
	more, err := Harsher(src, seed)
	if err != nil {
		t.Fatal(err)
	}
	var out []benignJob
	for _, v := range append(append(vs, more...), Variant{Name: "orig", Data: raw}) {
		out = append(out, benignJob{name, v.Name, v.Data})
	}
	return out
}

// screenBenign runs the guard on every face of every job and counts the
// faces and the flags; worst is the highest score. Two workers: the models
// are safe for concurrent use, and the test machine has two cores.
func screenBenign(t *testing.T, m models, s *squeeze.FaceSqueezer, jobs []benignJob) (n, flagged int, worst float64) {
	ctx := context.Background()
	var mu sync.Mutex
	worst = math.Inf(-1)
	var wg sync.WaitGroup
	next := make(chan benignJob)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				p, err := picture.Decode(j.data, picture.DefaultOptions)
				if err != nil {
					t.Error(err)
					continue
				}
				fs, err := m.det.Detect(ctx, p)
				if err != nil {
					t.Error(err)
					continue
				}
				for _, f := range fs {
					vd, err := s.Check(ctx, m.probe(p, f), nil)
					if err != nil {
						t.Error(err)
						continue
					}
					mu.Lock()
					n++
					if os.Getenv("OBSCURA_GUARD_SHIFTS") != "" {
						t.Logf("benign %s %s: face %d px, score %.4f, shifts %.5f", j.name, j.variant, vd.Side, vd.Score, vd.Shifts)
					}
					worst = max(worst, vd.Score)
					if vd.Suspicious {
						flagged++
						t.Logf("%s %s: face of %d px flagged, score %.4f > %.4f", j.name, j.variant, vd.Side, vd.Score, vd.Threshold)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return n, flagged, worst
}

// TestFaceSqueezeAttacks re-measures detection of evasion attacks on the
// photo's own pixels, crafted on the identity embedder (ArcFace) and read
// from the committed cache (testdata/attacks, TestRegenerateAttacks): the
// suite's five attacks on sample2 and sample4 as pinned and shrunk to 640
// and 400 px before crafting (an attacker who shrinks the photo to reach
// the larger thresholds of small faces), and each attack re-encoded (JPEG
// 85) or, at full size, shrunk to half after crafting. An attack counts as
// effective when it moves the face's identity embedding below cosine 0.8
// to the original (weaker ones do not change whom a face matches); every
// effective attack or copy of one is checked.
func TestFaceSqueezeAttacks(t *testing.T) {
	m := loadModels(t)
	s := squeeze.New()
	ctx := context.Background()
	const effective = 0.8
	// By family: random search (rs…) and NES-PGD (pgd…).
	caught, total := map[string]int{}, map[string]int{}
	var family string
	check := func(what string, p *picture.Picture, f blazeface.Face, orig []float32) {
		e, err := m.arc.Probe(p, f).Embed(ctx, p.RGB)
		if err != nil {
			t.Fatal(err)
		}
		cos := cosine(orig, e)
		if cos >= effective {
			t.Logf("%s: cosine %.3f, not effective", what, cos)
			return
		}
		v, err := s.Check(ctx, m.probe(p, f), nil)
		if err != nil {
			t.Fatal(err)
		}
		total[family]++
		if v.Suspicious {
			caught[family]++
		}
		t.Logf("%s: face %d px, cosine %.3f, score %.4f, threshold %.4f, caught %v, shifts %.5f", what, v.Side, cos, v.Score, v.Threshold, v.Suspicious, v.Shifts)
	}
	bases := map[string]*picture.Picture{}
	for _, c := range loadAttacks(t) {
		key := fmt.Sprintf("%s@%d", c.Photo, c.Long)
		p, ok := bases[key]
		if !ok {
			p = basePicture(t, c.Photo, c.Long)
			bases[key] = p
		}
		f := c.Face
		family = c.Attack[:2]
		orig, err := m.arc.Probe(p, f).Embed(ctx, p.RGB)
		if err != nil {
			t.Fatal(err)
		}
		q := c.apply(t, p)
		what := fmt.Sprintf("%s long %d %s", c.Photo, c.Long, c.Attack)
		check(what, q, f, orig)
		check(what+" re-encoded", decode(t, encodeJPEG(t, q.RGB, 85)), f, orig)
		if c.Long == 0 {
			// Shrunk after crafting: the face moves, so find it again.
			small := decode(t, encodeJPEG(t, Scale(q.RGB, 0.5), 90))
			ref := decode(t, encodeJPEG(t, Scale(p.RGB, 0.5), 90))
			if fs2, err := m.det.Detect(ctx, ref); err == nil && len(fs2) > 0 {
				half := f
				half.Box.X, half.Box.Y, half.Box.W, half.Box.H = f.Box.X/2, f.Box.Y/2, f.Box.W/2, f.Box.H/2
				g := nearest(fs2, half)
				o2, err := m.arc.Probe(ref, g).Embed(ctx, ref.RGB)
				if err != nil {
					t.Fatal(err)
				}
				check(what+" shrunk", small, g, o2)
			}
		}
	}
	t.Logf("effective attacks caught: random search %d of %d, NES-PGD %d of %d", caught["rs"], total["rs"], caught["pg"], total["pg"])
	if total["rs"] < 20 || total["pg"] < 5 {
		t.Errorf("only %d random-search and %d NES-PGD attacks effective", total["rs"], total["pg"])
	}
	// Issue 15's target, ≥ 80%, holds for the random-search attacks
	// (measured in session 7: 31 of 32; docs/guards.md). NES-PGD's
	// perturbation lives on 4×4-pixel tiles, beyond the reach of every
	// squeezer that leaves natural faces alone: 1 of 14 caught, the reason
	// the verdict withholds a suggestion rather than acting as a barrier.
	if caught["rs"]*100 < total["rs"]*80 {
		t.Errorf("%d of %d effective random-search attacks caught, want ≥ 80%%", caught["rs"], total["rs"])
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

// BenchmarkFaceProbe is the guard's cost per face on the suggest path, by
// probe: FaceRes (shipped; the squeezer embeds the face itself, 4 runs)
// and ArcFace (the identity embedding is already known, 3 runs), beside
// one ArcFace embedding, which the suggest path computes anyway.
func BenchmarkFaceProbe(b *testing.B) {
	m := loadModels(b)
	s := squeeze.New()
	ctx := context.Background()
	p := visiontest.Picture(b, "sample1.jpg")
	fs, err := m.det.Detect(ctx, p)
	if err != nil || len(fs) == 0 {
		b.Fatal(fs, err)
	}
	emb, err := m.arc.Probe(p, fs[0]).Embed(ctx, p.RGB)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("arcface-embed", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.arc.Probe(p, fs[0]).Embed(ctx, p.RGB); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("faceres-probe", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Check(ctx, m.fr.Probe(p, fs[0]), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("arcface-probe", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Check(ctx, m.arc.Probe(p, fs[0]), emb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
