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
	// Role is what `obscura serve` runs: "all" (the API and the job
	// workers, the default), "api" (the API; jobs are queued for other
	// nodes) or "jobs" (analyses, sweeps and purges from the queue, and
	// only /healthz and /readyz on Addr). api and jobs need a shared
	// database (database_url).
	Role string `yaml:"role"`
	// Data is the data directory: database, blobs, local master key.
	Data string `yaml:"data"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// KEKCacheTTL bounds how long a decrypted KEK stays in memory.
	KEKCacheTTL time.Duration `yaml:"kek_cache_ttl"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// KMS is the root key: "local" (master key file or OBSCURA_MASTER_KEY),
	// or hcvault://…, aws-kms://…, gcp-kms://… (see rootkey.RemoteRoot).
	KMS string `yaml:"kms"`
	// MasterKeyFile, with the local root, is the path of the master key
	// file (base64, mode 0600) instead of <data>/master.key: the way to give
	// several nodes the same key (e.g. a systemd credential). It is never
	// generated. OBSCURA_MASTER_KEY, if set, wins.
	MasterKeyFile string `yaml:"master_key_file"`
	// Blob is where encrypted objects go: "fs" (<data>/blobs) or
	// s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&tls=false][&region=R]
	// with credentials from OBSCURA_S3_ACCESS_KEY and OBSCURA_S3_SECRET_KEY.
	Blob string `yaml:"blob"`
	// DatabaseURL selects the PostgreSQL store (postgres://…, sslmode and
	// the other libpq parameters included; docs/deploy.md); empty keeps the
	// embedded SQLite database in the data directory. It may carry a
	// password: prefer OBSCURA_DATABASE_URL or PGPASSWORD to the file.
	DatabaseURL string `yaml:"database_url"`
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
	// EgressAllow lists address prefixes (CIDR or single addresses) that
	// outbound webhooks may reach although they are not public — for
	// development only (e.g. 127.0.0.1/32). Empty: public addresses only.
	EgressAllow []string `yaml:"egress_allow"`
	// MetricsAddr, if set, serves /metrics on its own listen address (e.g.
	// 127.0.0.1:9787) and not on Addr. A bearer token for /metrics comes
	// only from OBSCURA_METRICS_TOKEN (a secret, never from the file).
	MetricsAddr string `yaml:"metrics_addr"`
	// RetainAnalysis is how long analysis results are kept (retention
	// class "analysis").
	RetainAnalysis time.Duration `yaml:"retain_analysis"`
	// SuggestionTTL is how long a face-tag suggestion (a draft holding a
	// face embedding) waits for accept or reject before it is deleted.
	SuggestionTTL time.Duration `yaml:"suggestion_ttl"`
	// DraftTTL is how long a generated image (a meme or plugin draft)
	// waits for accept or reject before it is deleted.
	DraftTTL time.Duration `yaml:"draft_ttl"`
	// SweepEvery is how often the job queue runs the retention, TTL and
	// consent-expiry sweeps (an expired grant is purged within it).
	SweepEvery time.Duration `yaml:"sweep_every"`
	// VisionThreads is ONNX Runtime's intra-op thread count per model
	// session (and Tesseract's engine pool size); 0 picks min(CPUs, 4).
	VisionThreads int `yaml:"vision_threads"`
	// OrphanGrace is how long a photo's ciphertext may exist without its
	// record before the sweeper deletes it (a crash between the two).
	OrphanGrace time.Duration `yaml:"orphan_grace"`
	// JobTimeout bounds one run of an asynchronous analysis; JobRescueAfter
	// is when a job still "running" (its worker crashed) is retried. It must
	// exceed JobTimeout.
	JobTimeout     time.Duration `yaml:"job_timeout"`
	JobRescueAfter time.Duration `yaml:"job_rescue_after"`
	// AnalysisConcurrency is how many analyses (synchronous, face-tag
	// suggestions and queued jobs together) run at once; 0 picks
	// max(1, CPUs/2).
	AnalysisConcurrency int `yaml:"analysis_concurrency"`
	// AnalysisQueue is how many synchronous analyses may wait for a slot;
	// one more is refused with 503 overloaded and Retry-After.
	AnalysisQueue int `yaml:"analysis_queue"`
	// AnalysisNice is how much nicer than the server its analysis workers
	// run (0..19; 0 leaves them at the server's priority). 10 lets the
	// server's own threads and the upload sanitizers take a contended core
	// first on a host that runs nothing else; on a host shared with other
	// work it also yields to that work (docs/perf.md).
	AnalysisNice int `yaml:"analysis_nice"`
	// DecodeMegapixels bounds the megapixels of uploads being decoded at
	// once (a larger photo decodes alone); later decodes wait.
	DecodeMegapixels int `yaml:"decode_megapixels"`
	// DecodeQueue is how many uploads may wait to decode; one more is
	// refused with 503 overloaded and Retry-After.
	DecodeQueue int `yaml:"decode_queue"`
	// PluginTimeout is a plugin run's wall time (0: 2 s); at the deadline
	// the module is closed and the run fails with plugin_failed.
	PluginTimeout time.Duration `yaml:"plugin_timeout"`
	// PluginMaxMemoryMB caps one plugin run's memory (0: 512); a run gets
	// its input and output plus 64 MiB, up to this.
	PluginMaxMemoryMB int `yaml:"plugin_max_memory_mb"`
	// PluginConcurrency bounds the plugin runs at once (0: 2).
	PluginConcurrency int `yaml:"plugin_concurrency"`
	// Analytics is the differentially private analytics budget and
	// retention (analytics.go).
	Analytics Analytics `yaml:"analytics"`
}

