package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// loadYAML loads the config file text into c (from a temporary file).
func loadYAML(t *testing.T, c *Config, text string) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "obscura.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.LoadFile(p)
}

func TestPrecedence(t *testing.T) {
	c := Default()
	if err := loadYAML(t, &c, "addr: 0.0.0.0:1\ndata: /from/file\nkek_cache_ttl: 1m\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OBSCURA_DATA": "/from/env"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("addr", "127.0.0.1:9"); err != nil { // a flag
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9" || c.Data != "/from/env" || c.KEKCacheTTL != time.Minute || c.LogLevel != "info" {
		t.Errorf("config = %+v", c)
	}
}

func TestRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		run  func(c *Config) error
	}{
		{"unknown file key", func(c *Config) error { return loadYAML(t, c, "adress: x\n") }},
		{"master key in file", func(c *Config) error { return loadYAML(t, c, "master_key: abc\n") }},
		{"missing file", func(c *Config) error { return c.LoadFile(filepath.Join(dir, "nope.yaml")) }},
		{"bad duration", func(c *Config) error { return c.Set("kek-cache-ttl", "soon") }},
		{"negative duration", func(c *Config) error { return c.Set("shutdown-timeout", "-1s") }},
		{"bad level", func(c *Config) error { return c.Set("log-level", "loud") }},
		{"database url not postgres", func(c *Config) error { return c.Set("database-url", "mysql://db/obscura") }},
		{"bad thread count", func(c *Config) error { return c.Set("vision-threads", "many") }},
		{"negative thread count", func(c *Config) error { return c.Set("vision-threads", "-2") }},
		{"bad env", func(c *Config) error {
			return c.LoadEnv(func(k string) string {
				if k == "OBSCURA_LOG_LEVEL" {
					return "verbose"
				}
				return ""
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			if err := tt.run(&c); !errors.Is(err, fault.Invalid) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

func TestVisionThreadsFromEnv(t *testing.T) {
	c := Default()
	if err := c.LoadEnv(func(k string) string {
		if k == "OBSCURA_VISION_THREADS" {
			return "3"
		}
		return ""
	}); err != nil || c.VisionThreads != 3 {
		t.Errorf("VisionThreads = %d, %v; want 3", c.VisionThreads, err)
	}
}

func TestRateLimitsFromFile(t *testing.T) {
	c := Default()
	if err := loadYAML(t, &c, "rate_limits:\n  classes:\n    analyze: {per_second: 2, burst: 3}\n  tenants:\n    ten_big:\n      analyze: {per_second: 100, burst: 200}\n"); err != nil {
		t.Fatal(err)
	}
	if got := c.RateLimits.Classes["analyze"]; got.PerSecond != 2 || got.Burst != 3 {
		t.Errorf("analyze = %+v", got)
	}
	if got := c.RateLimits.Tenants["ten_big"]["analyze"]; got.Burst != 200 {
		t.Errorf("tenant override = %+v", got)
	}
}

func TestRetentionSettings(t *testing.T) {
	c := Default()
	if c.RetainAnalysis != 30*24*time.Hour || c.SuggestionTTL != time.Hour {
		t.Errorf("defaults %v %v", c.RetainAnalysis, c.SuggestionTTL)
	}
	if err := c.Set("retain-analysis", "48h"); err != nil || c.RetainAnalysis != 48*time.Hour {
		t.Errorf("retain-analysis: %v %v", c.RetainAnalysis, err)
	}
	if err := c.Set("suggestion-ttl", "later"); !errors.Is(err, fault.Invalid) {
		t.Errorf("bad ttl accepted: %v", err)
	}
}

func TestLoadLimits(t *testing.T) {
	c := Default()
	if c.AnalysisQueue != 8 || c.DecodeMegapixels != 64 || c.DecodeQueue != 32 || c.AnalysisConcurrency != 0 {
		t.Errorf("defaults %+v", c)
	}
	env := map[string]string{"OBSCURA_ANALYSIS_CONCURRENCY": "3", "OBSCURA_ANALYSIS_QUEUE": "0", "OBSCURA_DECODE_MEGAPIXELS": "100", "OBSCURA_DECODE_QUEUE": "5"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.AnalysisConcurrency != 3 || c.AnalysisQueue != 0 || c.DecodeMegapixels != 100 || c.DecodeQueue != 5 {
		t.Errorf("from env: %+v", c)
	}
	for _, bad := range [][2]string{{"decode-megapixels", "0"}, {"analysis-queue", "-1"}, {"decode-queue", "lots"}} {
		if err := c.Set(bad[0], bad[1]); !errors.Is(err, fault.Invalid) {
			t.Errorf("%s=%s: %v, want Invalid", bad[0], bad[1], err)
		}
	}
	if err := loadYAML(t, &c, "decode_megapixels: 48\nrate_limits:\n  tenant_wide:\n    analyze: {per_second: 5, burst: 6}\n  addresses:\n    upload: {per_second: 1, burst: 2}\n"); err != nil {
		t.Fatal(err)
	}
	if c.DecodeMegapixels != 48 || c.RateLimits.TenantWide["analyze"].Burst != 6 || c.RateLimits.Addresses["upload"].Burst != 2 ||
		c.RateLimits.TenantWide["api"].Burst != 200 {
		t.Errorf("from file: %+v", c.RateLimits)
	}
}

// database_url: empty (SQLite) by default, from the file, overridden by
// OBSCURA_DATABASE_URL.
func TestDatabaseURL(t *testing.T) {
	if d := Default().DatabaseURL; d != "" {
		t.Fatalf("default database_url = %q, want empty (SQLite)", d)
	}
	file := filepath.Join(t.TempDir(), "obscura.yaml")
	os.WriteFile(file, []byte("database_url: postgres://db.internal/obscura?sslmode=verify-full\n"), 0o600)
	c := Default()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://db.internal/obscura?sslmode=verify-full" {
		t.Errorf("from file: %q", c.DatabaseURL)
	}
	env := map[string]string{"OBSCURA_DATABASE_URL": "postgresql://other/obscura"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgresql://other/obscura" {
		t.Errorf("from env: %q", c.DatabaseURL)
	}
}
