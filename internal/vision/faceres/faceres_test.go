package faceres

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// models loads the face detector and the embedder, closed with the test.
func models(t testing.TB) (*blazeface.Detector, *Embedder) {
	t.Helper()
	visiontest.Dir(t)
	det, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { det.Close() })
	e, err := New(visiontest.Load(t, ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return det, e
}

// TestGolden compares the converted graph with FaceRes on TF.js for the
// same face crops. Tolerance 1e-3 (scaled; embeddings are O(1)).
func TestGolden(t *testing.T) {
	det, e := models(t)
	for _, name := range []string{"sample2.jpg", "sample3.jpg"} {
		p := visiontest.Picture(t, name)
		faces, err := det.Detect(context.Background(), p)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: %d faces, %v", name, len(faces), err)
		}
		in := Input(p, faces[0])
		out, err := e.Raw(in)
		if err != nil {
			t.Fatal(err)
		}
		visiontest.Compare(t, filepath.Join("testdata", "golden-"+name+".json"), in, []int64{1, InputSize, InputSize, 3},
			[]string{"embedding"}, []ort.Tensor{{Data: out, Shape: []int64{1, Dim}}},
			visiontest.Reference{Args: []string{"graph", visiontest.Path(t, "faceres.json")}, Nodes: []string{"global_pooling/Mean"}}, 1e-3)
	}
}

// TestEmbedAllBatches: faces embedded in one batched run (more than
// MaxBatch, so in two runs) equal the same faces embedded one at a time.
func TestEmbedAllBatches(t *testing.T) {
	det, e := models(t)
	p := visiontest.Picture(t, "sample5.jpg")
	faces, err := det.Detect(context.Background(), p)
	if err != nil || len(faces) < 2 {
		t.Fatalf("%d faces, %v", len(faces), err)
	}
	for len(faces) <= MaxBatch {
		faces = append(faces, faces...)
	}
	all, err := e.EmbedAll(context.Background(), p, faces)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(faces) {
		t.Fatalf("%d embeddings for %d faces", len(all), len(faces))
	}
	for i, f := range faces {
		one, err := e.Embed(context.Background(), p, f)
		if err != nil {
			t.Fatal(err)
		}
		for k := range one {
			if d := one[k] - all[i][k]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("face %d: batched value %d = %g, single %g", i, k, all[i][k], one[k])
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.EmbedAll(ctx, p, faces); err == nil {
		t.Error("cancelled context: no error")
	}
}

func BenchmarkEmbed5(b *testing.B) {
	det, e := models(b)
	p := visiontest.Picture(b, "sample5.jpg")
	faces, _ := det.Detect(context.Background(), p)
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for _, f := range faces {
				e.Embed(context.Background(), p, f)
			}
		}
	})
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			e.EmbedAll(context.Background(), p, faces)
		}
	})
}
