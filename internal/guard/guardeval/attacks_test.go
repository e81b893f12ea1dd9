package guardeval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// crafter is one attack of the suite.
type crafter interface {
	run(t testing.TB, probe squeeze.FaceProbe, rng *rand.Rand) (*image.RGBA, float64)
}

// suite is the attack suite, by name: black-box random search (three
// strengths) and NES-estimated PGD (L∞ 8 and 16), all crafted on the
// identity embedder (ArcFace).
var suite = []struct {
	name string
	a    crafter
}{
	{"rs16-every10", attack{16, 10, 1, 30}},
	{"rs16-every10-block2", attack{16, 10, 2, 30}},
	{"rs32-every2", attack{32, 2, 1, 30}},
	{"pgd16-tile4", pgd{16, 8, 6, 4}},
	{"pgd8-tile4", pgd{8, 8, 6, 4}},
}

// cachedAttack is one crafted attack as committed in testdata/attacks:
// the photo, the long side it was shrunk to before crafting (0: as
// pinned), the face attacked, and the perturbation of the region
// (a PNG of 128 + delta per channel).
type cachedAttack struct {
	Photo  string         `json:"photo"`
	Long   int            `json:"long"`
	Face   blazeface.Face `json:"face"`
	Attack string         `json:"attack"`
	Region [4]int         `json:"region"`
	Delta  string         `json:"delta"`
	Cosine float64        `json:"cosine_at_crafting"`
}

const attackDir = "testdata/attacks"

// basePicture is the photo an attack was crafted on: the pinned photo, or
// its copy shrunk to long px and re-encoded at JPEG 90.
func basePicture(t testing.TB, name string, long int) *picture.Picture {
	full := visiontest.Picture(t, name)
	if long == 0 {
		return full
	}
	return decode(t, encodeJPEG(t, Scale(full.RGB, float64(long)/float64(full.RGB.Rect.Dx())), 90))
}

