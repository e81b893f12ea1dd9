package vision

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// TestLanes: the features run side by side (tags beside the rest, face
// embeddings on two lanes) answer exactly what each feature answers alone,
// faces in detection order, also with several analyses at once on one
// engine.
func TestLanes(t *testing.T) {
	eng, err := Open(models.Pinned(), visiontest.Dir(t), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	p := visiontest.Picture(t, "sample5.jpg")
	want := &Result{Width: p.Width, Height: p.Height}
	for _, f := range []string{Faces, Tags, Sensitive} {
		r, err := eng.AnalyzePicture(ctx, p, []string{f})
		if err != nil {
			t.Fatal(err)
		}
		want.Faces, want.Tags = append(want.Faces, r.Faces...), append(want.Tags, r.Tags...)
		if r.Sensitive != nil {
			want.Sensitive = r.Sensitive
		}
	}
	if len(want.Faces) < 2 || len(want.Tags) == 0 || want.Sensitive == nil {
		t.Fatalf("sample5: %d faces, %d tags, rating %v: want several faces, a tag and a rating", len(want.Faces), len(want.Tags), want.Sensitive)
	}
	fs, err := eng.faces.Detect(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var wantVecs [][]float32
	for _, f := range fs {
		v, err := eng.ident.Embed(ctx, p, f)
		if err != nil {
			t.Fatal(err)
		}
		wantVecs = append(wantVecs, v)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			got, err := eng.AnalyzePicture(ctx, p, []string{Faces, Tags, Sensitive})
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("all features at once: %+v, want %+v", got, want)
			}
			es, err := eng.Embeddings(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			if len(es) != len(fs) {
				t.Errorf("%d embeddings, want %d", len(es), len(fs))
				return
			}
			for i, e := range es {
				if e.Face != fs[i] || !reflect.DeepEqual(e.Vector, wantVecs[i]) {
					t.Errorf("embedding %d is not face %d's", i, i)
				}
			}
		})
	}
	wg.Wait()
	if _, err := eng.AnalyzePicture(ctx, p, []string{Tags, Sensitive}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := eng.AnalyzePicture(cctx, p, []string{Faces, Tags}); err == nil {
		t.Error("a cancelled analysis answered")
	}
}
