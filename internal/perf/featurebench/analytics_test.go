package featurebench

import (
	"context"
	"testing"
)

// BenchmarkAnalytics: a tag_counts query over 100k contributions beside
// the exact count of the same records.
func BenchmarkAnalytics(b *testing.B) {
	ctx := context.Background()
	e, err := NewAnalyticsEnv(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	cs, err := e.Cases(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cs {
		b.Run(c.Name, c.Op)
	}
}

// BenchmarkSamplers: the exact samplers beside one raw random word.
func BenchmarkSamplers(b *testing.B) {
	for _, c := range SamplerCases() {
		b.Run(c.Name, c.Op)
	}
}