// Roles of `obscura serve` (Config.Role).
const (
	RoleAll  = "all"
	RoleAPI  = "api"
	RoleJobs = "jobs"
)

// Setting describes one setting for flags, env and docs.
type Setting struct {
	Flag, Env, Help string
}

// Settings lists every setting with its flag and environment variable.
var Settings = []Setting{
	{"addr", "OBSCURA_ADDR", "listen address"},
	{"role", "OBSCURA_ROLE", "what serve runs: all, api (HTTP, enqueue only) or jobs (queued work; health probes only)"},
	{"data", "OBSCURA_DATA", "data directory"},
	{"log-level", "OBSCURA_LOG_LEVEL", "debug, info, warn or error"},
	{"kek-cache-ttl", "OBSCURA_KEK_CACHE_TTL", "how long a decrypted KEK stays in memory"},
	{"shutdown-timeout", "OBSCURA_SHUTDOWN_TIMEOUT", "graceful shutdown limit"},
	{"kms", "OBSCURA_KMS", "root key service: local, hcvault://…, aws-kms://…, gcp-kms://…"},
	{"master-key-file", "OBSCURA_MASTER_KEY_FILE", "local root: path of the master key file shared by every node (default <data>/master.key)"},
	{"blob", "OBSCURA_BLOB", "blob store: fs, or s3://BUCKET[/PREFIX]?endpoint=HOST:PORT"},
	{"database-url", "OBSCURA_DATABASE_URL", "PostgreSQL store: postgres://USER@HOST/DB?sslmode=verify-full (empty: SQLite in the data directory)"},
	{"public-url", "OBSCURA_PUBLIC_URL", "base URL of upload and download links (default http://<addr>)"},
	{"alert-webhook", "OBSCURA_ALERT_WEBHOOK", "URL that receives alerts (HMAC-signed with OBSCURA_ALERT_SECRET)"},
	{"egress-allow", "OBSCURA_EGRESS_ALLOW", "comma-separated non-public prefixes webhooks may reach (development only)"},
	{"metrics-addr", "OBSCURA_METRICS_ADDR", "serve /metrics on this separate listen address instead of addr"},
	{"retain-analysis", "OBSCURA_RETAIN_ANALYSIS", "how long analysis results are kept (retention class analysis)"},
	{"suggestion-ttl", "OBSCURA_SUGGESTION_TTL", "how long a face-tag suggestion draft lives"},
	{"draft-ttl", "OBSCURA_DRAFT_TTL", "how long a generated image (meme or plugin draft) lives"},
	{"sweep-every", "OBSCURA_SWEEP_EVERY", "how often retention, TTL and consent-expiry sweeps run"},
	{"vision-threads", "OBSCURA_VISION_THREADS", "threads per vision model session (0: min(CPUs, 4))"},
	{"orphan-grace", "OBSCURA_ORPHAN_GRACE", "age after which a photo blob without its record (a crash) is swept"},
	{"job-timeout", "OBSCURA_JOB_TIMEOUT", "time limit of one asynchronous analysis run"},
	{"job-rescue-after", "OBSCURA_JOB_RESCUE_AFTER", "when a job left running by a crashed worker is retried (> job timeout)"},
	{"analysis-concurrency", "OBSCURA_ANALYSIS_CONCURRENCY", "analyses running at once (0: max(1, CPUs/2))"},
	{"analysis-queue", "OBSCURA_ANALYSIS_QUEUE", "synchronous analyses that may wait before 503 overloaded"},
	{"analysis-nice", "OBSCURA_ANALYSIS_NICE", "how much nicer than the server the analysis workers run (0..19)"},
	{"decode-megapixels", "OBSCURA_DECODE_MEGAPIXELS", "megapixels of uploads decoded at once"},
	{"decode-queue", "OBSCURA_DECODE_QUEUE", "uploads that may wait to decode before 503 overloaded"},
	{"plugin-timeout", "OBSCURA_PLUGIN_TIMEOUT", "wall time of one plugin run (0: 2s)"},
	{"plugin-max-memory-mb", "OBSCURA_PLUGIN_MAX_MEMORY_MB", "memory cap of one plugin run in MiB (0: 512)"},
	{"plugin-concurrency", "OBSCURA_PLUGIN_CONCURRENCY", "plugin runs at once (0: 2)"},
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:             "127.0.0.1:8787",
		Role:             RoleAll,
		Data:             DefaultDataDir(),
		LogLevel:         "info",
		KEKCacheTTL:      5 * time.Minute,
		ShutdownTimeout:  15 * time.Second,
		RateLimits:       guard.DefaultLimits(),
		KMS:              "local",
		Blob:             "fs",
		RetainAnalysis:   30 * 24 * time.Hour,
		SuggestionTTL:    time.Hour,
		DraftTTL:         time.Hour,
		AnalysisQueue:    8,
		DecodeMegapixels: 64,
		DecodeQueue:      32,
		OrphanGrace:      10 * time.Minute,
		SweepEvery:       time.Minute,
		// An analysis of every feature takes seconds (docs/text.md: OCR is
		// the slowest, about a second per text-heavy photo on 2 threads);
		// 2 min leaves room for a saturated machine, and a crashed worker's
		// job is retried 3 min after it started.
		JobTimeout:     2 * time.Minute,
		JobRescueAfter: 3 * time.Minute,
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
	count := func(dst *int, least int) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < least || n > 100_000 {
			return fault.New(fault.Invalid, fmt.Sprintf("%s: %q is not a count (%d..100000)", flag, value, least))
		}
		*dst = n
		return nil
	}
	switch flag {
	case "addr":
		c.Addr = value
	case "role":
		switch value {
		case RoleAll, RoleAPI, RoleJobs:
			c.Role = value
		default:
			return fault.New(fault.Invalid, fmt.Sprintf("role: %q is not all, api or jobs", value))
		}
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
	case "master-key-file":
		c.MasterKeyFile = value
	case "blob":
		c.Blob = value
	case "database-url":
		if value != "" && !strings.HasPrefix(value, "postgres://") && !strings.HasPrefix(value, "postgresql://") {
			return fault.New(fault.Invalid, "database-url: not a postgres:// URL")
		}
		c.DatabaseURL = value
	case "alert-webhook":
		c.AlertWebhook = value
	case "egress-allow":
		var list []string
		for _, a := range strings.Split(value, ",") {
			if a = strings.TrimSpace(a); a != "" {
				list = append(list, a)
			}
		}
		c.EgressAllow = list
	case "metrics-addr":
		c.MetricsAddr = value
	case "public-url":
		c.PublicURL = strings.TrimRight(value, "/")
	case "retain-analysis":
		return dur(&c.RetainAnalysis)
	case "suggestion-ttl":
		return dur(&c.SuggestionTTL)
	case "draft-ttl":
		return dur(&c.DraftTTL)
	case "sweep-every":
		if err := dur(&c.SweepEvery); err != nil {
			return err
		}
		if c.SweepEvery < time.Second {
			return fault.New(fault.Invalid, fmt.Sprintf("sweep-every: %q is below 1s", value))
		}
	case "orphan-grace":
		return dur(&c.OrphanGrace)
	case "job-timeout":
		return dur(&c.JobTimeout)
	case "job-rescue-after":
		return dur(&c.JobRescueAfter)
	case "vision-threads":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 256 {
			return fault.New(fault.Invalid, fmt.Sprintf("vision-threads: %q is not a thread count (0..256)", value))
		}
		c.VisionThreads = n
	case "analysis-concurrency":
		return count(&c.AnalysisConcurrency, 0)
	case "analysis-queue":
		return count(&c.AnalysisQueue, 0)
	case "analysis-nice":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 19 {
			return fault.New(fault.Invalid, fmt.Sprintf("analysis-nice: %q is not a nice increment (0..19)", value))
		}
		c.AnalysisNice = n
	case "decode-megapixels":
		return count(&c.DecodeMegapixels, 1)
	case "decode-queue":
		return count(&c.DecodeQueue, 0)
	case "plugin-timeout":
		return dur(&c.PluginTimeout)
	case "plugin-max-memory-mb":
		return count(&c.PluginMaxMemoryMB, 0)
	case "plugin-concurrency":
		return count(&c.PluginConcurrency, 0)
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