// TestRegenerateAttacks crafts the attack suite on the sample photos
// (sample2 and sample4, as pinned and shrunk to 640 and 400 px, their
// first face) and writes the perturbations to testdata/attacks. Crafting
// takes about ten minutes on two cores; the suite's tests read the cache.
// Run with OBSCURA_GUARD_REGEN=1.
func TestRegenerateAttacks(t *testing.T) {
	if os.Getenv("OBSCURA_GUARD_REGEN") == "" {
		t.Skip("OBSCURA_GUARD_REGEN not set")
	}
	m := loadModels(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 9))
	if err := os.MkdirAll(attackDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []cachedAttack
	for _, name := range []string{"sample2.jpg", "sample4.jpg"} {
		for _, long := range []int{0, 640, 400} {
			p := basePicture(t, name, long)
			fs, err := m.det.Detect(ctx, p)
			if err != nil || len(fs) == 0 {
				t.Fatalf("%s at %d: %d faces, %v", name, long, len(fs), err)
			}
			f := fs[0]
			for _, s := range suite {
				probe := m.arc.Probe(p, f)
				adv, cos := s.a.run(t, probe, rng)
				r := probe.Region().Intersect(p.RGB.Rect)
				c := cachedAttack{Photo: name, Long: long, Face: f, Attack: s.name, Region: [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y},
					Delta: fmt.Sprintf("%s-%d-%s.png", strings.TrimSuffix(name, ".jpg"), long, s.name), Cosine: cos}
				d := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						o, q := p.RGB.PixOffset(x, y), d.PixOffset(x-r.Min.X, y-r.Min.Y)
						for ch := range 3 {
							d.Pix[q+ch] = uint8(128 + int(adv.Pix[o+ch]) - int(p.RGB.Pix[o+ch]))
						}
						d.Pix[q+3] = 255
					}
				}
				var buf bytes.Buffer
				if err := png.Encode(&buf, d); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(attackDir, c.Delta), buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: cosine %.3f", c.Delta, cos)
				out = append(out, c)
			}
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(attackDir, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadAttacks reads the cached suite.
func loadAttacks(t testing.TB) []cachedAttack {
	b, err := os.ReadFile(filepath.Join(attackDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []cachedAttack
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// apply is p with c's perturbation added to its region.
func (c cachedAttack) apply(t testing.TB, p *picture.Picture) *picture.Picture {
	raw, err := os.ReadFile(filepath.Join(attackDir, c.Delta))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// An opaque delta decodes as RGBA; any model gives its 8-bit values.
	d := image.NewNRGBA(img.Bounds())
	draw.Draw(d, d.Rect, img, img.Bounds().Min, draw.Src)
	r := image.Rect(c.Region[0], c.Region[1], c.Region[2], c.Region[3])
	if d.Rect.Dx() != r.Dx() || d.Rect.Dy() != r.Dy() || !r.In(p.RGB.Rect) {
		t.Fatalf("%s: delta does not fit the photo", c.Delta)
	}
	adv := &image.RGBA{Pix: append([]uint8(nil), p.RGB.Pix...), Stride: p.RGB.Stride, Rect: p.RGB.Rect}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o, q := adv.PixOffset(x, y), d.PixOffset(x-r.Min.X+d.Rect.Min.X, y-r.Min.Y+d.Rect.Min.Y)
			for ch := range 3 {
				adv.Pix[o+ch] = uint8(min(255, max(0, int(adv.Pix[o+ch])+int(d.Pix[q+ch])-128)))
			}
		}
	}
	return &picture.Picture{RGB: adv, Width: p.Width, Height: p.Height, Scale: p.Scale}
}

// TestAttackFeatures crafts the suite on one photo of each person under
// $OBSCURA_GUARD_ATTACKS (files ending _0001.jpg), as given and at half
// size, and writes the features of each attack, its JPEG-85 copy and (full
// size) its half-size copy to $OBSCURA_GUARD_ATTACKS_OUT (featureRow;
// the variant column carries the attack, the copy and the cosine to the
// original). It is the attack side of the detector's fit.
func TestAttackFeatures(t *testing.T) {
	dir := os.Getenv("OBSCURA_GUARD_ATTACKS")
	if dir == "" {
		t.Skip("OBSCURA_GUARD_ATTACKS not set")
	}
	m := loadModels(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	f, err := os.Create(os.Getenv("OBSCURA_GUARD_ATTACKS_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*_0001.jpg"))
	for _, path := range matches {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		full := decode(t, raw)
		for _, fct := range []float64{1, 0.5} {
			p := full
			if fct < 1 {
				p = decode(t, encodeJPEG(t, Scale(full.RGB, fct), 90))
			}
			fs, err := m.det.Detect(ctx, p)
			if err != nil || len(fs) == 0 {
				continue
			}
			fc := fs[0]
			for _, s := range suite {
				probe := m.arc.Probe(p, fc)
				orig, err := probe.Embed(ctx, p.RGB)
				if err != nil {
					t.Fatal(err)
				}
				adv, _ := s.a.run(t, probe, rng)
				row := func(what string, q *picture.Picture, g blazeface.Face, o []float32) {
					e, err := m.arc.Probe(q, g).Embed(ctx, q.RGB)
					if err != nil {
						t.Fatal(err)
					}
					featureRow(t, w, m, "attack", filepath.Base(path), fmt.Sprintf("x%.1f-%s-%s-cos%.3f", fct, s.name, what, cosine(o, e)), q, g)
				}
				q := &picture.Picture{RGB: adv, Width: p.Width, Height: p.Height, Scale: p.Scale}
				row("crafted", q, fc, orig)
				row("jpeg85", decode(t, encodeJPEG(t, adv, 85)), fc, orig)
				if fct == 1 {
					small := decode(t, encodeJPEG(t, Scale(adv, 0.5), 90))
					ref := decode(t, encodeJPEG(t, Scale(p.RGB, 0.5), 90))
					if fs2, err := m.det.Detect(ctx, ref); err == nil && len(fs2) > 0 {
						half := fc
						half.Box.X, half.Box.Y, half.Box.W, half.Box.H = fc.Box.X/2, fc.Box.Y/2, fc.Box.W/2, fc.Box.H/2
						g := nearest(fs2, half)
						o2, err := m.arc.Probe(ref, g).Embed(ctx, ref.RGB)
						if err != nil {
							t.Fatal(err)
						}
						row("shrunk", small, g, o2)
					}
				}
			}
		}
	}
}
