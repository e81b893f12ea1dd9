package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/obscuraproject/obscura/internal/fault"
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

// Sign returns the signature header value for body at time t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature reports a webhook whose signature does not verify.
var ErrSignature = errors.New("webhook signature invalid or too old")

// Verify checks a signature header over body: a valid HMAC, made within
// tolerance of now (replays of old deliveries fail).
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignature
	}
	want := Sign(secret, body, time.Unix(sec, 0))
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return ErrSignature
	}
	return nil
}

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
