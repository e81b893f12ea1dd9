package align

import (
	"math"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/geom"
)

func near(a, b geom.Point) bool { return math.Abs(a.X-b.X) < 1e-9 && math.Abs(a.Y-b.Y) < 1e-9 }

// TestFitRecoversTransform: points moved by a known similarity are mapped
// back exactly, and the inverse undoes it.
func TestFitRecoversTransform(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Similarity
	}{
		{"identity", Similarity{A: 1}},
		{"shift", Similarity{A: 1, TX: 12, TY: -7}},
		{"rotate-scale", Similarity{A: 0.5 * math.Cos(0.3), B: 0.5 * math.Sin(0.3), TX: 40, TY: 3}},
		{"upside-down", Similarity{A: -2, B: 0.1, TX: 100, TY: 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []geom.Point{{X: 10, Y: 20}, {X: 60, Y: 22}, {X: 35, Y: 50}, {X: 36, Y: 75}}
			dst := make([]geom.Point, len(src))
			for i, p := range src {
				dst[i] = tc.want.Apply(p)
			}
			got := Fit(src, dst)
			for i, p := range src {
				if q := got.Apply(p); !near(q, dst[i]) {
					t.Errorf("point %d: %+v, want %+v", i, q, dst[i])
				}
				if back := got.Inverse().Apply(dst[i]); !near(back, p) {
					t.Errorf("inverse of point %d: %+v, want %+v", i, back, p)
				}
			}
		})
	}
}

// TestFitLeastSquares: with noisy points the fit is the least-squares one
// (the residual cannot be lowered by nudging any parameter), and a
// reflection is never chosen.
func TestFitLeastSquares(t *testing.T) {
	src := []geom.Point{{X: 0, Y: 0}, {X: 10, Y: 0}, {X: 5, Y: 6}, {X: 5, Y: 12}}
	dst := []geom.Point{{X: 1, Y: 0.5}, {X: 20.5, Y: -0.2}, {X: 10.8, Y: 12.1}, {X: 9.7, Y: 24.4}}
	res := func(s Similarity) float64 {
		var e float64
		for i, p := range src {
			q := s.Apply(p)
			e += (q.X-dst[i].X)*(q.X-dst[i].X) + (q.Y-dst[i].Y)*(q.Y-dst[i].Y)
		}
		return e
	}
	best := Fit(src, dst)
	e0 := res(best)
	for _, d := range []Similarity{{A: 1e-3}, {B: 1e-3}, {TX: 1e-3}, {TY: 1e-3}} {
		for _, sgn := range []float64{-1, 1} {
			s := Similarity{A: best.A + sgn*d.A, B: best.B + sgn*d.B, TX: best.TX + sgn*d.TX, TY: best.TY + sgn*d.TY}
			if res(s) < e0 {
				t.Errorf("nudged %+v lowers the residual %.6f to %.6f", d, e0, res(s))
			}
		}
	}
	if best.A <= 0 {
		t.Errorf("fit %+v: scale should be about 2 with no rotation", best)
	}
}

// TestTemplate4: the mouth point is the mouth corners' midpoint and the
// template scales with the side.
func TestTemplate4(t *testing.T) {
	a, b := Template4(112), Template4(224)
	if math.Abs(a[3].X-56.1396) > 1e-3 || math.Abs(a[3].Y-92.28475) > 1e-3 {
		t.Errorf("mouth %+v", a[3])
	}
	for i := range a {
		if !near(geom.Point{X: 2 * a[i].X, Y: 2 * a[i].Y}, b[i]) {
			t.Errorf("point %d does not scale: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestDegenerate(t *testing.T) {
	p := []geom.Point{{X: 3, Y: 3}, {X: 3, Y: 3}}
	s := Fit(p, []geom.Point{{X: 5, Y: 5}, {X: 5, Y: 5}})
	if q := s.Apply(geom.Point{X: 3, Y: 3}); !near(q, geom.Point{X: 5, Y: 5}) {
		t.Errorf("degenerate fit maps to %+v", q)
	}
	if s := Fit(nil, nil); s != (Similarity{A: 1}) {
		t.Errorf("empty fit %+v", s)
	}
}
