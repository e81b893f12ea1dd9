package redact

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

const marker = "PLANTED-MARKER-7f3a"

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no url here", "no url here"},
		{"POST https://hooks.example.com/obscura?sig=" + marker + "&x=1 failed", "POST https://hooks.example.com/obscura?REDACTED failed"},
		{`{"url":"https://u:` + marker + `@h.example/p#` + marker + `"}`, `{"url":"https://REDACTED@h.example/p#REDACTED"}`},
		{"http://127.0.0.1:8787/v1/upload/v4.local.abcdefghijklmnopqrstuvwxyz012345 done", "http://127.0.0.1:8787/v1/upload/REDACTED done"},
		{"https://h.example/short/path", "https://h.example/short/path"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

type jobArgs struct {
	Tenant string `json:"tenant"`
	URL    string `json:"url"`
}

// TestHandlerScrubsEverySource plants a marker in a webhook URL's query and
// logs it every way a library might; the marker must not reach the output.
func TestHandlerScrubsEverySource(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	hook := "https://hooks.example.com/x?secret=" + marker
	l.Info("job inserted "+hook, "args", []byte(`{"url":"`+hook+`"}`))
	l.Info("job", "args", jobArgs{Tenant: "ten_a", URL: hook}, "ptr", &jobArgs{URL: hook})
	l.Warn("delivery failed", "err", &url.Error{Op: "Post", URL: hook, Err: errors.New("refused")})
	l.With("url", hook).WithGroup("g").Info("grouped", slog.Group("inner", "u", hook), "api_key", marker, "token", marker)
	l.Info("json secret", "body", map[string]string{"webhook_secret": marker})
	// The standard library's log package, as net/http's error log uses it.
	std := slog.NewLogLogger(New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn)
	std.Printf("http: proxy error for %s", hook)
	prev := slog.Default()
	slog.SetDefault(l)
	log.Printf("library says %s", hook)
	slog.SetDefault(prev)
	out := buf.String()
	if strings.Contains(out, marker) {
		t.Fatalf("marker leaked:\n%s", out)
	}
	if n := strings.Count(out, "hooks.example.com"); n < 6 {
		t.Errorf("host kept %d times, want ≥ 6 (redaction should keep scheme and host):\n%s", n, out)
	}
}

func TestHandlerKeepsOrdinaryRecords(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(New(slog.NewJSONHandler(&buf, nil)))
	l.Info("retention sweep", "deleted", 3, "component", "jobs", "ok", true)
	if got := buf.String(); !strings.Contains(got, `"deleted":3`) || !strings.Contains(got, `"ok":true`) || !strings.Contains(got, `"msg":"retention sweep"`) {
		t.Errorf("ordinary record changed: %s", got)
	}
	if !New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})).Enabled(context.Background(), slog.LevelWarn) {
		t.Error("Enabled not delegated")
	}
}
