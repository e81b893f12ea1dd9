package calibrate

import (
	"math"
	"strings"
	"testing"
)

// TestBand: the three-way decision's rates count decided pairs only, and
// every pair in the unsure range is counted as unsure, genuine or not.
func TestBand(t *testing.T) {
	s := Scores{Genuine: []float64{0.9, 0.8, 0.5, 0.38, 0.2}, Impostor: []float64{0.1, 0.2, 0.36, 0.4, 0.5, 0.05, -0.1, 0.3}}
	for _, tc := range []struct {
		lower, upper                float64
		fmr, fnmr, ugen, uimp, uall float64
	}{
		// 0.38 genuine and 0.36, 0.4 impostors unsure; 0.5 impostor matches.
		{0.35, 0.42, 1.0 / 6, 1.0 / 4, 1.0 / 5, 2.0 / 8, 3.0 / 13},
		// An empty band is the binary decision at upper.
		{0.42, 0.42, 1.0 / 8, 2.0 / 5, 0, 0, 0},
		// Everything unsure: no decided pair, rates 0.
		{-1, 1, 0, 0, 1, 1, 1},
	} {
		b := s.Band(tc.lower, tc.upper)
		for _, x := range []struct {
			name      string
			got, want float64
		}{{"FMR", b.FMR, tc.fmr}, {"FNMR", b.FNMR, tc.fnmr}, {"unsure genuine", b.UnsureGenuine, tc.ugen}, {"unsure impostor", b.UnsureImpostor, tc.uimp}, {"unsure", b.Unsure, tc.uall}} {
			if math.Abs(x.got-x.want) > 1e-12 {
				t.Errorf("Band(%v, %v) %s = %v, want %v", tc.lower, tc.upper, x.name, x.got, x.want)
			}
		}
		if want := 1 - (tc.fmr+tc.fnmr)/2; math.Abs(b.Balanced-want) > 1e-12 {
			t.Errorf("Band(%v, %v) balanced %v, want %v", tc.lower, tc.upper, b.Balanced, want)
		}
	}
	// The binary rates at upper are the band's with no unsure range.
	if r, b := s.At(0.42), s.Band(0.42, 0.42); r.FMR != b.FMR || r.FNMR != b.FNMR {
		t.Errorf("At %+v vs Band %+v", r, b)
	}
}

// TestMeasureBand: Measure reports the three-way figures only with an
// unsure threshold below compare, at the shipped thresholds and held out
// (each fold's compare threshold as the start of "unsure").
func TestMeasureBand(t *testing.T) {
	// Persons a, b, c, d: a's two photos at cosine 0.38 (between 0.35 and
	// 0.42), every other pair orthogonal (impostors at 0).
	e := func(i int) []float32 { v := make([]float32, 5); v[i] = 1; return v }
	a2 := e(0)
	a2[0], a2[1] = 0.38, float32(math.Sqrt(1-0.38*0.38))
	fs := []Face{{Person: "a", Photo: "a1", Vector: e(0)}, {Person: "a", Photo: "a2", Vector: a2},
		{Person: "b", Photo: "b1", Vector: e(2)}, {Person: "c", Photo: "c1", Vector: e(3)}, {Person: "d", Photo: "d1", Vector: e(4)}}
	r := Measure(fs, nil, nil, 2, 0.30, 0.42, 0.35)
	s := r.Sets[0]
	if r.UnsureThreshold != 0.35 || s.Band == nil || s.Pooled.Band == nil {
		t.Fatalf("no band: %+v", r)
	}
	if s.Band.UnsureGenuine != 1 || s.Band.FNMR != 0 || s.Band.UnsureImpostor != 0 || s.Band.FMR != 0 {
		t.Errorf("shipped band: %+v, want a's pair unsure and every impostor pair decided", *s.Band)
	}
	if s.Pooled.Band.Lower != -1 || s.Pooled.Band.Upper != 0.42 {
		t.Errorf("pooled band: %+v", *s.Pooled.Band)
	}
	if txt := r.Text(); !strings.Contains(txt, "compare three-way, unsure 0.350 to 0.420") || !strings.Contains(txt, "pooled three-way") {
		t.Errorf("text lacks the three-way lines:\n%s", txt)
	}
	if r := Measure(fs, nil, nil, 2, 0.30, 0.42, 0); r.Sets[0].Band != nil || r.Sets[0].Pooled.Band != nil || strings.Contains(r.Text(), "three-way") {
		t.Errorf("band without an unsure threshold: %+v", r.Sets[0])
	}
}
