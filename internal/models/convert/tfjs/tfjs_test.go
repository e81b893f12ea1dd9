package tfjs

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestHalfToFloat(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x0000, 0}, {0x7bff, 65504}, {0x0001, 5.9604645e-08}, {0x3555, 0.33325195}} {
		if got := halfToFloat(tc.h); got != tc.want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0x7c00)), 1) {
		t.Error("0x7c00 is not +Inf")
	}
}

func TestWeightsDequantizeAndBounds(t *testing.T) {
	model := []byte(`{"weightsManifest":[{"paths":["a"],"weights":[
		{"name":"f","shape":[2],"dtype":"float32"},
		{"name":"q","shape":[3],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},
		{"name":"i","shape":[1],"dtype":"int32"}]}]}`)
	data := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-2))
	data = append(data, 0, 2, 4)
	data = binary.LittleEndian.AppendUint32(data, 7)
	w, err := Weights(model, data)
	if err != nil {
		t.Fatal(err)
	}
	if w["f"].F[1] != -2 || w["q"].F[0] != -1 || w["q"].F[2] != 1 || w["i"].I[0] != 7 {
		t.Errorf("decoded %+v", w)
	}
	for name, tc := range map[string]struct {
		model []byte
		data  []byte
	}{
		"short":     {model, data[:len(data)-1]},
		"extra":     {model, append(data, 0)},
		"huge dim":  {[]byte(`{"weightsManifest":[{"weights":[{"name":"x","shape":[1000000,1000000],"dtype":"float32"}]}]}`), data},
		"negative":  {[]byte(`{"weightsManifest":[{"weights":[{"name":"x","shape":[-1],"dtype":"float32"}]}]}`), data},
		"not json":  {[]byte(`{`), data},
		"bad dtype": {[]byte(`{"weightsManifest":[{"weights":[{"name":"x","shape":[1],"dtype":"complex64"}]}]}`), data[:8]},
	} {
		if _, err := Weights(tc.model, tc.data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConvertGraphRefusesWhatItCannotConvert(t *testing.T) {
	for name, model := range map[string]string{
		"unknown op": `{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"3"}]}}}},{"name":"y","op":"FancyOp","input":["x"]}]},"weightsManifest":[]}`,
		"cycle":      `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Relu","input":["b"]},{"name":"b","op":"Relu","input":["a"]}]},"weightsManifest":[]}`,
		"missing":    `{"format":"graph-model","modelTopology":{"node":[{"name":"a","op":"Relu","input":["nope"]}]},"weightsManifest":[]}`,
		"layers":     `{"format":"layers-model"}`,
	} {
		_, err := ConvertGraph("t", []byte(model), nil, []Output{{Node: map[string]string{"unknown op": "y", "cycle": "a", "missing": "a", "layers": "a"}[name], Name: "out"}})
		if err == nil || !(errors.Is(err, ErrUnsupported) || errors.Is(err, ErrFormat)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// knownOps is every TF.js operation ConvertGraph converts.
var knownOps = []string{"Const", "Placeholder", "Identity", "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative",
	"Relu", "Relu6", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum",
	"MaxPool", "AvgPool", "Pad", "PadV2", "Reshape", "ConcatV2", "Mean", "ResizeBilinear", "ResizeNearestNeighbor"}

// opModel is a graph model whose output y applies op to an NHWC
// placeholder x and a one-element constant c of dtype.
func opModel(op, dtype string) []byte {
	inputs := `["x","c"]`
	if op == "ConcatV2" {
		inputs = `["x","x","c"]`
	}
	return []byte(`{"format":"graph-model","modelTopology":{"node":[` +
		`{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"3"}]}}}},` +
		`{"name":"c","op":"Const"},` +
		`{"name":"y","op":"` + op + `","input":` + inputs + `,"attr":{"keep_dims":{"b":true},"padding":{"s":"U0FNRQ=="},"strides":{"list":{"i":["1","1","1","1"]}},"ksize":{"list":{"i":["1","2","2","1"]}}}}]},` +
		`"weightsManifest":[{"weights":[{"name":"c","shape":[1],"dtype":"` + dtype + `"}]}]}`)
}

// TestConvertGraphRefusesOutOfRangeAxis is the regression for an axis read
// from the model indexing a 4-element table unchecked (it panicked).
func TestConvertGraphRefusesOutOfRangeAxis(t *testing.T) {
	nine := binary.LittleEndian.AppendUint32(nil, 9)
	for _, op := range []string{"ConcatV2", "Mean"} {
		_, err := ConvertGraph("t", opModel(op, "int32"), nine, []Output{{Node: "y", Name: "out"}})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s with axis 9: err = %v, want ErrFormat", op, err)
		}
	}
}

func FuzzConvertGraph(f *testing.F) {
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"4"},{"size":"4"},{"size":"3"}]}}}},{"name":"y","op":"Relu","input":["x"]}]},"weightsManifest":[]}`), []byte{})
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"1"},{"size":"2"},{"size":"2"},{"size":"1"}]}}}},{"name":"w","op":"Const"},{"name":"y","op":"Conv2D","input":["x","w"],"attr":{"strides":{"list":{"i":["1","1","1","1"]}},"padding":{"s":"U0FNRQ=="}}}]},"weightsManifest":[{"weights":[{"name":"w","shape":[1,1,1,1],"dtype":"float32"}]}]}`), []byte{0, 0, 128, 63})
	// Seeds naming every operation the converter knows, each applied to an
	// NHWC image and a one-element constant, so the fuzzer starts inside
	// every branch of convert rather than at the JSON syntax.
	for _, op := range knownOps {
		for _, dtype := range []string{"int32", "float32"} {
			f.Add(opModel(op, dtype), binary.LittleEndian.AppendUint32(nil, 1))
		}
	}
	f.Fuzz(func(t *testing.T, model, shards []byte) {
		// Must not panic or hang; errors are fine.
		ConvertGraph("fuzz", model, shards, []Output{{Node: "y", Name: "out"}})
	})
}
