// Package alert watches the stream of audited events and raises alerts on
// query spikes, failed-authentication bursts, mass exports (worse when they
// come with authentication anomalies), extraction suspicions and audit
// verification failures. Thresholds adapt: each rule keeps an exponentially
// weighted moving average (EWMA) of its per-minute count and fires when a
// minute exceeds both a floor and a multiple of that baseline, so a busy
// app does not page on its normal load and a quiet one still pages on a
// burst. Alerts go to the store (GET /v1/admin/alerts), the log and, if
// configured, an HMAC-signed webhook with retries.
//
// Alerts carry rule names, counts and tenant ids only: no subject ids,
// no request content.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/hooksig"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/store"
)

// Rules. Append only: alert consumers match on them.
const (
	RuleQuerySpike      = "query_spike"
	RuleFailedAuthBurst = "failed_auth_burst"
	RuleMassExport      = "mass_export"
	RuleExtraction      = "extraction_suspected"
	RuleAdversarial     = "adversarial_input"
	RuleAuditBroken     = "audit_verification_failed"
	// RuleSandboxCrashes: sandboxed decode/inference workers keep crashing
	// (a possible exploit attempt against a decoder or model runtime).
	RuleSandboxCrashes = "sandbox_crashes"
)

// Threshold is one rule's firing condition per minute.
type Threshold struct {
	Floor    float64 // never fire at or below this count
	Multiple float64 // fire above Multiple × EWMA baseline
}

// Config tunes the engine.
type Config struct {
	QuerySpike      Threshold // per tenant
	FailedAuthBurst Threshold // installation-wide
	MassExport      Threshold // per tenant
	// Alpha is the EWMA weight of the newest minute.
	Alpha float64
	// Webhook, if set, receives every alert as JSON, signed with Secret.
	Webhook string
	Secret  []byte
	// RetryBase is the first webhook retry delay (doubling; default 1 s).
	RetryBase time.Duration
	// Egress decides which addresses the webhook may reach (default:
	// public addresses only; see internal/egress).
	Egress *egress.Policy
}

// DefaultConfig: floors sized for one app on one machine.
func DefaultConfig() Config {
	return Config{
		QuerySpike:      Threshold{Floor: 600, Multiple: 5},
		FailedAuthBurst: Threshold{Floor: 20, Multiple: 4},
		MassExport:      Threshold{Floor: 5, Multiple: 4},
		Alpha:           0.2,
	}
}

type alertStore interface {
	CreateAlert(ctx context.Context, a store.Alert) error
}

type counter struct {
	minute int64
	count  float64
	ewma   float64
	seen   bool
	fired  int64 // minute of the last alert, to fire once per minute
}

// Engine evaluates rules over observed entries.
type Engine struct {
	cfg    Config
	st     alertStore
	clk    clock.Clock
	log    *slog.Logger
	client *http.Client

	mu       sync.Mutex
	counters map[string]*counter
	authBad  map[string]int64 // tenant → minute of the last auth anomaly
	wg       sync.WaitGroup
}

// New returns an Engine.
func New(cfg Config, st alertStore, clk clock.Clock, log *slog.Logger) *Engine {
	if cfg.Egress == nil {
		cfg.Egress, _ = egress.NewPolicy(nil)
	}
	return &Engine{cfg: cfg, st: st, clk: clk, log: log.With("component", "alert"), client: cfg.Egress.Client(5 * time.Second),
		counters: map[string]*counter{}, authBad: map[string]int64{}}
}

// tick adds one event to a counter and reports whether this minute now
// exceeds the rule's threshold (once per minute).
func (e *Engine) tick(key string, th Threshold, minute int64) (bool, float64, float64) {
	c := e.counters[key]
	if c == nil {
		c = &counter{minute: minute}
		e.counters[key] = c
	}
	if minute != c.minute {
		// Close the finished minute (and any empty ones) into the baseline.
		for m := c.minute; m < minute && m < c.minute+60; m++ {
			v := 0.0
			if m == c.minute {
				v = c.count
			}
			if !c.seen {
				c.ewma, c.seen = v, true
			} else {
				c.ewma = e.cfg.Alpha*v + (1-e.cfg.Alpha)*c.ewma
			}
		}
		c.minute, c.count = minute, 0
	}
	c.count++
	if c.count > th.Floor && c.count > th.Multiple*c.ewma && c.fired != minute {
		c.fired = minute
		return true, c.count, c.ewma
	}
	return false, c.count, c.ewma
}

