package faces

import (
	"bytes"
	"context"
	"image"
	"testing"

	"github.com/obscuraproject/obscura/internal/faces/gallery"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// arcEngine is an engine of the current model: one face at (1,1,4,4).
type arcEngine struct{ stubEngine }

func (arcEngine) Decode([]byte) (*picture.Picture, error) {
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, 8, 8)), Width: 8, Height: 8, Scale: 1}, nil
}

func (arcEngine) Embeddings(context.Context, *picture.Picture) ([]vision.Embedding, error) {
	v := make([]float32, arcface.Dim)
	v[1] = 1
	return []vision.Embedding{{Face: blazeface.Face{Box: geom.Rect{X: 1, Y: 1, W: 4, H: 4}, Score: 0.9}, Vector: v}}, nil
}

// TestReembed: a gallery of FaceRes templates (as every gallery written
// before issue 15) is not matched by arcface queries; Reembed re-embeds the
// template whose tag and photo exist and drops the one without a tag, and
// then the person matches.
func TestReembed(t *testing.T) {
	k := testkit.New(t, nil)
	ctx := context.Background()
	k.Tenant(t, "ten_a")
	k.Photo(t, "ten_a", "h", "ast_1", "x")
	if err := k.Store.CreateFaceTag(ctx, store.FaceTag{ID: "tag_1", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", PersonID: "per_a", Box: store.Box{X: 1, Y: 1, W: 5, H: 4}, CreatedAt: k.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	old := make([]float32, faceres.Dim)
	old[0] = 1
	g := &gallery.Gallery{Dim: faceres.Dim, People: []Person{{ID: "per_a", Name: "Ann"}},
		Templates: []gallery.Template{{ID: "tag_1", Person: "per_a", Vector: old}, {ID: "tpl_x", Person: "per_a", Vector: old}}}
	if _, err := k.Objects.Put(ctx, galleryRef("ten_a", "h"), bytes.NewReader(g.Marshal())); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Engine: arcEngine{}, Assets: k.Store, Objects: k.Objects, Consent: grantAll{}, Store: k.Store, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	q, _ := arcEngine{}.Embeddings(ctx, nil)
	before, err := s.load(ctx, "ten_a", "h")
	if err != nil {
		t.Fatal(err)
	}
	if before.Stale() != 2 || len(before.Match(q[0].Vector, 0.1, 3)) != 0 {
		t.Fatalf("before: %d stale, matches %v", before.Stale(), before.Match(q[0].Vector, 0.1, 3))
	}
	m, err := s.Reembed(ctx, "ten_a", "h", 20)
	if err != nil {
		t.Fatal(err)
	}
	if m != (Migration{Reembedded: 1, Dropped: 1}) {
		t.Errorf("migration %+v", m)
	}
	after, err := s.load(ctx, "ten_a", "h")
	if err != nil {
		t.Fatal(err)
	}
	if after.Stale() != 0 || len(after.Templates) != 1 || after.Templates[0].Model != arcface.ModelID {
		t.Fatalf("after: %+v", after.Templates)
	}
	if c := after.Match(q[0].Vector, SuggestThreshold, 3); len(c) != 1 || c[0].Person.ID != "per_a" {
		t.Errorf("after migration: %+v", c)
	}
	// Nothing left to do: a second call changes nothing.
	if m, err := s.Reembed(ctx, "ten_a", "h", 20); err != nil || m != (Migration{}) {
		t.Errorf("second call: %+v %v", m, err)
	}
}
