package faces

import (
	"context"
	"image"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
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

// flagFirst flags the face at X=1 (the first of twoFaces) only.
type flagFirst struct{}

func (flagFirst) AdversarialEmbedded(_ *picture.Picture, f blazeface.Face, _ []float32) (bool, float64, error) {
	return f.Box.X == 1, 0.5, nil
}

type twoFaces struct{ stubEngine }

func (twoFaces) Embeddings(context.Context, *picture.Picture) ([]vision.Embedding, error) {
	v := make([]float32, faceres.Dim)
	v[0] = 1
	return []vision.Embedding{{Face: blazeface.Face{Box: geom.Rect{X: 1, Y: 1, W: 4, H: 4}, Score: 0.9}, Vector: v},
		{Face: blazeface.Face{Box: geom.Rect{X: 3, Y: 2, W: 4, H: 4}, Score: 0.9}, Vector: v}}, nil
}

// TestSuggestWithholdsSuspiciousFaces: the guard policy of the consented
// run. A face the squeezer flags is analysed but gets no suggestion (no
// draft embedding is stored, nothing is matched), the callback (the
// alert) hears of it, and the photo's other faces are suggested: a face
// score never refuses the request.
func TestSuggestWithholdsSuspiciousFaces(t *testing.T) {
	k := testkit.New(t, nil)
	ctx := context.Background()
	k.Tenant(t, "ten_a")
	if err := k.Store.CreateAsset(ctx, store.Asset{ID: "ast_1", TenantID: "ten_a", SubjectHash: "h", Format: "jpeg", Width: 8, Height: 8, Size: 1, CreatedAt: k.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Objects.Put(ctx, sealed.Ref{Tenant: "ten_a", Subject: "h", Object: "ast_1"}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	var reported []float64
	s := New(Deps{Engine: twoFaces{}, Assets: k.Store, Objects: k.Objects, Consent: grantAll{}, Store: k.Store, Hash: k.Keys,
		Clock: k.Clock, Log: k.Log, Squeezer: flagFirst{},
		OnAdversarial: func(_ context.Context, _, _ string, score float64) { reported = append(reported, score) }})
	fs, err := s.SuggestAs(ctx, "ten_a", "key_1", "ast_1")
	if err != nil {
		t.Fatalf("SuggestAs = %v; a suspicious face must not refuse the photo", err)
	}
	if len(fs) != 1 || fs[0].Box.X != 3 {
		t.Errorf("suggestions %+v: want only the unflagged face (x=3)", fs)
	}
	if len(reported) != 1 || reported[0] != 0.5 {
		t.Errorf("reported %v", reported)
	}
	gs, _ := k.Store.Suggestions(ctx, "ten_a", "h")
	if len(gs) != 1 || gs[0].Box.X != 3 {
		t.Errorf("drafts stored %+v: the flagged face's embedding must not be stored", gs)
	}
	n := 0
	k.Blobs.List(ctx, "t/ten_a/s/h/face_recognition/", func(string) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d sealed draft embeddings, want 1", n)
	}
	// Without the squeezer both faces are suggested.
	s2 := New(Deps{Engine: twoFaces{}, Assets: k.Store, Objects: k.Objects, Consent: grantAll{}, Store: k.Store, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	if fs, err := s2.SuggestAs(ctx, "ten_a", "key_1", "ast_1"); err != nil || len(fs) != 2 {
		t.Errorf("SuggestAs = %v, %v", fs, err)
	}
}
