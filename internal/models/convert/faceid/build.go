package faceid

import (
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/models/convert/onnxgraph"
	"github.com/obscuraproject/obscura/internal/models/convert/tfjs"
)

// Build assembles the ONNX graph of face-api's face recognition network
// from its weights manifest and weights (the package ships no graph). The
// structure follows face-api 1.7.15's FaceRecognitionNet.forwardInput:
// mean subtraction and /255, a 7×7 stride-2 convolution, 3×3 max pooling,
// residual blocks of 32, 64, 128 and 256 channels (down-sampling blocks add
// a 2×2 average-pooled, zero-padded shortcut), a spatial mean and a 256→128
// projection. Input: NHWC 1×150×150×3 RGB in 0..255; output: 128 floats.
func Build(manifestJSON, weights []byte) ([]byte, error) {
	var groups []json.RawMessage
	if err := json.Unmarshal(manifestJSON, &groups); err != nil {
		return nil, fmt.Errorf("faceid: manifest: %w", err)
	}
	wrapped, err := json.Marshal(map[string]any{"weightsManifest": groups})
	if err != nil {
		return nil, err
	}
	w, err := tfjs.Weights(wrapped, weights)
	if err != nil {
		return nil, fmt.Errorf("faceid: %w", err)
	}
	b := &builder{g: onnxgraph.New("face-api-resnet34", "obscura faceid builder"), w: w}
	return b.build()
}

type builder struct {
	g   *onnxgraph.Graph
	w   map[string]tfjs.Weight
	err error
}

func (b *builder) weight(name string, rank int) tfjs.Weight {
	w, ok := b.w[name]
	if !ok || len(w.Shape) != rank || w.F == nil {
		if b.err == nil {
			b.err = fmt.Errorf("faceid: weight %s missing or malformed: %w", name, tfjs.ErrFormat)
		}
		return tfjs.Weight{Shape: make([]int, rank), F: []float32{}}
	}
	return w
}

// konst adds a float initializer, or records a format error when the
// weight's length does not match dims (onnxgraph.Const panics on that, and
// the weights come from a file).
func (b *builder) konst(hint string, dims []int64, data []float32) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	if n != int64(len(data)) {
		if b.err == nil {
			b.err = fmt.Errorf("faceid: weight %s: %d values for shape %v: %w", hint, len(data), dims, tfjs.ErrFormat)
		}
		return hint
	}
	return b.g.Const(hint, dims, data)
}

// conv is face-api's convLayer: conv + bias, then ×scale.weights +
// scale.biases, then optionally ReLU. size is the input's spatial side.
func (b *builder) conv(x, name string, size, stride int, relu, valid bool) (string, int, int) {
	f := b.weight(name+"/conv/filters", 4)
	if b.err != nil {
		return x, size, 0
	}
	kh, kw, cin, cout := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	wt := make([]float32, len(f.F))
	for y := range kh {
		for xx := range kw {
			for ci := range cin {
				for co := range cout {
					wt[((co*cin+ci)*kh+y)*kw+xx] = f.F[((y*kw+xx)*cin+ci)*cout+co]
				}
			}
		}
	}
	bias := b.weight(name+"/conv/bias", 1)
	attrs := []onnxgraph.Attr{onnxgraph.Ints("kernel_shape", int64(kh), int64(kw)), onnxgraph.Ints("strides", int64(stride), int64(stride))}
	out := (size-kh)/stride + 1
	if !valid {
		attrs = append(attrs, onnxgraph.S("auto_pad", "SAME_UPPER"))
		out = (size + stride - 1) / stride
	}
	y := b.g.Op("Conv", name, []string{x, b.konst(name+"/w", []int64{int64(cout), int64(cin), int64(kh), int64(kw)}, wt), b.konst(name+"/b", []int64{int64(cout)}, bias.F)}, attrs...)
	sw, sb := b.weight(name+"/scale/weights", 1), b.weight(name+"/scale/biases", 1)
	y = b.g.Op("Mul", name+"/scale", []string{y, b.konst(name+"/sw", []int64{int64(cout), 1, 1}, sw.F)})
	y = b.g.Op("Add", name+"/shift", []string{y, b.konst(name+"/sb", []int64{int64(cout), 1, 1}, sb.F)})
	if relu {
		y = b.g.Op("Relu", name+"/relu", []string{y})
	}
	return y, out, cout
}

