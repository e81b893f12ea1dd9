package plugin_test

import (
	"context"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/perf/featurebench"
	"github.com/obscuraproject/obscura/internal/plugin/plugintest"
)

// BenchmarkFaceBlur12MP: face-blur on a 12 MP photo with twelve faces in
// the sandbox against the same Go code compiled natively (the ratio
// `obscura bench plugins` prints).
func BenchmarkFaceBlur12MP(b *testing.B) {
	wasm, err := os.ReadFile(plugintest.Build(b, "plugins/face-blur")["plugins/face-blur"])
	if err != nil {
		b.Fatal(err)
	}
	cases, done, err := featurebench.PluginCases(context.Background(), wasm)
	if err != nil {
		b.Fatal(err)
	}
	defer done()
	for _, c := range cases {
		b.Run(c.Name, c.Op)
	}
}

// BenchmarkCompile: compiling face-blur with an empty cache (first run
// after install) and with a warm one (later starts).
func BenchmarkCompile(b *testing.B) {
	wasm, err := os.ReadFile(plugintest.Build(b, "plugins/face-blur")["plugins/face-blur"])
	if err != nil {
		b.Fatal(err)
	}
	var first, cached float64
	for range b.N {
		f, c, err := featurebench.CompileTimes(context.Background(), b.TempDir(), wasm)
		if err != nil {
			b.Fatal(err)
		}
		first += float64(f.Microseconds()) / 1000
		cached += float64(c.Microseconds()) / 1000
	}
	b.ReportMetric(first/float64(b.N), "first-ms")
	b.ReportMetric(cached/float64(b.N), "cached-ms")
}
