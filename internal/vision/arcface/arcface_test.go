package arcface

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/faces/calibrate"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func models(t testing.TB) (*blazeface.Detector, *Embedder) {
	visiontest.Dir(t)
	d, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(visiontest.Load(t, ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); d.Close() })
	return d, e
}

// TestGolden compares the model as Obscura runs it (native ONNX Runtime)
// with the same file run as its npm package runs it (onnxruntime-web,
// wasm; tools/golden) on the aligned input of a sample face.
func TestGolden(t *testing.T) {
	d, e := models(t)
	for _, name := range []string{"sample2.jpg", "sample4.jpg"} {
		p := visiontest.Picture(t, name)
		fs, err := d.Detect(context.Background(), p)
		if err != nil || len(fs) == 0 {
			t.Fatalf("%s: %v, %d faces", name, err, len(fs))
		}
		in := Input(p, fs[0], BGR)
		out, err := e.s.RunAll(in, 1, 3, InputSize, InputSize)
		if err != nil {
			t.Fatal(err)
		}
		visiontest.Compare(t, filepath.Join("testdata", "golden-"+name+".json"), in, []int64{1, 3, InputSize, InputSize},
			[]string{"embedding"}, out, visiontest.Reference{Args: []string{"onnx", visiontest.Path(t, ModelFile)}}, 1e-3)
	}
}

// TestInputLayout pins the preprocessing: NCHW, BGR planes, (p−127)/128.
func TestInputLayout(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 255, 127, 0, 255
	}
	p := &picture.Picture{RGB: img, Width: 64, Height: 64, Scale: 1}
	f := blazeface.Face{}
	f.Keypoints[0].X, f.Keypoints[0].Y = 20, 25
	f.Keypoints[1].X, f.Keypoints[1].Y = 44, 25
	f.Keypoints[2].X, f.Keypoints[2].Y = 32, 36
	f.Keypoints[3].X, f.Keypoints[3].Y = 32, 46
	const plane = InputSize * InputSize
	for _, tc := range []struct {
		order        Order
		first, third float32
	}{{BGR, -127.0 / 128, 1}, {RGB, 1, -127.0 / 128}} {
		in := Input(p, f, tc.order)
		if len(in) != 3*plane {
			t.Fatalf("len %d", len(in))
		}
		if in[0] != tc.first || in[plane] != 0 || in[2*plane] != tc.third {
			t.Errorf("order %d: planes start %v %v %v", tc.order, in[0], in[plane], in[2*plane])
		}
	}
}

// faceCrops cuts each annotated face of the pinned sample photos (22
// people, one photo each: internal/vision/testdata/faces.json) into its
// own photo, twice the face's size, so that it is the photo's largest face.
func faceCrops(t *testing.T, d *blazeface.Detector) []calibrate.Photo {
	names, ann := visiontest.Faces(t)
	var out []calibrate.Photo
	for _, name := range names {
		p := visiontest.Picture(t, name)
		for _, a := range ann[name] {
			side := max(a.Box.W, a.Box.H) * 2
			cx, cy := a.Box.X+a.Box.W/2, a.Box.Y+a.Box.H/2
			r := image.Rect(int((cx-side/2)/p.Scale), int((cy-side/2)/p.Scale), int((cx+side/2)/p.Scale), int((cy+side/2)/p.Scale)).Intersect(p.RGB.Rect)
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, p.RGB.SubImage(r), &jpeg.Options{Quality: 95}); err != nil {
				t.Fatal(err)
			}
			out = append(out, calibrate.Photo{Person: a.Person, Name: name + "/" + a.Person, Data: buf.Bytes()})
		}
	}
	return out
}

