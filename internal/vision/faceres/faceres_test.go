package faceres

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// TestGolden compares the converted graph with FaceRes on TF.js for the
// same face crops. Tolerance 1e-3 (scaled; embeddings are O(1)).
func TestGolden(t *testing.T) {
	visiontest.Dir(t)
	det, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	e, err := New(visiontest.Load(t, ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
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