// Observe feeds one audited event to the rules.
func (e *Engine) Observe(ctx context.Context, en audit.Entry) {
	now := e.clk.Now()
	minute := now.Unix() / 60
	var fire []store.Alert
	e.mu.Lock()
	if en.Tenant != "" {
		if ok, n, base := e.tick("q/"+en.Tenant, e.cfg.QuerySpike, minute); ok {
			fire = append(fire, store.Alert{Rule: RuleQuerySpike, Severity: "warning", TenantID: en.Tenant, Detail: detail(n, base)})
		}
	}
	if en.Code == "unauthenticated" {
		if ok, n, base := e.tick("auth", e.cfg.FailedAuthBurst, minute); ok {
			fire = append(fire, store.Alert{Rule: RuleFailedAuthBurst, Severity: "warning", Detail: detail(n, base)})
		}
	}
	if en.Code == "forbidden" || en.Code == "unauthenticated" {
		e.authBad[en.Tenant] = minute
	}
	if en.Action == "export-subject" && en.Result == audit.ResultOK {
		if ok, n, base := e.tick("x/"+en.Tenant, e.cfg.MassExport, minute); ok {
			sev := "warning"
			if m, bad := e.authBad[en.Tenant]; bad && minute-m <= 10 {
				sev = "critical" // exports plus auth anomalies: combined signal
			}
			fire = append(fire, store.Alert{Rule: RuleMassExport, Severity: sev, TenantID: en.Tenant, Detail: detail(n, base)})
		}
	}
	e.mu.Unlock()
	for _, a := range fire {
		e.Raise(ctx, a)
	}
}

func detail(n, base float64) string {
	return fmt.Sprintf("count=%.0f/min baseline=%.1f/min", n, base)
}

// Raise records an alert in the store and the log and sends it to the webhook.
func (e *Engine) Raise(ctx context.Context, a store.Alert) {
	a.ID, a.Time = ident.Sized("alt_", 10), e.clk.Now().UTC()
	if err := e.st.CreateAlert(context.WithoutCancel(ctx), a); err != nil {
		e.log.Error("store alert", "rule", a.Rule, "err", err)
	}
	e.log.Warn("ALERT", "rule", a.Rule, "severity", a.Severity, "tenant", a.TenantID, "detail", a.Detail)
	if e.cfg.Webhook != "" {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.send(a)
		}()
	}
}

// Payload is the webhook body.
type Payload struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Tenant   string    `json:"tenant,omitempty"`
	Detail   string    `json:"detail"`
}

// send posts the alert, retrying with backoff (1 s, 2 s, 4 s) on failure.
func (e *Engine) send(a store.Alert) {
	body, _ := json.Marshal(Payload{ID: a.ID, Time: a.Time, Rule: a.Rule, Severity: a.Severity, Tenant: a.TenantID, Detail: a.Detail})
	backoff := e.cfg.RetryBase
	if backoff <= 0 {
		backoff = time.Second
	}
	for attempt := 1; attempt <= 4; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, e.cfg.Webhook, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Obscura-Signature", hooksig.Sign(e.cfg.Secret, body, e.clk.Now()))
		res, err := e.client.Do(req)
		if egress.Refused(err) {
			e.log.Error("alert webhook address not allowed; not retrying")
			return
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the URL, which may carry a secret
		}
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 300 {
				return
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		e.log.Warn("alert webhook failed", "attempt", attempt, "err", err)
		if attempt < 4 {
			clock.Sleep(context.Background(), e.clk, backoff)
			backoff *= 2
		}
	}
}

// Wait blocks until pending webhook deliveries end (for shutdown and tests).
func (e *Engine) Wait() { e.wg.Wait() }
