package config

import (
	"testing"
	"time"
)

// TestAnalyticsFromFile: the analytics budget is set in the config file;
// an unknown key in the section is an error, not a silent default.
func TestAnalyticsFromFile(t *testing.T) {
	c := Default()
	if err := loadYAML(t, &c, "analytics:\n  period: 168h\n  epsilon: 4\n  delta: 1e-7\n  max_query_epsilon: 0.5\n"); err != nil {
		t.Fatal(err)
	}
	if a := c.Analytics; a.Period != 168*time.Hour || a.Epsilon != 4 || a.Delta != 1e-7 || a.MaxQueryEpsilon != 0.5 || a.LifetimeEpsilon != 0 {
		t.Errorf("analytics = %+v", a)
	}
	if c := Default(); loadYAML(t, &c, "analytics:\n  epsilom: 4\n") == nil {
		t.Error("a misspelt analytics key loaded")
	}
}
