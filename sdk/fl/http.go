package fl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	core "github.com/obscuraproject/obscura/internal/fl"
)

// HTTP is the Transport over Obscura's /v1/fl API.
type HTTP struct {
	BaseURL string       // e.g. https://obscura.example
	APIKey  string       // an ingest-scoped key of the app
	Client  *http.Client // nil: http.DefaultClient
}

var _ Transport = (*HTTP)(nil)

// Problem is an RFC 9457 error answer of the server.
type Problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail) }

// maxResponse bounds what the transport reads from the server.
const maxResponse = 64 << 20

func (h *HTTP) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.APIKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		p := &Problem{Status: resp.StatusCode}
		_ = json.Unmarshal(b, p)
		return p
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Config implements Transport.
func (h *HTTP) Config(ctx context.Context, task string) (core.TaskConfig, error) {
	var c core.TaskConfig
	err := h.do(ctx, http.MethodGet, "/v1/fl/tasks/"+url.PathEscape(task)+"/config", nil, &c)
	return c, err
}

// Checkin implements Transport.
func (h *HTTP) Checkin(ctx context.Context, task, deviceID string, at int64, sig []byte) (Status, error) {
	var s Status
	err := h.do(ctx, http.MethodPost, "/v1/fl/tasks/"+url.PathEscape(task)+"/checkin",
		map[string]any{"device_id": deviceID, "at": at, "signature": sig}, &s)
	return s, err
}

// Poll implements Transport.
func (h *HTTP) Poll(ctx context.Context, session, deviceID string, withModel bool) (Status, error) {
	var s Status
	err := h.do(ctx, http.MethodPost, "/v1/fl/rounds/"+url.PathEscape(session)+"/poll",
		map[string]any{"device_id": deviceID, "with_model": withModel}, &s)
	return s, err
}

// Submit implements Transport.
func (h *HTTP) Submit(ctx context.Context, session string, msg []byte) error {
	return h.do(ctx, http.MethodPost, "/v1/fl/rounds/"+url.PathEscape(session)+"/messages", map[string]any{"message": msg}, nil)
}