// TestCalibration re-measures the shipped operating points on face data
// the repository carries (issue 15 item 7): the 22 annotated faces of the
// pinned sample photos and each face's degraded variants (greyscale,
// 40–100 px, JPEG q30–60, screenshot PNG). Genuine pairs are a degraded
// face against its own original, and the one person seen in two sample
// photos (sample1-b, in sample1 and sample3: faces.json says how that was
// checked), each face original or degraded against the other's original.
// Impostor pairs are faces of two people in the same group photo
// (certainly different people), original or degraded, against the
// other's original. Other pairs of faces of different sample photos are
// only logged: their labels were checked by eye, not known.
// Bounds: at the compare threshold no impostor pair (FMR 0 of 279) and
// FNMR ≤ 5%; at the suggest threshold FNMR ≤ 2% and FMR ≤ 10%. The
// suggest FMR measured here, 7.2%, misses the 1% target that the LFW
// calibration meets: faces of one group photo share lighting, camera and
// compression, and these people are unlike LFW10's (docs/faces.md). The
// bound catches a regression from that figure. A regression in the
// detector, the alignment, the preprocessing or the thresholds fails it.
func TestCalibration(t *testing.T) {
	d, e := models(t)
	photos := faceCrops(t, d)
	if len(photos) != 22 {
		t.Fatalf("%d faces, want the 22 annotated", len(photos))
	}
	var n int
	var spent time.Duration
	embed := func(ctx context.Context, data []byte) ([]float32, float64, error) {
		p, err := picture.Decode(data, picture.DefaultOptions)
		if err != nil {
			return nil, 0, err
		}
		fs, err := d.Detect(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		if len(fs) == 0 {
			return nil, 0, calibrate.ErrNoFace
		}
		big := fs[0]
		for _, f := range fs[1:] {
			if f.Box.Area() > big.Box.Area() {
				big = f
			}
		}
		start := time.Now()
		v, err := e.Embed(ctx, p, big)
		spent += time.Since(start)
		n++
		return v, big.Box.W, err
	}
	faces, missed, err := calibrate.EmbedAll(context.Background(), photos, embed, calibrate.Variants)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d embeddings, %.1f ms per face; photos without a face: %v", n, float64(spent.Microseconds())/1000/float64(max(n, 1)), missed)
	for v, k := range missed {
		if k > 1 {
			t.Errorf("%d %q faces not detected (at most 1 allowed)", k, v)
		}
	}
	photo := func(f calibrate.Face) string { return strings.SplitN(f.Photo, "/", 2)[0] }
	var all, cross calibrate.Scores
	maxImp, maxWho := -1.0, ""
	for _, a := range faces {
		for _, b := range faces {
			if b.Variant != "" || (a.Variant == "" && a.Photo >= b.Photo) {
				continue
			}
			s := calibrate.Similarity(a.Vector, b.Vector)
			switch {
			case a.Person == b.Person:
				all.Genuine = append(all.Genuine, s)
			case photo(a) == photo(b):
				all.Impostor = append(all.Impostor, s)
				if s > maxImp {
					maxImp, maxWho = s, a.Person+" "+a.Variant+" / "+b.Person
				}
			default:
				cross.Impostor = append(cross.Impostor, s)
			}
		}
	}
	sg, cp := all.At(SuggestThreshold), all.At(CompareThreshold)
	t.Logf("%d genuine, %d same-photo impostor pairs (highest %.3f: %s); suggest %.2f: FMR %.2f%% FNMR %.2f%%; compare %.2f: FMR %.2f%% FNMR %.2f%% balanced %.2f%%",
		len(all.Genuine), len(all.Impostor), maxImp, maxWho, SuggestThreshold, 100*sg.FMR, 100*sg.FNMR, CompareThreshold, 100*cp.FMR, 100*cp.FNMR, 100*cp.Balanced)
	t.Logf("other cross-photo pairs (labels checked by eye): %d, at suggest %.2f%% and compare %.2f%% above threshold",
		len(cross.Impostor), 100*cross.At(SuggestThreshold).FMR, 100*cross.At(CompareThreshold).FMR)
	if len(all.Genuine) < 80 || len(all.Impostor) < 250 {
		t.Fatalf("too few pairs: %d genuine, %d impostor", len(all.Genuine), len(all.Impostor))
	}
	if sg.FMR > 0.10 || sg.FNMR > 0.02 {
		t.Errorf("suggest threshold %.2f: FMR %.2f%% (≤ 10%%), FNMR %.2f%% (≤ 2%%)", SuggestThreshold, 100*sg.FMR, 100*sg.FNMR)
	}
	if cp.FMR > 0 || cp.FNMR > 0.05 {
		t.Errorf("compare threshold %.2f: FMR %.2f%% (want no false match), FNMR %.2f%% (≤ 5%%)", CompareThreshold, 100*cp.FMR, 100*cp.FNMR)
	}
	// Compare's three-way answer (Decide): decided pairs must hold the same
	// bounds, and the unsure share is bounded so errors cannot hide there.
	// Measured in session 9: no genuine pair unsure, 17 of 279 same-photo
	// impostor pairs unsure (6.1%: mostly sample5-a / sample5-e and
	// sample1-b / sample3-c, as photographed and degraded, 0.35–0.41), none
	// decided wrongly.
	bd := all.Band(UnsureThreshold, CompareThreshold)
	t.Logf("compare three-way (unsure %.2f–%.2f): %s", UnsureThreshold, CompareThreshold, bandLine(bd))
	if bd.FMR > 0 || bd.FNMR > 0.05 || bd.UnsureGenuine > 0.05 || bd.UnsureImpostor > 0.10 {
		t.Errorf("compare three-way: %s; want no decided false match, decided FNMR ≤ 5%%, unsure ≤ 5%% of genuine and ≤ 10%% of impostor pairs", bandLine(bd))
	}
	// The pair that keeps CompareThreshold at 0.42: never a "match".
	for _, a := range faces {
		for _, b := range faces {
			if a.Person == "sample5-a" && b.Person == "sample5-e" || a.Person == "sample5-e" && b.Person == "sample5-a" {
				if b.Variant == "" {
					if s := calibrate.Similarity(a.Vector, b.Vector); Decide(s) == Match {
						t.Errorf("%s %s / %s: %.3f decided %q", a.Person, a.Variant, b.Person, s, Decide(s))
					}
				}
			}
		}
	}
}

func bandLine(b calibrate.Band) string {
	return fmt.Sprintf("decided FMR %.2f%% FNMR %.2f%%, unsure %.2f%% of genuine and %.2f%% of impostor pairs", 100*b.FMR, 100*b.FNMR, 100*b.UnsureGenuine, 100*b.UnsureImpostor)
}

// TestDecide pins compare's three-way answer at and around its thresholds.
func TestDecide(t *testing.T) {
	if !(UnsureThreshold < CompareThreshold && SuggestThreshold < UnsureThreshold) {
		t.Fatalf("thresholds out of order: suggest %v, unsure %v, compare %v", SuggestThreshold, UnsureThreshold, CompareThreshold)
	}
	for _, tc := range []struct {
		s    float64
		want Decision
	}{{1, Match}, {CompareThreshold, Match}, {0.419, Unsure}, {0.408, Unsure}, {UnsureThreshold, Unsure}, {0.349, NoMatch}, {0.30, NoMatch}, {-1, NoMatch}} {
		if got := Decide(tc.s); got != tc.want {
			t.Errorf("Decide(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// BenchmarkEmbed is the latency of one aligned face embedding.
func BenchmarkEmbed(b *testing.B) {
	d, e := models(b)
	p := visiontest.Picture(b, "sample1.jpg")
	fs, err := d.Detect(context.Background(), p)
	if err != nil || len(fs) == 0 {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Embed(context.Background(), p, fs[0]); err != nil {
			b.Fatal(err)
		}
	}
}
