// Package config resolves Obscura's settings from, in increasing priority,
// built-in defaults, an optional YAML file, OBSCURA_* environment variables
// and command-line flags.
//
// Secrets are never read from the config file: the master key comes only
// from OBSCURA_MASTER_KEY or its own 0600 key file, so a config file can be
// shared or committed without leaking key material.
package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
)

// Config is every setting.
type Config struct {
	// Addr is the listen address of `obscura serve`.
	Addr string `yaml:"addr"`
	// Data is the data directory: database, blobs, local master key.
	Data string `yaml:"data"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// KEKCacheTTL bounds how long a decrypted KEK stays in memory.
	KEKCacheTTL time.Duration `yaml:"kek_cache_ttl"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// KMS is the root key: "local" (master key file or OBSCURA_MASTER_KEY),
	// or hcvault://…, aws-kms://…, gcp-kms://… (see keyring.RemoteRoot).
	KMS string `yaml:"kms"`
	// Blob is where encrypted objects go: "fs" (<data>/blobs) or
	// s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&tls=false][&region=R]
	// with credentials from OBSCURA_S3_ACCESS_KEY and OBSCURA_S3_SECRET_KEY.
	Blob string `yaml:"blob"`
	// PublicURL is the base URL clients use to reach this server (upload,
	// download, privacy links point there). Default: http://<addr>. An
	// https:// URL (a TLS-terminating proxy in front) makes the web pages'
	// cookies Secure.
	PublicURL string `yaml:"public_url"`
	// RateLimits are per-key token buckets by operation class, per-tenant
	// and per-key overrides, and per-tenant daily quotas (file only).
	RateLimits guard.Limits `yaml:"rate_limits"`
	// AlertWebhook receives alerts as JSON signed with OBSCURA_ALERT_SECRET.
	AlertWebhook string `yaml:"alert_webhook"`
	// RetainAnalysis is how long analysis results are kept (retention
	// class "analysis").
	RetainAnalysis time.Duration `yaml:"retain_analysis"`
	// SuggestionTTL is how long a face-tag suggestion (a draft holding a
	// face embedding) waits for accept or reject before it is deleted.
	SuggestionTTL time.Duration `yaml:"suggestion_ttl"`
	// SweepEvery is how often the job queue runs the retention, TTL and
	// consent-expiry sweeps (an expired grant is purged within it).
	SweepEvery time.Duration `yaml:"sweep_every"`
	// VisionThreads is ONNX Runtime's intra-op thread count per model
	// session (and Tesseract's engine pool size); 0 picks min(CPUs, 4).
	VisionThreads int `yaml:"vision_threads"`
}

// Setting describes one setting for flags, env and docs.
type Setting struct {
	Flag, Env, Help string
}

// Settings lists every setting with its flag and environment variable.
var Settings = []Setting{
	{"addr", "OBSCURA_ADDR", "listen address"},
	{"data", "OBSCURA_DATA", "data directory"},
	{"log-level", "OBSCURA_LOG_LEVEL", "debug, info, warn or error"},
	{"kek-cache-ttl", "OBSCURA_KEK_CACHE_TTL", "how long a decrypted KEK stays in memory"},
	{"shutdown-timeout", "OBSCURA_SHUTDOWN_TIMEOUT", "graceful shutdown limit"},
	{"kms", "OBSCURA_KMS", "root key service: local, hcvault://…, aws-kms://…, gcp-kms://…"},
	{"blob", "OBSCURA_BLOB", "blob store: fs, or s3://BUCKET[/PREFIX]?endpoint=HOST:PORT"},
	{"public-url", "OBSCURA_PUBLIC_URL", "base URL of upload and download links (default http://<addr>)"},
	{"alert-webhook", "OBSCURA_ALERT_WEBHOOK", "URL that receives alerts (HMAC-signed with OBSCURA_ALERT_SECRET)"},
	{"retain-analysis", "OBSCURA_RETAIN_ANALYSIS", "how long analysis results are kept (retention class analysis)"},
	{"suggestion-ttl", "OBSCURA_SUGGESTION_TTL", "how long a face-tag suggestion draft lives"},
	{"sweep-every", "OBSCURA_SWEEP_EVERY", "how often retention, TTL and consent-expiry sweeps run"},
	{"vision-threads", "OBSCURA_VISION_THREADS", "threads per vision model session (0: min(CPUs, 4))"},
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8787",
		Data:            DefaultDataDir(),
		LogLevel:        "info",
		KEKCacheTTL:     5 * time.Minute,
		ShutdownTimeout: 15 * time.Second,
		RateLimits:      guard.DefaultLimits(),
		KMS:             "local",
		Blob:            "fs",
		RetainAnalysis:  30 * 24 * time.Hour,
		SuggestionTTL:   time.Hour,
		SweepEvery:      time.Minute,
	}
}

// DefaultDataDir is $XDG_DATA_HOME/obscura, or ~/.local/share/obscura.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "obscura")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "obscura")
	}
	return "obscura-data"
}

// LoadFile overlays a YAML file onto c. Unknown keys are an error, so a typo
// does not silently fall back to a default.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fault.Wrap(fault.Invalid, "cannot read config file", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fault.Wrap(fault.Invalid, fmt.Sprintf("config file %s", path), err)
	}
	return nil
}

// Set assigns one setting by flag name from a string (env or flag value).
func (c *Config) Set(flag, value string) error {
	dur := func(dst *time.Duration) error {
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fault.New(fault.Invalid, fmt.Sprintf("%s: %q is not a duration", flag, value))
		}
		*dst = d
		return nil
	}
	switch flag {
	case "addr":
		c.Addr = value
	case "data":
		c.Data = value
	case "log-level":
		switch value {
		case "debug", "info", "warn", "error":
			c.LogLevel = value
		default:
			return fault.New(fault.Invalid, fmt.Sprintf("log-level: %q is not debug, info, warn or error", value))
		}
	case "kek-cache-ttl":
		return dur(&c.KEKCacheTTL)
	case "shutdown-timeout":
		return dur(&c.ShutdownTimeout)
	case "kms":
		c.KMS = value
	case "blob":
		c.Blob = value
	case "alert-webhook":
		c.AlertWebhook = value
	case "public-url":
		c.PublicURL = strings.TrimRight(value, "/")
	case "retain-analysis":
		return dur(&c.RetainAnalysis)
	case "suggestion-ttl":
		return dur(&c.SuggestionTTL)
	case "sweep-every":
		if err := dur(&c.SweepEvery); err != nil {
			return err
		}
		if c.SweepEvery < time.Second {
			return fault.New(fault.Invalid, fmt.Sprintf("sweep-every: %q is below 1s", value))
		}
	case "vision-threads":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 256 {
			return fault.New(fault.Invalid, fmt.Sprintf("vision-threads: %q is not a thread count (0..256)", value))
		}
		c.VisionThreads = n
	default:
		return fault.New(fault.Invalid, "unknown setting "+flag)
	}
	return nil
}

// LoadEnv overlays OBSCURA_* variables read through getenv.
func (c *Config) LoadEnv(getenv func(string) string) error {
	for _, s := range Settings {
		if v := getenv(s.Env); v != "" {
			if err := c.Set(s.Flag, v); err != nil {
				return err
			}
		}
	}
	return nil
}
