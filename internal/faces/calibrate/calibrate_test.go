package calibrate

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestRates(t *testing.T) {
	s := Scores{Genuine: []float64{0.9, 0.8, 0.7, 0.2}, Impostor: []float64{0.1, 0.2, 0.3, 0.75, 0.05}}
	for _, tc := range []struct {
		t         float64
		fmr, fnmr float64
	}{{0.5, 0.2, 0.25}, {0.76, 0, 0.5}, {0.0, 1, 0}, {0.95, 0, 1}} {
		r := s.At(tc.t)
		if math.Abs(r.FMR-tc.fmr) > 1e-12 || math.Abs(r.FNMR-tc.fnmr) > 1e-12 {
			t.Errorf("At(%v) = %+v, want FMR %v FNMR %v", tc.t, r, tc.fmr, tc.fnmr)
		}
	}
	// FMR ≤ 20% of 5 impostors allows one at or above: just above 0.3.
	if th := s.ThresholdForFMR(0.2); !(th > 0.3 && th < 0.3001) {
		t.Errorf("ThresholdForFMR(0.2) = %v", th)
	}
	// FMR 0: just above the highest impostor.
	if th := s.ThresholdForFMR(0); !(th > 0.75 && th < 0.7501) || s.At(th).FMR != 0 {
		t.Errorf("ThresholdForFMR(0) = %v", th)
	}
	eer, at := s.EER()
	if eer < 0.2 || eer > 0.25 || at.FMR != 0.2 {
		t.Errorf("EER %v at %+v", eer, at)
	}
	if roc := s.ROC(5); len(roc) != 5 || roc[0].FMR != 1 || roc[4].FNMR != 1 {
		t.Errorf("ROC %+v", roc)
	}
}

func TestPairsAndFolds(t *testing.T) {
	v := func(x float32) []float32 { return []float32{x, float32(math.Sqrt(float64(1 - x*x)))} }
	fs := []Face{
		{Person: "a", Photo: "a1", Vector: v(1)}, {Person: "a", Photo: "a2", Vector: v(0.9)},
		{Person: "b", Photo: "b1", Vector: v(0)}, {Person: "b", Photo: "b2", Vector: v(0.1)},
		{Person: "a", Photo: "a1", Variant: "grey", Vector: v(0.95)},
	}
	o := Pairs(fs, "", nil)
	if len(o.Genuine) != 2 || len(o.Impostor) != 4 {
		t.Errorf("originals: %d genuine, %d impostor", len(o.Genuine), len(o.Impostor))
	}
	// The variant of a1 is compared with a2 (genuine) and b1, b2, never a1.
	g := Pairs(fs, "grey", nil)
	if len(g.Genuine) != 1 || len(g.Impostor) != 2 {
		t.Errorf("variant: %d genuine, %d impostor", len(g.Genuine), len(g.Impostor))
	}
	if sp := SelfPairs(fs, "grey"); len(sp.Genuine) != 1 || len(sp.Impostor) != 2 {
		t.Errorf("self pairs: %+v", sp)
	}
	folds := Folds(fs, 2)
	if len(folds) != 2 || !folds[0]["a"] || !folds[1]["b"] || len(Complement(fs, folds[0])) != 1 {
		t.Errorf("folds %v", folds)
	}
	if only := Pairs(fs, "", folds[0]); len(only.Impostor) != 0 || len(only.Genuine) != 1 {
		t.Errorf("fold a: %+v", only)
	}
}

func TestDegrade(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for _, v := range Variants {
		b, err := Degrade(img, 100, v, 3)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d bytes, %v", v, len(b), err)
		}
		out, format, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		w := out.Bounds().Dx()
		switch v {
		case "grey":
			if _, ok := out.ColorModel().(interface{ Convert(color.Color) color.Color }); !ok || format != "jpeg" {
				t.Errorf("grey: %s", format)
			}
			r, g, bl, _ := out.At(10, 10).RGBA()
			if r != g || g != bl {
				t.Errorf("grey pixel %d %d %d", r, g, bl)
			}
		case "small":
			// Face 100 px → 40 + (3·13 mod 61) = 79 px: the photo scales by 0.79.
			if w != 158 {
				t.Errorf("small: width %d, want 158", w)
			}
		case "screenshot":
			if format != "png" || w != 150+32 {
				t.Errorf("screenshot: %s width %d", format, w)
			}
		}
	}
	if _, err := Degrade(img, 100, "sepia", 0); err == nil {
		t.Error("unknown variant accepted")
	}
}
