package squeeze

import (
	"context"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// meanProbe is a test double: its "embedding" is the region's mean colour
// and a high-frequency energy term, so squeezers that smooth the region
// move it and pixels outside the region do not.
type meanProbe struct {
	img *image.RGBA
	r   image.Rectangle
}

func (p meanProbe) Photo() *image.RGBA      { return p.img }
func (p meanProbe) Region() image.Rectangle { return p.r }
func (p meanProbe) Embed(_ context.Context, img *image.RGBA) ([]float32, error) {
	var sum, hf float64
	for y := p.r.Min.Y; y < p.r.Max.Y; y++ {
		for x := p.r.Min.X + 1; x < p.r.Max.X; x++ {
			a, b := float64(img.Pix[img.PixOffset(x, y)]), float64(img.Pix[img.PixOffset(x-1, y)])
			sum += a
			hf += math.Abs(a - b)
		}
	}
	return []float32{float32(sum / 1000), float32(hf / 100), 1}, nil
}

func photo(w, h int, f func(x, y int) uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := f(x, y)
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

func TestSqueezeKeepsOutsideAndFlat(t *testing.T) {
	flat := photo(40, 30, func(x, y int) uint8 { return 120 })
	noisy := photo(40, 30, func(x, y int) uint8 { return uint8(100 + 40*((x*7+y*13)%2)) })
	r := image.Rect(10, 5, 30, 25)
	for _, k := range AllSqueezers {
		t.Run(k.String(), func(t *testing.T) {
			out, err := Squeeze(flat, r, k)
			if err != nil {
				t.Fatal(err)
			}
			for i := range flat.Pix {
				if d := int(out.Pix[i]) - int(flat.Pix[i]); d < -4 || d > 4 {
					t.Fatalf("flat photo changed at %d by %d", i, d)
				}
			}
			out, err = Squeeze(noisy, r, k)
			if err != nil {
				t.Fatal(err)
			}
			changed := false
			for y := range 30 {
				for x := range 40 {
					o := noisy.PixOffset(x, y)
					in := image.Pt(x, y).In(r)
					if !in && out.Pix[o] != noisy.Pix[o] {
						t.Fatalf("pixel (%d,%d) outside the region changed", x, y)
					}
					if in && out.Pix[o] != noisy.Pix[o] {
						changed = true
					}
				}
			}
			if k != Bits && !changed {
				t.Errorf("%v left a checkerboard unchanged", k)
			}
			if noisy.Pix[noisy.PixOffset(15, 15)] != 140 && noisy.Pix[noisy.PixOffset(15, 15)] != 100 {
				t.Fatal("squeezing changed its input")
			}
		})
	}
	if _, err := Squeeze(flat, r, Squeezer(99)); err == nil {
		t.Error("unknown squeezer accepted")
	}
}

func TestFitSqueezeModel(t *testing.T) {
	// shift = e^1 · side^−2 with residuals ±0.1: the fit recovers A, B.
	var sides []int
	var shifts []float64
	for i, s := range []int{40, 60, 80, 100, 120, 140, 160} {
		e := 0.1
		if i%2 == 1 {
			e = -0.1
		}
		sides = append(sides, s)
		shifts = append(shifts, math.Exp(1-2*math.Log(float64(s))+e))
	}
	m, err := FitModel(Blur, sides, shifts)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.B+2) > 0.05 || math.Abs(m.A-1) > 0.3 || math.Abs(m.Sigma-0.1) > 0.02 {
		t.Errorf("fit %+v, want A≈1, B≈−2, σ≈0.1", m)
	}
	if z := m.Z(math.Exp(1-2*math.Log(100)+0.3), 100); math.Abs(z-3) > 0.5 {
		t.Errorf("z of a +0.3 residual = %.2f, want ≈ 3", z)
	}
	for _, c := range []struct {
		sides  []int
		shifts []float64
	}{{[]int{1, 2}, []float64{1, 2}}, {[]int{50, 50, 50}, []float64{0.1, 0.2, 0.3}}, {[]int{1, 2, 3}, []float64{1}}} {
		if _, err := FitModel(Blur, c.sides, c.shifts); err == nil {
			t.Errorf("fit of %v accepted", c)
		}
	}
	if q := Quantile([]float64{5, 1, 4, 2, 3}, 0.8); q != 4 {
		t.Errorf("0.8-quantile = %v, want 4", q)
	}
}

func TestFaceSqueezerScores(t *testing.T) {
	ctx := context.Background()
	r := image.Rect(20, 20, 84, 84)
	smooth := photo(100, 100, func(x, y int) uint8 { return uint8(60 + x + y/2) })
	// The same photo with a ±24 checkerboard planted in the face's region.
	planted := photo(100, 100, func(x, y int) uint8 {
		v := 60 + x + y/2
		if image.Pt(x, y).In(r) {
			v += 24 * (2*((x+y)%2) - 1)
		}
		return uint8(v)
	})
	// Models where a natural face's shift is 0.01 at every size, ±1 in
	// ln: the planted pattern's shift (a blur undoes it) is far above.
	a := math.Log(0.01)
	s := New()
	s.Models = []Model{{Blur, a, 0, 1}, {DownUp, a, 0, 1}}
	clean, err := s.Check(ctx, meanProbe{smooth, r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := s.Check(ctx, meanProbe{planted, r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if clean.Suspicious || !bad.Suspicious || bad.Score <= clean.Score {
		t.Errorf("clean %+v, planted %+v: want only the planted face suspicious", clean, bad)
	}
	if len(bad.Shifts) != len(s.Models) || bad.Side != 64 || bad.Threshold != DefaultThreshold {
		t.Errorf("verdict %+v", bad)
	}
	// Sizes outside the fitted range score as its ends.
	if s.Score(bad.Shifts, 1000) != s.Score(bad.Shifts, DefaultMaxSide) || s.Score(bad.Shifts, 3) != s.Score(bad.Shifts, DefaultMinSide) {
		t.Error("side not clamped to the fitted range")
	}
	if _, err := s.Check(ctx, meanProbe{smooth, image.Rect(200, 200, 220, 220)}, nil); err == nil {
		t.Error("region outside the photo accepted")
	}
}

// TestDefaultsOnCalibration re-measures the shipped models and threshold
// on the committed calibration measurement (testdata/lfw10-shifts.csv:
// every face of the 100 LFW10 photos and 13 degraded variants of each
// through the FaceRes probe, written by guardeval.TestCalibrateSqueeze;
// derived numbers only, no pixels). Issue 15's bound: ≤ 0.5% of natural
// faces flagged; measured 4 of 1,406 (0.28%). The shipped models were
// fitted on 354 of these faces (session 7); the refit on all of them is
// logged (docs/guards.md says why it is not shipped).
func TestDefaultsOnCalibration(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "lfw10-shifts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sides, shifts, err := ReadShifts(f, len(DefaultModels))
	if err != nil {
		t.Fatal(err)
	}
	if len(sides) < 1000 {
		t.Fatalf("%d faces, want ≥ 1,000", len(sides))
	}
	for i, want := range DefaultModels {
		col := make([]float64, len(shifts))
		for j := range shifts {
			col[j] = shifts[j][i]
		}
		got, err := FitModel(want.Squeezer, sides, col)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: refit on all {%.2f, %.2f, %.2f}, shipped {%.2f, %.2f, %.2f}", want.Squeezer, got.A, got.B, got.Sigma, want.A, want.B, want.Sigma)
	}
	s := New()
	flagged := 0
	for j := range shifts {
		if s.Score(shifts[j], sides[j]) > s.Threshold {
			flagged++
		}
	}
	t.Logf("%d of %d natural faces flagged at %.2f", flagged, len(shifts), s.Threshold)
	if flagged*200 > len(shifts) {
		t.Errorf("%d of %d natural faces flagged, want ≤ 0.5%% (measured 4)", flagged, len(shifts))
	}
}

// TestReadShiftsRejects checks the calibration CSV reader on malformed
// lines.
func TestReadShiftsRejects(t *testing.T) {
	for _, in := range []string{"a,b,10,0.1", "a,b,x,0.1,0.2", "a,b,0,0.1,0.2", "a,b,10,0.1,-1", "a,b,10,0.1,NaN", "a,b,10,0.1,Inf"} {
		if _, _, err := ReadShifts(strings.NewReader(in), 2); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	sides, shifts, err := ReadShifts(strings.NewReader("a.jpg,q90,40,0.01,0.02\n\nb.jpg,grey,50,0.03,0.04\n"), 2)
	if err != nil || len(sides) != 2 || sides[1] != 50 || shifts[1][1] != 0.04 {
		t.Errorf("got %v %v %v", sides, shifts, err)
	}
}
