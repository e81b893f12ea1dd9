package faceid

import (
	"encoding/json"
	"testing"
)

func TestBuildRefusesMalformedWeights(t *testing.T) {
	for name, tc := range map[string][2][]byte{
		"not json":      {[]byte("{"), nil},
		"no weights":    {[]byte(`[{"paths":[],"weights":[]}]`), nil},
		"short shard":   {[]byte(`[{"paths":["a"],"weights":[{"name":"conv32_down/conv/filters","shape":[7,7,3,32],"dtype":"float32"}]}]`), make([]byte, 10)},
		"wrong rank fc": {[]byte(`[{"paths":["a"],"weights":[{"name":"fc","shape":[4],"dtype":"float32"}]}]`), make([]byte, 16)},
		// Regression: a bias whose length differs from the filter count
		// (or a missing bias) reached onnxgraph.Const, which panics.
		"short bias":   {[]byte(`[{"paths":["a"],"weights":[{"name":"conv32_down/conv/filters","shape":[1,1,1,2],"dtype":"float32"},{"name":"conv32_down/conv/bias","shape":[1],"dtype":"float32"}]}]`), make([]byte, 12)},
		"missing bias": {[]byte(`[{"paths":["a"],"weights":[{"name":"conv32_down/conv/filters","shape":[1,1,1,2],"dtype":"float32"}]}]`), make([]byte, 8)},
		"all tiny":     seedAllWeights(1, 2),
	} {
		if _, err := Build(tc[0], tc[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// weightNames lists every weight the builder reads.
func weightNames() (conv []string, fc string) {
	layers := []string{"conv32_down"}
	for _, s := range []string{"conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3", "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2", "conv256_down_out"} {
		layers = append(layers, s+"/conv1", s+"/conv2")
	}
	return layers, "fc"
}

// seedAllWeights is a manifest naming every weight the builder reads, with
// 1×1×1×c filters and per-channel vectors of length v (consistent when
// v == c), and zero weights.
func seedAllWeights(c, v int) [2][]byte {
	conv, fc := weightNames()
	var ws []map[string]any
	n := 0
	for _, l := range conv {
		ws = append(ws, map[string]any{"name": l + "/conv/filters", "shape": []int{1, 1, 1, c}, "dtype": "float32"})
		n += c
		for _, s := range []string{"/conv/bias", "/scale/weights", "/scale/biases"} {
			ws = append(ws, map[string]any{"name": l + s, "shape": []int{v}, "dtype": "float32"})
			n += v
		}
	}
	ws = append(ws, map[string]any{"name": fc, "shape": []int{c, 2}, "dtype": "float32"})
	n += 2 * c
	m, _ := json.Marshal([]map[string]any{{"paths": []string{"a"}, "weights": ws}})
	return [2][]byte{m, make([]byte, 4*n)}
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte(`[{"paths":["a"],"weights":[{"name":"fc","shape":[2,2],"dtype":"float32"}]}]`), make([]byte, 16))
	for _, cv := range [][2]int{{1, 1}, {2, 1}, {1, 2}} {
		s := seedAllWeights(cv[0], cv[1])
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, manifest, weights []byte) {
		Build(manifest, weights) // must not panic
	})
}
