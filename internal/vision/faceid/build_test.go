package faceid

import "testing"

func TestBuildRefusesMalformedWeights(t *testing.T) {
	for name, tc := range map[string][2][]byte{
		"not json":      {[]byte("{"), nil},
		"no weights":    {[]byte(`[{"paths":[],"weights":[]}]`), nil},
		"short shard":   {[]byte(`[{"paths":["a"],"weights":[{"name":"conv32_down/conv/filters","shape":[7,7,3,32],"dtype":"float32"}]}]`), make([]byte, 10)},
		"wrong rank fc": {[]byte(`[{"paths":["a"],"weights":[{"name":"fc","shape":[4],"dtype":"float32"}]}]`), make([]byte, 16)},
	} {
		if _, err := Build(tc[0], tc[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte(`[{"paths":["a"],"weights":[{"name":"fc","shape":[2,2],"dtype":"float32"}]}]`), make([]byte, 16))
	f.Fuzz(func(t *testing.T, manifest, weights []byte) {
		Build(manifest, weights) // must not panic
	})
}
