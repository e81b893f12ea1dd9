// Package incident holds the incident kit's controls. Its kill switch stops
// processing globally, per tenant, per feature, or per tenant and feature.
// Switches live in the store, so `obscura incident kill-switch` from the CLI
// reaches a running server (which re-reads them every second) and they
// survive restarts. A refused request gets 503 kill_switch.
//
// Fails closed: if the switches cannot be read, the last known set stays in
// force, and a server that has never read them treats every feature as off.
package incident

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
)

// Features the kill switch can stop. Append only.
var Features = []string{"analyze", "faces", "memes", "plugins", "uploads", "federated_learning"}

// pluginFeature is one installed plugin's feature, "plugin:<name>" (the
// console's "disable"; "plugins" stops them all).
var pluginFeature = regexp.MustCompile(`^plugin:[a-z0-9][a-z0-9_-]{0,39}$`)

// ErrKilled is the refusal.
var ErrKilled = fault.New(fault.Unavailable, "stopped by the operator's kill switch")

// Scope names what a switch stops.
func Scope(tenant, feature string) (string, error) {
	if feature != "" && !slices.Contains(Features, feature) && !pluginFeature.MatchString(feature) {
		return "", fault.New(fault.Invalid, "feature must be one of "+strings.Join(Features, ", ")+" or plugin:<name>")
	}
	switch {
	case tenant == "" && feature == "":
		return "global", nil
	case feature == "":
		return "tenant:" + tenant, nil
	case tenant == "":
		return "feature:" + feature, nil
	default:
		return "tenant:" + tenant + "/feature:" + feature, nil
	}
}

type switchStore interface {
	SetKillSwitch(ctx context.Context, scope string, on bool, at time.Time) error
	KillSwitches(ctx context.Context) ([]string, error)
}

// Switches caches the kill switches.
type Switches struct {
	st  switchStore
	clk clock.Clock
	log *slog.Logger

	mu     sync.RWMutex
	on     map[string]bool
	loaded bool
}

// NewSwitches returns a cache; call Refresh once and then Run.
func NewSwitches(st switchStore, clk clock.Clock, log *slog.Logger) *Switches {
	return &Switches{st: st, clk: clk, log: log.With("component", "incident")}
}

// Refresh re-reads the switches from the store.
func (s *Switches) Refresh(ctx context.Context) error {
	scopes, err := s.st.KillSwitches(ctx)
	if err != nil {
		return err
	}
	on := make(map[string]bool, len(scopes))
	for _, sc := range scopes {
		on[sc] = true
	}
	s.mu.Lock()
	changed := !s.loaded || len(on) != len(s.on)
	for k := range on {
		changed = changed || !s.on[k]
	}
	s.on, s.loaded = on, true
	s.mu.Unlock()
	if changed && len(on) > 0 {
		s.log.Warn("kill switches in force", "scopes", scopes)
	}
	return nil
}

// Run refreshes every interval until ctx ends.
func (s *Switches) Run(ctx context.Context, interval time.Duration) {
	clock.Every(ctx, interval, func() {
		if err := s.Refresh(ctx); err != nil {
			s.log.Error("cannot read kill switches; keeping the last known set", "err", err)
		}
	})
}

// Check returns ErrKilled if a switch covers tenant and feature.
func (s *Switches) Check(tenant, feature string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.loaded {
		return fmt.Errorf("kill switches not loaded: %w", ErrKilled)
	}
	for _, sc := range []string{"global", "tenant:" + tenant, "feature:" + feature, "tenant:" + tenant + "/feature:" + feature} {
		if s.on[sc] {
			return ErrKilled
		}
	}
	return nil
}

// Set turns a switch on or off in the store and refreshes the cache.
func (s *Switches) Set(ctx context.Context, tenant, feature string, on bool) (string, error) {
	sc, err := Scope(tenant, feature)
	if err != nil {
		return "", err
	}
	if err := s.st.SetKillSwitch(ctx, sc, on, s.clk.Now()); err != nil {
		return "", err
	}
	return sc, s.Refresh(ctx)
}

// Active lists the switches in force.
func (s *Switches) Active() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.on))
	for k := range s.on {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
