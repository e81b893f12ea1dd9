package faces

import (
	"context"
	"image"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

type stubEngine struct{}

func (stubEngine) Decode([]byte) (*picture.Picture, error) {
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, 8, 8)), Width: 8, Height: 8, Scale: 1}, nil
}

func (stubEngine) Embeddings(context.Context, *picture.Picture) ([]vision.Embedding, error) {
	v := make([]float32, faceres.Dim)
	v[0] = 1
	return []vision.Embedding{{Face: blazeface.Face{Box: geom.Rect{X: 1, Y: 1, W: 4, H: 4}, Score: 0.9}, Vector: v}}, nil
}

type grantAll struct{}

func (grantAll) Require(context.Context, string, string, string) error { return nil }

func (stubEngine) FaceProbe(p *picture.Picture, f blazeface.Face) vision.FaceProbe {
	return stubProbe{p}
}

type stubProbe struct{ p *picture.Picture }

func (q stubProbe) Photo() *image.RGBA      { return q.p.RGB }
func (q stubProbe) Region() image.Rectangle { return q.p.RGB.Rect }
func (q stubProbe) Embed(context.Context, *image.RGBA) ([]float32, error) {
	return []float32{1}, nil
}

type flagAll struct{}

func (flagAll) Check(context.Context, squeeze.FaceProbe, []float32) (squeeze.Verdict, error) {
	return squeeze.Verdict{Suspicious: true, Score: 0.5, Threshold: 0.1}, nil
}

// TestSuggestWithholdsAdversarialFace: when the squeezer flags a face, the
// photo is not refused, but that face gets no suggestion, nothing about it
// is stored, and the callback hears of it.
func TestSuggestWithholdsAdversarialFace(t *testing.T) {
	k := testkit.New(t, nil)
	ctx := context.Background()
	k.Tenant(t, "ten_a")
	k.Photo(t, "ten_a", "h", "ast_1", "x")
	var reported []float64
	s := New(Deps{Engine: stubEngine{}, Assets: k.Store, Objects: k.Objects, Consent: grantAll{}, Store: k.Store, Hash: k.Keys,
		Clock: k.Clock, Log: k.Log, Squeezer: flagAll{},
		OnAdversarial: func(_ context.Context, _, _ string, score float64) { reported = append(reported, score) }})
	if fs, err := s.SuggestAs(ctx, "ten_a", "key_1", "ast_1"); err != nil || len(fs) != 0 {
		t.Fatalf("SuggestAs = %v, %v; want no suggestion and no error", fs, err)
	}
	if len(reported) != 1 || reported[0] != 0.5 {
		t.Errorf("reported %v", reported)
	}
	if gs, _ := k.Store.Suggestions(ctx, "ten_a", "h"); len(gs) != 0 {
		t.Errorf("%d drafts stored for a withheld face", len(gs))
	}
	// Without the squeezer the same photo is suggested.
	s.d.Squeezer = nil
	if fs, err := s.SuggestAs(ctx, "ten_a", "key_1", "ast_1"); err != nil || len(fs) != 1 {
		t.Errorf("SuggestAs = %v, %v", fs, err)
	}
}
