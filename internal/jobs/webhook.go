package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/riverqueue/river"

	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/hooksig"
)

// SignatureHeader carries a webhook's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
const SignatureHeader = "Obscura-Signature"

// ErrWebhookURL reports a webhook URL Obscura will not call (see
// internal/egress for the rules). It is egress.ErrURL.
var ErrWebhookURL = egress.ErrURL

// CheckWebhookURL checks a webhook URL against the default egress policy:
// https to a public address; no credentials. Queue.EnqueueAnalyze checks
// against the queue's configured policy instead.
func CheckWebhookURL(raw string) error {
	p, _ := egress.NewPolicy(nil)
	return p.CheckURL(raw)
}

// Sign, Verify and ErrSignature are the webhook signature
// (docs/spec/webhook-v1.md), one implementation in internal/hooksig.
var (
	Sign         = hooksig.Sign
	Verify       = hooksig.Verify
	ErrSignature = hooksig.ErrSignature
)

// WebhookArgs is the delivery of a finished job's notification.
type WebhookArgs struct {
	Tenant string `json:"tenant"`
	JobID  int64  `json:"job_id"`
	URL    string `json:"url"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "webhook" }

// Notification is a webhook body: which job finished, how. It carries no
// results: the app fetches them with GET /v1/jobs/{id}, authenticated.
type Notification struct {
	JobID    string   `json:"job_id"`
	AssetID  string   `json:"asset_id"`
	State    string   `json:"state"`
	Features []string `json:"features"`
	Error    string   `json:"error,omitempty"`
}

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	q      *Queue
	secret func(tenant string) []byte
	client *http.Client
	now    func() time.Time
}

func (w *webhookWorker) Work(ctx context.Context, j *river.Job[WebhookArgs]) error {
	job, err := w.q.get(ctx, j.Args.Tenant, j.Args.JobID)
	if err != nil {
		return river.JobCancel(err)
	}
	if job.State == "queued" || job.State == "running" {
		return river.JobSnooze(time.Second) // the job's completion is still being recorded
	}
	body, _ := json.Marshal(Notification{JobID: job.ID, AssetID: job.AssetID, State: job.State, Features: job.Features, Error: job.Error})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Args.URL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.secret(j.Args.Tenant), body, w.now()))
	resp, err := w.client.Do(req)
	if egress.Refused(err) {
		// The address is not allowed (it may have been re-pointed since the
		// URL was accepted): retrying cannot help.
		return river.JobCancel(errors.New("webhook delivery: address not allowed"))
	}
	if err != nil {
		// *url.Error carries the URL, query secrets included: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook delivery: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// webhookAttempts bounds delivery retries (River backs off between them).
const webhookAttempts = 8
