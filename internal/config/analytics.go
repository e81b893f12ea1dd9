package config

import "time"

// Analytics is the differentially private analytics settings (YAML key
// `analytics`; docs/analytics.md). Zero fields keep the defaults of
// internal/analytics: per 720h period ε 10 and δ 1e-6, lifetime cap ε 30
// and δ 1e-5, query ε 0.05–1, partition-selection δ 1e-9 per query,
// contributions kept 2160h (90 days).
type Analytics struct {
	// Period is the budget period.
	Period time.Duration `yaml:"period"`
	// Epsilon and Delta are the per-period (ε, δ) budget of each tenant.
	Epsilon float64 `yaml:"epsilon"`
	Delta   float64 `yaml:"delta"`
	// LifetimeEpsilon and LifetimeDelta cap each tenant's total spend,
	// which bounds any subject's total privacy loss.
	LifetimeEpsilon float64 `yaml:"lifetime_epsilon"`
	LifetimeDelta   float64 `yaml:"lifetime_delta"`
	// MinQueryEpsilon and MaxQueryEpsilon bound one query's ε.
	MinQueryEpsilon float64 `yaml:"min_query_epsilon"`
	MaxQueryEpsilon float64 `yaml:"max_query_epsilon"`
	// SelectionDelta is the δ one query over open-ended keys spends.
	SelectionDelta float64 `yaml:"selection_delta"`
	// Retain is how long a contribution is kept.
	Retain time.Duration `yaml:"retain"`
}