func (b *builder) residual(x, name string, size int) string {
	y, _, _ := b.conv(x, name+"/conv1", size, 1, true, false)
	y, _, _ = b.conv(y, name+"/conv2", size, 1, false, false)
	y = b.g.Op("Add", name+"/add", []string{y, x})
	return b.g.Op("Relu", name+"/out", []string{y})
}

func (b *builder) residualDown(x, name string, size, channels int) (string, int, int) {
	y, s1, c1 := b.conv(x, name+"/conv1", size, 2, true, true)
	y, _, _ = b.conv(y, name+"/conv2", s1, 1, false, false)
	pooled := b.g.Op("AveragePool", name+"/pool", []string{x}, onnxgraph.Ints("kernel_shape", 2, 2), onnxgraph.Ints("strides", 2, 2))
	ps := (size-2)/2 + 1
	if ps != s1 { // face-api pads the convolution output with a zero row and column
		d := int64(ps - s1)
		y = b.g.Op("Pad", name+"/padhw", []string{y, b.g.ConstInt64(name+"/pads_hw", []int64{8}, []int64{0, 0, 0, 0, 0, 0, d, d})})
	}
	if c1 != channels { // and the shortcut with zero channels
		d := int64(c1 - channels)
		pooled = b.g.Op("Pad", name+"/padc", []string{pooled, b.g.ConstInt64(name+"/pads_c", []int64{8}, []int64{0, 0, 0, 0, 0, d, 0, 0})})
	}
	y = b.g.Op("Add", name+"/add", []string{pooled, y})
	return b.g.Op("Relu", name+"/out", []string{y}), ps, c1
}

func (b *builder) build() ([]byte, error) {
	g := b.g
	in := g.Input("input", -1, InputSize, InputSize, 3)
	x := g.Op("Transpose", "to_nchw", []string{in}, onnxgraph.Ints("perm", 0, 3, 1, 2))
	x = g.Op("Sub", "mean", []string{x, g.Const("rgb_mean", []int64{1, 3, 1, 1}, []float32{122.782, 117.001, 104.298})})
	x = g.Op("Div", "scale", []string{x, g.Const("255", nil, []float32{255})})
	x, size, ch := b.conv(x, "conv32_down", InputSize, 2, true, true)
	x = g.Op("MaxPool", "pool", []string{x}, onnxgraph.Ints("kernel_shape", 3, 3), onnxgraph.Ints("strides", 2, 2))
	size = (size-3)/2 + 1
	for _, stage := range []struct {
		down   string
		blocks []string
	}{
		{"", []string{"conv32_1", "conv32_2", "conv32_3"}},
		{"conv64_down", []string{"conv64_1", "conv64_2", "conv64_3"}},
		{"conv128_down", []string{"conv128_1", "conv128_2"}},
		{"conv256_down", []string{"conv256_1", "conv256_2"}},
		{"conv256_down_out", nil},
	} {
		if stage.down != "" {
			x, size, ch = b.residualDown(x, stage.down, size, ch)
		}
		for _, blk := range stage.blocks {
			x = b.residual(x, blk, size)
		}
	}
	x = g.Op("ReduceMean", "gap", []string{x}, onnxgraph.Ints("axes", 2, 3), onnxgraph.Int("keepdims", 0))
	fc := b.weight("fc", 2)
	x = g.Op("MatMul", "fc", []string{x, b.konst("fc_w", toInt64(fc.Shape), fc.F)})
	g.Output(g.Rename(x, "descriptor"))
	if b.err != nil {
		return nil, b.err
	}
	return g.Marshal(), nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
