package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/riverqueue/river"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/hooksig"
)

// SignatureHeader carries a webhook's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
const SignatureHeader = "Obscura-Signature"

// ErrWebhookURL reports a webhook URL Obscura will not call.
var ErrWebhookURL = fault.New(fault.Invalid, "webhook must be an https URL (or http to a loopback address)")

// CheckWebhookURL accepts https URLs, and http only to loopback hosts
// (a developer's machine). Credentials in the URL are refused.
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return ErrWebhookURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return nil
		}
	}
	return ErrWebhookURL
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
	JobID    int64    `json:"job_id"`
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
	job, err := w.q.Get(ctx, j.Args.Tenant, j.Args.JobID)
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
	if err != nil {
		return fmt.Errorf("webhook delivery: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// webhookClient does not follow redirects (a redirect could point the
// delivery somewhere the URL check did not see).
func webhookClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// webhookAttempts bounds delivery retries (River backs off between them).
const webhookAttempts = 8
