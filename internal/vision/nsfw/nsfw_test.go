package nsfw

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func classifier(t testing.TB) *Classifier { return visiontest.Open(t, ModelFile, New) }

// TestGolden compares the converted model with nsfwjs's Keras model on
// TF.js, on the same input tensor. Tolerance 1e-4 (probabilities).
func TestGolden(t *testing.T) {
	c := classifier(t)
	// The whole photos, and one crop of background that the model rates
	// porn 0.95 (TestSamples): the converted model agrees with the
	// original there too, so that rating is nsfwjs's, not the converter's.
	for _, name := range []string{"sample1.jpg", "sample4.jpg", "sample1.jpg-background"} {
		p := visiontest.Picture(t, strings.TrimSuffix(name, "-background"))
		if strings.HasSuffix(name, "-background") {
			p = background(p)
		}
		in := Input(p)
		out, err := c.Raw(in, 1)
		if err != nil {
			t.Fatal(err)
		}
		visiontest.Compare(t, filepath.Join("testdata", "golden-"+name+".json"), in, []int64{1, Size, Size, 3},
			[]string{"probabilities"}, []ort.Tensor{{Data: out, Shape: []int64{1, 5}}},
			visiontest.Reference{Args: []string{"layers", visiontest.Path(t, "nsfwjs-mobilenet_v2-model.min.js"), visiontest.Path(t, "nsfwjs-mobilenet_v2-weights.min.js")}}, 1e-4)
	}
}

// TestSamples: the face-api sample photos are group photos of clothed
// people dressed for a night out. Nothing in them is explicit, so none may
// be rated explicit (porn + hentai stays far below the cut-off); several
// show bare shoulders and legs, which nsfwjs's "sexy" class covers, so
// "suggestive" is a fair answer there and is logged, not asserted.
// Close crops of each annotated face are unambiguous too, yet nsfwjs rates
// some of them porn (measured: 4 of 22 tight crops, and 4 of 6 crops of
// plain background): the test holds that rate at or below a quarter and
// docs/sensitive.md tells apps to treat "explicit" as "hold for review".
func TestSamples(t *testing.T) {
	c := classifier(t)
	names, faces := visiontest.Faces(t)
	rate := func(p *picture.Picture, r image.Rectangle) Rating {
		t.Helper()
		sub := p.RGB.SubImage(r).(*image.RGBA)
		got, err := c.Classify(context.Background(), &picture.Picture{RGB: sub, Width: r.Dx(), Height: r.Dy(), Scale: 1})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, cl := range Classes {
			sum += got.Scores[cl]
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("probabilities sum to %g", sum)
		}
		return got
	}
	top := func(r Rating) string {
		best := Classes[0]
		for _, cl := range Classes {
			if r.Scores[cl] > r.Scores[best] {
				best = cl
			}
		}
		return best
	}
	crops, safe, bgFlagged := 0, 0, 0
	for _, name := range names {
		p := visiontest.Picture(t, name)
		whole := rate(p, p.RGB.Rect)
		t.Logf("%s: %s (porn %.3f, hentai %.3f, sexy %.3f, neutral %.3f)", name, whole.Label, whole.Scores["porn"], whole.Scores["hentai"], whole.Scores["sexy"], whole.Scores["neutral"])
		if whole.Label == Explicit || whole.Scores["porn"]+whole.Scores["hentai"] > 0.25 {
			t.Errorf("%s: rated %s %v; nothing in it is explicit", name, whole.Label, whole.Scores)
		}
		for _, f := range faces[name] {
			// The face box in decoded pixels, enlarged to take in the hair.
			b := f.Box
			s := 1 / p.Scale
			r := image.Rect(int((b.X-b.W*0.2)*s), int((b.Y-b.H*0.3)*s), int((b.X+b.W*1.2)*s), int((b.Y+b.H*1.1)*s)).Intersect(p.RGB.Rect)
			got := rate(p, r)
			crops++
			if got.Label == Safe && top(got) == "neutral" {
				safe++
			} else {
				t.Logf("%s face %s: %s, top %s %v", name, f.Person, got.Label, top(got), got.Scores)
			}
		}
		bg := background(p)
		if got := rate(p, bg.RGB.Rect); got.Label != Safe {
			bgFlagged++
			t.Logf("%s: background %s (porn %.3f)", name, got.Label, got.Scores["porn"])
		}
	}
	t.Logf("face crops: %d of %d safe with neutral on top; backgrounds: %d of %d not safe", safe, crops, bgFlagged, len(names))
	if safe*4 < crops*3 {
		t.Errorf("only %d of %d face crops safe/neutral (measured 18; want ≥ 75%%)", safe, crops)
	}
}

// background is the top-left sixth of p: wall, window or furniture above
// the group, no person.
func background(p *picture.Picture) *picture.Picture {
	r := image.Rect(0, 0, p.RGB.Rect.Dx()/3, p.RGB.Rect.Dy()/6)
	return &picture.Picture{RGB: p.RGB.SubImage(r).(*image.RGBA), Width: r.Dx(), Height: r.Dy(), Scale: 1}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		p    [5]float32
		want string
	}{
		{"neutral", [5]float32{0.05, 0.01, 0.9, 0.02, 0.02}, Safe},
		{"drawing", [5]float32{0.9, 0.05, 0.03, 0.01, 0.01}, Safe},
		{"sexy", [5]float32{0.0, 0.0, 0.02, 0.01, 0.97}, Suggestive},
		{"moderately sexy", [5]float32{0.0, 0.0, 0.45, 0.05, 0.5}, Safe},
		{"group photo, sexy 0.40", [5]float32{0.02, 0.01, 0.45, 0.12, 0.40}, Safe},
		{"mixed just below", [5]float32{0.01, 0.1, 0.05, 0.49, 0.35}, Safe},
		{"mixed suggestive", [5]float32{0.0, 0.1, 0.03, 0.4, 0.47}, Suggestive},
		{"porn leaning", [5]float32{0.0, 0.0, 0.3, 0.65, 0.05}, Suggestive},
		{"porn", [5]float32{0.0, 0.0, 0.04, 0.91, 0.05}, Explicit},
		{"porn just below", [5]float32{0.0, 0.0, 0.05, 0.89, 0.06}, Suggestive},
		{"hentai", [5]float32{0.03, 0.92, 0.05, 0.0, 0.0}, Explicit},
		{"split explicit", [5]float32{0.0, 0.46, 0.04, 0.46, 0.04}, Explicit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Decide(tc.p)
			if r.Label != tc.want {
				t.Errorf("Decide(%v) = %s, want %s", tc.p, r.Label, tc.want)
			}
			if len(r.Scores) != 5 || r.Scores["porn"] != float64(tc.p[3]) {
				t.Errorf("scores %v", r.Scores)
			}
		})
	}
}

// TestBatch: two stacked inputs give the same probabilities as one at a
// time (the model's batch dimension is dynamic).
func TestBatch(t *testing.T) {
	c := classifier(t)
	a := Input(visiontest.Picture(t, "sample2.jpg"))
	b := Input(visiontest.Picture(t, "sample5.jpg"))
	both, err := c.Raw(append(append([]float32{}, a...), b...), 2)
	if err != nil {
		t.Fatal(err)
	}
	oa, _ := c.Raw(a, 1)
	ob, _ := c.Raw(b, 1)
	for i, want := range append(oa, ob...) {
		if math.Abs(float64(both[i]-want)) > 1e-5 {
			t.Fatalf("batched output %d = %g, single %g", i, both[i], want)
		}
	}
}
