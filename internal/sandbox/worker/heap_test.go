package worker

import (
	"testing"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
)

// TestHeapLimit: analysis workers keep the large Go heap limit, model-less
// ones (sanitize, decode) the small one.
func TestHeapLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    protocol.Config
		want int64
	}{
		{"analysis worker", protocol.Config{LoadModels: true}, HeapLimit},
		{"sanitizing worker", protocol.Config{LoadModels: false}, SanitizeHeapLimit},
	} {
		if got := heapLimit(tc.c); got != tc.want {
			t.Errorf("%s: heap limit %d, want %d", tc.name, got, tc.want)
		}
	}
	if SanitizeHeapLimit >= HeapLimit {
		t.Errorf("SanitizeHeapLimit %d is not below HeapLimit %d", SanitizeHeapLimit, HeapLimit)
	}
}
