package ppocr

import (
	"context"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// TestDetectRenderedLines: every rendered line is found once, its box
// overlapping the drawn line's (IoU ≥ 0.5), in reading order.
func TestDetectRenderedLines(t *testing.T) {
	visiontest.Dir(t)
	d, err := NewDetector(visiontest.Load(t, DetectorFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, st := range []visiontest.Style{visiontest.Document, visiontest.Meme, visiontest.Sign} {
		lines := visiontest.Sentences[6:9]
		p, want := visiontest.RenderText(t, lines, st, 32, "sample4.jpg")
		got, err := d.Detect(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for i, w := range want {
			for _, g := range got {
				if g.Box.IoU(w) >= 0.5 {
					matched++
					if g.Score < BoxThreshold {
						t.Errorf("%s line %d: score %.2f below threshold", st, i, g.Score)
					}
					break
				}
			}
		}
		if matched != len(want) {
			t.Errorf("%s: %d of %d lines found (%v vs %v)", st, matched, len(want), got, want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Box.Y+got[i].Box.H/2 < got[i-1].Box.Y {
				t.Errorf("%s: lines out of reading order: %v", st, got)
			}
		}
	}
}

func TestRegions(t *testing.T) {
	const w, h = 20, 10
	prob := make([]float32, w*h)
	// A 10×4 confident block and a 2×2 speck (too small) and a faint
	// block (mean below BoxThreshold).
	for y := 2; y < 6; y++ {
		for x := 3; x < 13; x++ {
			prob[y*w+x] = 0.9
		}
	}
	prob[8*w+1], prob[8*w+2], prob[9*w+1], prob[9*w+2] = 0.9, 0.9, 0.9, 0.9
	for y := 6; y < 10; y++ {
		for x := 15; x < 20; x++ {
			prob[y*w+x] = 0.4
		}
	}
	rs := regions(prob, w, h)
	if len(rs) != 1 {
		t.Fatalf("regions = %v, want the one block", rs)
	}
	// Unclip distance 10×4×1.5/(2×14) = 2.14 on each side.
	b := rs[0].Box
	if b.X > 1 || b.X < 0.8 || b.W < 14.2 || b.W > 14.3 || rs[0].Score < 0.89 {
		t.Errorf("box %+v score %.2f", b, rs[0].Score)
	}
}

func TestDecode(t *testing.T) {
	r := &Recognizer{keys: []string{"", "a", "b", " "}}
	n := len(r.keys)
	steps := func(best ...int) []float32 {
		out := make([]float32, len(best)*n)
		for i, k := range best {
			out[i*n+k] = 0.8
		}
		return out
	}
	tests := []struct {
		best []int
		want string
	}{
		{[]int{1, 1, 0, 1, 2, 2}, "aab"},
		{[]int{0, 0, 0}, ""},
		{[]int{3, 1, 3, 2, 3}, "a b"},
	}
	for _, tc := range tests {
		got, score := r.decode(steps(tc.best...), len(tc.best))
		if got != tc.want {
			t.Errorf("decode %v = %q, want %q", tc.best, got, tc.want)
		}
		if tc.want != "" && (score < 0.79 || score > 0.81) {
			t.Errorf("score %v", score)
		}
	}
}

func TestNewRecognizerRejectsEmptyDictionary(t *testing.T) {
	if _, err := NewRecognizer(nil, nil, 1); err == nil {
		t.Error("empty dictionary accepted")
	}
}
