package guard

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// evade is a black-box evasion attack on the face embedder: random search
// within an L∞ ball of eps pixel levels around the face crop, keeping the
// step that moves the embedding furthest from the original, for up to
// steps model queries. It returns the adversarial input and its cosine
// to the original embedding.
func evade(t *testing.T, e *faceres.Embedder, in []float32, eps float32, steps int, rng *rand.Rand) ([]float32, float64) {
	o, err := e.Raw(in)
	if err != nil {
		t.Fatal(err)
	}
	cur, best := slices.Clone(in), 1.0
	for range steps {
		cand := slices.Clone(cur)
		for i := range cand {
			if rng.IntN(10) == 0 {
				cand[i] = in[i] + eps*float32(2*rng.IntN(2)-1)
			}
		}
		c, err := e.Raw(cand)
		if err != nil {
			t.Fatal(err)
		}
		if s := unitCos(o, c); s < best {
			best, cur = s, cand
		}
	}
	return cur, best
}

// TestFaceSqueezing measures the detector on the annotated sample faces
// (natural inputs) and on evasion attacks crafted against the embedder.
func TestFaceSqueezing(t *testing.T) {
	visiontest.Dir(t)
	det, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	e, err := faceres.New(visiontest.Load(t, faceres.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := NewFaceSqueezer(e)
	names, _ := visiontest.Faces(t)
	var inputs [][]float32
	benignFlagged, worst := 0, 0.0
	var pics []*picture.Picture
	for _, name := range names {
		p := visiontest.Picture(t, name)
		// Each photo, and a half-size q60 JPEG re-capture of it (what a
		// messenger does to a photo): natural, compressed inputs.
		half := image.NewRGBA(image.Rect(0, 0, p.RGB.Rect.Dx()/2, p.RGB.Rect.Dy()/2))
		xdraw.CatmullRom.Scale(half, half.Rect, p.RGB, p.RGB.Rect, xdraw.Src, nil)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, half, &jpeg.Options{Quality: 60}); err != nil {
			t.Fatal(err)
		}
		q, err := picture.Decode(buf.Bytes(), picture.DefaultOptions)
		if err != nil {
			t.Fatal(err)
		}
		pics = append(pics, p, q)
	}
	for _, p := range pics {
		fs, err := det.Detect(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			flag, sc, err := s.Adversarial(p, f)
			if err != nil {
				t.Fatal(err)
			}
			worst = max(worst, sc)
			if flag {
				benignFlagged++
			}
			inputs = append(inputs, faceres.Input(p, f))
		}
	}
	t.Logf("benign: %d faces, %d flagged, highest score %.4f (threshold %.3f)", len(inputs), benignFlagged, worst, s.Threshold)
	if benignFlagged > 0 {
		t.Errorf("%d natural faces flagged", benignFlagged)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	caught, n := 0, 0
	for i := 0; i < len(inputs); i += 5 {
		adv, cos := evade(t, e, inputs[i], 16, 60, rng)
		sc, err := s.ScoreInput(adv)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if sc > s.Threshold {
			caught++
		}
		t.Logf("face %d: attack moved the embedding to cosine %.3f; squeeze score %.4f", i, cos, sc)
	}
	t.Logf("adversarial at the model input: %d of %d flagged", caught, n)
	if caught*10 < n*8 {
		t.Errorf("%d of %d crafted faces flagged, want ≥ 80%%", caught, n)
	}

	// Attacks on the photo's own pixels (what an uploader controls): the
	// perturbation is resampled with the crop before the model sees it.
	pcaught, pn := 0, 0
	for k, name := range names {
		p := visiontest.Picture(t, name)
		fs, err := det.Detect(context.Background(), p)
		if err != nil || len(fs) == 0 {
			t.Fatalf("%s: %d faces %v", name, len(fs), err)
		}
		for _, variant := range []struct {
			eps, every, block int
		}{{16, 10, 1}, {16, 10, 2}, {32, 2, 1}} {
			if (k+variant.block+variant.every)%2 == 1 {
				continue // a sample of photo × variant pairs keeps the test short
			}
			adv, cos := evadePhoto(t, e, p, fs[0], variant.eps, variant.every, variant.block, 40, rng)
			flag, sc, err := s.Adversarial(adv, fs[0])
			if err != nil {
				t.Fatal(err)
			}
			pn++
			if flag {
				pcaught++
			}
			t.Logf("%s ±%d every %d block %d: cosine %.3f, squeeze score %.4f, flagged %v", name, variant.eps, variant.every, variant.block, cos, sc, flag)
		}
	}
	t.Logf("adversarial in photo pixels: %d of %d flagged", pcaught, pn)
	if pcaught*10 < pn*7 {
		t.Errorf("%d of %d photo-space attacks flagged, want ≥ 70%%", pcaught, pn)
	}
}

// evadePhoto is evade on the photo's pixels inside the face's crop:
// random ±eps changes to one value in every (per block×block pixels).
func evadePhoto(t *testing.T, e *faceres.Embedder, p *picture.Picture, f blazeface.Face, eps, every, block, steps int, rng *rand.Rand) (*picture.Picture, float64) {
	orig, err := e.Embed(context.Background(), p, f)
	if err != nil {
		t.Fatal(err)
	}
	crop := faceres.CropBox(f)
	r := image.Rect(int(crop.X/p.Scale), int(crop.Y/p.Scale), int((crop.X+crop.W)/p.Scale), int((crop.Y+crop.H)/p.Scale)).Intersect(p.RGB.Rect)
	base := slices.Clone(p.RGB.Pix)
	cur := slices.Clone(base)
	best := 1.0
	for range steps {
		cand := slices.Clone(cur)
		for y := r.Min.Y; y+block <= r.Max.Y; y += block {
			for x := r.Min.X; x+block <= r.Max.X; x += block {
				for c := range 3 {
					if rng.IntN(every) != 0 {
						continue
					}
					d := eps * (2*rng.IntN(2) - 1)
					for dy := range block {
						for dx := range block {
							o := p.RGB.PixOffset(x+dx, y+dy) + c
							cand[o] = uint8(min(255, max(0, int(base[o])+d)))
						}
					}
				}
			}
		}
		q := &picture.Picture{RGB: &image.RGBA{Pix: cand, Stride: p.RGB.Stride, Rect: p.RGB.Rect}, Width: p.Width, Height: p.Height, Scale: p.Scale}
		v, err := e.Embed(context.Background(), q, f)
		if err != nil {
			t.Fatal(err)
		}
		if c := unitCos(orig, v); c < best {
			best, cur = c, cand
		}
	}
	return &picture.Picture{RGB: &image.RGBA{Pix: cur, Stride: p.RGB.Stride, Rect: p.RGB.Rect}, Width: p.Width, Height: p.Height, Scale: p.Scale}, best
}

func TestSqueezers(t *testing.T) {
	// Median of the first window 0, 1, 1, 10 is 1.
	in := []float32{0, 0, 0, 1, 1, 1, 1, 1, 1, 10, 10, 10}
	if out := Median2x2(in, 2); out[0] != 1 || out[9] != 10 {
		t.Errorf("median %v", out)
	}
	// Bit depth: pixel 130 (tensor 130 − mean) squeezed to 5 bits is the
	// nearest of 31 levels over 0..255: 131.6.
	v := []float32{130 - 103.939}
	got := BitDepth(v, 5)[0] + 103.939
	if got < 131 || got > 132.2 {
		t.Errorf("bit depth gives %v", got)
	}
	if c := unitCos([]float32{1, 0}, []float32{0, 0}); c != 0 {
		t.Errorf("cos with zero vector %v", c)
	}
}
