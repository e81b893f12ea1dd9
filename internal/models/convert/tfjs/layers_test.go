package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func TestModuleJSON(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"object", `!function(e){module.exports=e()}(function(){a.exports={a:1,"b":[.5,-2e-3,!0,!1,null],c:'x\'y',d:{}}})`,
			`{"a":1,"b":[0.5,-0.002,true,false,null],"c":"x'y","d":{}}`},
		{"string", `!function(){a.exports="AAEC"}`, `"AAEC"`},
		{"escapes", `n.exports={s:"\u00e9\x41\n\\"}`, `{"s":"éA\n\\"}`},
		{"nested array", `a.exports=[[1,[2]],[]]`, `[[1,[2]],[]]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ModuleJSON([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	bad := map[string]string{
		"no exports":     `var x = {a:1}`,
		"function value": `a.exports={f:function(){}}`,
		"expression":     `a.exports={a:1+2}`,
		"unterminated":   `a.exports={a:"x`,
		"missing colon":  `a.exports={a 1}`,
		"bad number":     `a.exports={a:1.2.3}`,
		"too deep":       "a.exports=" + strings.Repeat("[", 100) + strings.Repeat("]", 100),
		"not utf8":       "a.exports=\"\xff\"",
	}
	for name, src := range bad {
		if _, err := ModuleJSON([]byte(src)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	if _, err := ModuleBase64([]byte(`a.exports={a:1}`)); !errors.Is(err, ErrFormat) {
		t.Errorf("object as base64: %v", err)
	}
	if _, err := ModuleBase64([]byte(`a.exports="!!"`)); !errors.Is(err, ErrFormat) {
		t.Errorf("non-base64: %v", err)
	}
}

func f32s(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// tinyModel is a Keras functional model: 2×2×1 input → 1×1 Conv2D (2
// filters, bias, relu) → BatchNormalization → ReLU(max 6) → Flatten →
// Dense(2, softmax).
const tinyModel = `{"modelTopology":{"model_config":{"class_name":"Model","config":{"layers":[
{"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,2,2,1]},"inbound_nodes":[]},
{"name":"conv","class_name":"Conv2D","config":{"filters":2,"kernel_size":[1,1],"strides":[1,1],"padding":"valid","activation":"relu","use_bias":true},"inbound_nodes":[[["in",0,0,{}]]]},
{"name":"bn","class_name":"BatchNormalization","config":{"axis":-1,"epsilon":0.001},"inbound_nodes":[[["conv",0,0,{}]]]},
{"name":"relu","class_name":"ReLU","config":{"max_value":6,"negative_slope":0,"threshold":0},"inbound_nodes":[[["bn",0,0,{}]]]},
{"name":"drop","class_name":"Dropout","config":{"rate":0.5},"inbound_nodes":[[["relu",0,0,{}]]]},
{"name":"flat","class_name":"Flatten","config":{},"inbound_nodes":[[["drop",0,0,{}]]]},
{"name":"dense","class_name":"Dense","config":{"units":2,"activation":"softmax","use_bias":true},"inbound_nodes":[[["flat",0,0,{}]]]}],
"output_layers":[["dense",0,0]]}}},
"weightsManifest":[{"paths":["x"],"weights":[
{"name":"conv/kernel","shape":[1,1,1,2],"dtype":"float32"},
{"name":"conv/bias","shape":[2],"dtype":"float32"},
{"name":"bn/gamma","shape":[2],"dtype":"float32"},
{"name":"bn/beta","shape":[2],"dtype":"float32"},
{"name":"bn/moving_mean","shape":[2],"dtype":"float32"},
{"name":"bn/moving_variance","shape":[2],"dtype":"float32"},
{"name":"dense/kernel","shape":[8,2],"dtype":"float32"},
{"name":"dense/bias","shape":[2],"dtype":"float32"}]}]}`

var tinyWeights = f32s(
	2, -1, // conv kernel: filter 0 ×2, filter 1 ×−1
	0.5, 3, // conv bias
	1, 2, // gamma
	0, 1, // beta
	1, 0, // mean
	1, 4, // variance
	// dense kernel 8×2 over NHWC-flattened (y, x, c)
	1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1,
	0, 0.5, // dense bias
)

// tinyReference computes tinyModel directly.
func tinyReference(in [4]float32) [2]float64 {
	var flat [8]float64
	k, b := [2]float64{2, -1}, [2]float64{0.5, 3}
	g, be, m, v := [2]float64{1, 2}, [2]float64{0, 1}, [2]float64{1, 0}, [2]float64{1, 4}
	for p := range 4 {
		for c := range 2 {
			x := math.Max(0, float64(in[p])*k[c]+b[c])
			x = (x-m[c])/math.Sqrt(v[c]+0.001)*g[c] + be[c]
			flat[p*2+c] = math.Min(6, math.Max(0, x))
		}
	}
	var logit [2]float64
	for i := range 8 {
		logit[i%2] += flat[i]
	}
	logit[1] += 0.5
	e0, e1 := math.Exp(logit[0]), math.Exp(logit[1])
	return [2]float64{e0 / (e0 + e1), e1 / (e0 + e1)}
}

func TestConvertLayersRunsLikeKeras(t *testing.T) {
	visiontest.Dir(t)
	model, err := ConvertLayers("tiny", []byte(tinyModel), tinyWeights, "probabilities")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ConvertLayers("tiny", []byte(tinyModel), tinyWeights, "probabilities")
	if string(again) != string(model) {
		t.Error("conversion is not deterministic")
	}
	s, err := ort.NewSession(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, in := range [][4]float32{{0, 1, 2, 3}, {-1, 0.25, 5, -3}} {
		out, shape, err := s.Run(in[:], 1, 2, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := tinyReference(in)
		if len(shape) != 2 || shape[1] != 2 {
			t.Fatalf("shape %v", shape)
		}
		for i := range 2 {
			if math.Abs(float64(out[i])-want[i]) > 1e-5 {
				t.Errorf("input %v: output %v, want %v", in, out, want)
			}
		}
	}
}

func TestConvertLayersRefusesWhatItCannotConvert(t *testing.T) {
	edit := func(from, to string) string {
		if !strings.Contains(tinyModel, from) {
			t.Fatalf("fixture lacks %q", from)
		}
		return strings.Replace(tinyModel, from, to, 1)
	}
	tests := []struct {
		name, model string
		weights     []byte
		want        error
	}{
		{"unknown layer", edit(`"class_name":"Dropout"`, `"class_name":"LSTM"`), tinyWeights, ErrUnsupported},
		{"leaky relu", edit(`"negative_slope":0`, `"negative_slope":0.1`), tinyWeights, ErrUnsupported},
		{"channels first", edit(`"kernel_size":[1,1]`, `"kernel_size":[1,1],"data_format":"channels_first"`), tinyWeights, ErrUnsupported},
		{"input used before defined", edit(`[["conv",0,0,{}]]`, `[["dense",0,0,{}]]`), tinyWeights, ErrFormat},
		{"missing output", edit(`"output_layers":[["dense",0,0]]`, `"output_layers":[["nope",0,0]]`), tinyWeights, ErrFormat},
		{"weight of no layer", edit(`{"name":"dense/bias"`, `{"name":"other/w","shape":[1],"dtype":"float32"},{"name":"dense/bias"`), append(append([]byte{}, tinyWeights[:len(tinyWeights)-8]...), append(f32s(1), tinyWeights[len(tinyWeights)-8:]...)...), ErrFormat},
		{"missing weight", edit(`{"name":"conv/bias","shape":[2],"dtype":"float32"},`, ``), append(append([]byte{}, tinyWeights[:8]...), tinyWeights[16:]...), ErrFormat},
		{"short shards", tinyModel, tinyWeights[:20], ErrFormat},
		{"wrong kernel shape", edit(`"filters":2`, `"filters":3`), tinyWeights, ErrFormat},
		{"sequential", edit(`"class_name":"Model"`, `"class_name":"Sequential"`), tinyWeights, ErrUnsupported},
		{"not json", "{", tinyWeights, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ConvertLayers("tiny", []byte(tc.model), tc.weights, "p"); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzModuleJSON(f *testing.F) {
	f.Add([]byte(`a.exports={a:1,"b":[.5,!0,null],c:'x'}`))
	f.Add([]byte(`a.exports="` + base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) + `"`))
	f.Add([]byte(`n.exports={s:"\ud83d\ude00\x41"}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := ModuleJSON(src)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error outside ErrFormat: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("accepted %q but produced invalid JSON %q", src, out)
		}
		_, _ = ModuleBase64(src)
	})
}

func FuzzConvertLayers(f *testing.F) {
	f.Add([]byte(tinyModel), tinyWeights)
	f.Add([]byte(`{"modelTopology":{"model_config":{"class_name":"Model","config":{"layers":[{"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,1,1,1]},"inbound_nodes":[]}],"output_layers":[["in",0,0]]}}}}`), []byte{})
	// Seeds naming every layer class the converter knows, each fed by an
	// input layer and backed by the weights it reads, so the fuzzer starts
	// inside every branch.
	for _, class := range []string{"Dropout", "ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "ReLU", "Add", "AveragePooling2D", "MaxPooling2D", "Flatten", "Dense"} {
		cfg := `{"filters":1,"kernel_size":[1,1],"strides":[1,1],"padding":"same","activation":"relu","use_bias":true,"units":1,"pool_size":[1,1],"axis":-1,"epsilon":0.001,"max_value":6,"rate":0.5}`
		inbound := `[[["in",0,0,{}]]]`
		switch class {
		case "ZeroPadding2D":
			cfg = `{"padding":[[1,1],[1,1]]}`
		case "Add":
			inbound = `[[["in",0,0,{}],["in",0,0,{}]]]`
		}
		model := `{"modelTopology":{"model_config":{"class_name":"Model","config":{"layers":[` +
			`{"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,2,2,1]},"inbound_nodes":[]},` +
			`{"name":"out","class_name":"` + class + `","config":` + cfg + `,"inbound_nodes":` + inbound + `}],"output_layers":[["out",0,0]]}}},` +
			`"weightsManifest":[{"paths":["x"],"weights":[` +
			`{"name":"out/kernel","shape":[1,1,1,1],"dtype":"float32"},{"name":"out/depthwise_kernel","shape":[1,1,1,1],"dtype":"float32"},{"name":"out/bias","shape":[1],"dtype":"float32"},` +
			`{"name":"out/gamma","shape":[1],"dtype":"float32"},{"name":"out/beta","shape":[1],"dtype":"float32"},{"name":"out/moving_mean","shape":[1],"dtype":"float32"},{"name":"out/moving_variance","shape":[1],"dtype":"float32"}]}]}`
		f.Add([]byte(model), make([]byte, 7*4))
	}
	f.Fuzz(func(t *testing.T, model, weights []byte) {
		_, err := ConvertLayers("fuzz", model, weights, "out")
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error outside ErrFormat/ErrUnsupported: %v", err)
		}
	})
}
