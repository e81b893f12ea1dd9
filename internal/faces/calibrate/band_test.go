package calibrate

import (
	"math"
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
