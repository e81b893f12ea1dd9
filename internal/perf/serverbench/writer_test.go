package serverbench

import (
	"context"
	"testing"
	"time"
)

// TestWriterLanesRun runs the writer-lane measurement briefly and checks
// that it measured both phases (the figures themselves are for
// `obscura bench writer`, on a quiet machine).
func TestWriterLanesRun(t *testing.T) {
	r, err := RunWriterLanes(context.Background(), t.TempDir(), 3, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Samples < 5 || r.LaneP99ms <= 0 || r.BaseP99ms <= 0 || r.BackgroundN == 0 {
		t.Errorf("measured nothing: %+v", r)
	}
}

func BenchmarkWriterLanes(b *testing.B) {
	for range b.N {
		r, err := RunWriterLanes(context.Background(), b.TempDir(), 4, 2*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.LaneP99ms, "lane-p99-ms")
		b.ReportMetric(r.BaseP99ms, "baseline-p99-ms")
		b.ReportMetric(r.P99Speedup, "p99-speedup")
	}
}
