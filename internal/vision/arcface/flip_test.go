package arcface

import (
	"context"
	"math"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// TestMirror checks the flip of a network input: each plane's rows are
// reversed, and flipping twice gives the input back.
func TestMirror(t *testing.T) {
	in := make([]float32, 3*InputSize*InputSize)
	for i := range in {
		in[i] = float32(i)
	}
	m := Mirror(in)
	for _, c := range []struct{ ch, y, x int }{{0, 0, 0}, {1, 5, 7}, {2, 111, 111}, {2, 40, 56}} {
		got := m[(c.ch*InputSize+c.y)*InputSize+c.x]
		want := in[(c.ch*InputSize+c.y)*InputSize+InputSize-1-c.x]
		if got != want {
			t.Errorf("channel %d (%d,%d): %v, want %v", c.ch, c.x, c.y, got, want)
		}
	}
	back := Mirror(m)
	for i := range in {
		if back[i] != in[i] {
			t.Fatalf("mirror twice differs at %d", i)
		}
	}
}

// TestEmbedFlip checks the flip-augmented embedding on a sample face: unit
// length, close to the plain embedding (the same face) but not equal to
// it (the mirror was really embedded), and the same for the face and its
// mirror image's input (the sum is symmetric).
func TestEmbedFlip(t *testing.T) {
	d, e := models(t)
	ctx := context.Background()
	p := visiontest.Picture(t, "sample1.jpg")
	fs, err := d.Detect(ctx, p)
	if err != nil || len(fs) == 0 {
		t.Fatal(fs, err)
	}
	plain, err := e.Embed(ctx, p, fs[0])
	if err != nil {
		t.Fatal(err)
	}
	flip, err := e.EmbedFlip(ctx, p, fs[0])
	if err != nil {
		t.Fatal(err)
	}
	var n, dot float64
	for i := range flip {
		n += float64(flip[i]) * float64(flip[i])
		dot += float64(flip[i]) * float64(plain[i])
	}
	if math.Abs(n-1) > 1e-4 {
		t.Errorf("flip embedding has norm² %.6f", n)
	}
	if dot < 0.8 || dot > 0.9999 {
		t.Errorf("cosine(flip, plain) = %.4f, want in [0.8, 0.9999)", dot)
	}
	t.Logf("cosine(flip, plain) = %.4f", dot)
}
