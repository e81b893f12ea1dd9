package config

import (
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
)

// TestAnalysisNice: off by default, set from the environment, and refused
// outside the nice range.
func TestAnalysisNice(t *testing.T) {
	c := Default()
	if c.AnalysisNice != 0 {
		t.Errorf("default analysis_nice %d, want 0", c.AnalysisNice)
	}
	if err := c.LoadEnv(func(k string) string { return map[string]string{"OBSCURA_ANALYSIS_NICE": "10"}[k] }); err != nil || c.AnalysisNice != 10 {
		t.Errorf("from env: %d, %v", c.AnalysisNice, err)
	}
	for _, bad := range []string{"-1", "20", "low"} {
		if err := c.Set("analysis-nice", bad); !errors.Is(err, fault.Invalid) {
			t.Errorf("analysis-nice=%s: %v, want Invalid", bad, err)
		}
	}
}
