package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAnalyticsFromFile: the analytics budget is set in the config file;
// an unknown key in the section is an error, not a silent default.
func TestAnalyticsFromFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("analytics:\n  period: 168h\n  epsilon: 4\n  delta: 1e-7\n  max_query_epsilon: 0.5\n"), 0o600)
	c := Default()
	if err := c.LoadFile(good); err != nil {
		t.Fatal(err)
	}
	if a := c.Analytics; a.Period != 168*time.Hour || a.Epsilon != 4 || a.Delta != 1e-7 || a.MaxQueryEpsilon != 0.5 || a.LifetimeEpsilon != 0 {
		t.Errorf("analytics = %+v", a)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("analytics:\n  epsilom: 4\n"), 0o600)
	if c := Default(); c.LoadFile(bad) == nil {
		t.Error("a misspelt analytics key loaded")
	}
}
