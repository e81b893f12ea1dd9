package onnxgraph_test

import (
	"bytes"
	"math"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/models/convert/onnxgraph"
	"github.com/obscuraproject/obscura/internal/vision/ort"
)

func build() []byte {
	g := onnxgraph.New("t", "test")
	x := g.Input("x", 1, 1, 3, 3)
	w := g.Const("w", []int64{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	b := g.Const("b", []int64{1}, []float32{-10})
	y := g.Op("Conv", "conv", []string{x, w, b}, onnxgraph.Ints("kernel_shape", 2, 2), onnxgraph.Ints("strides", 1, 1))
	y = g.Op("Relu", "", []string{y})
	sh := g.ConstInt64("shape", []int64{2}, []int64{1, 4})
	y = g.Op("Reshape", "", []string{y, sh})
	g.Output(g.Rename(y, "y"))
	return g.Marshal()
}

func TestGraphRunsInONNXRuntime(t *testing.T) {
	m := models.Pinned()
	if err := ort.Init(m, models.DefaultDir(os.Getenv)); err != nil {
		t.Fatalf("init runtime (run make setup-test): %v", err)
	}
	model := build()
	if !bytes.Equal(model, build()) {
		t.Fatal("encoding is not deterministic")
	}
	s, err := ort.NewSession(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, shape, err := s.Run([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 2×2 correlation minus 10, then ReLU: [37-10, 47-10, 67-10, 77-10].
	want := []float32{27, 37, 57, 67}
	if len(shape) != 2 || shape[1] != 4 {
		t.Fatalf("shape %v", shape)
	}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-5 {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}
