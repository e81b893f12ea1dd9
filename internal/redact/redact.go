// Package redact is a log/slog handler that removes secrets from every
// record before it is written, whichever library produced the record.
//
// Obscura's own code logs no secrets, but libraries log what they are
// given: the job queue logs job arguments (a webhook URL whose query holds
// the receiver's secret), net/http's error log repeats request URLs, an
// *url.Error carries the full URL. The handler rewrites, in the message
// and in every attribute (nested groups, errors, byte slices, and values
// whose JSON or printed form contains a URL):
//
//   - URLs: userinfo, query and fragment are replaced by REDACTED, and any
//     path segment that looks like a token (24 or more token characters) is
//     replaced too. Scheme, host and the rest of the path stay, for
//     debugging.
//   - attributes whose key names a secret (token, secret, password,
//     authorization, cookie, api_key, key material) are replaced whole.
//
// It does not protect against a secret logged as free text outside a URL
// under an innocuous key; code review and the marker-scanning tests cover
// that.
package redact

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Marker replaces redacted text.
const Marker = "REDACTED"

// Handler wraps another handler.
type Handler struct {
	next slog.Handler
}

var _ slog.Handler = (*Handler)(nil)

// New returns a redacting handler writing to next.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(Attr(a))
		return true
	})
	return h.next.Handle(ctx, nr)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = Attr(a)
	}
	return &Handler{next: h.next.WithAttrs(out)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}

// secretKey matches attribute keys whose values are secrets.
var secretKey = regexp.MustCompile(`(?i)(token|secret|passw|authorization|cookie|api_?key|master_?key|credential|signature)`)

// Attr returns a with secrets removed.
func Attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if secretKey.MatchString(a.Key) && v.Kind() != slog.KindGroup {
		return slog.String(a.Key, Marker)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = Attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: anyValue(v.Any())}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func anyValue(x any) slog.Value {
	switch t := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(String(t.Error()))
	case []byte:
		return slog.StringValue(String(string(t)))
	case json.RawMessage:
		return slog.StringValue(String(string(t)))
	case fmt.Stringer:
		return slog.StringValue(String(t.String()))
	}
	// Structs, maps and pointers: redact what the JSON handler would
	// write, and what a text handler would print.
	if b, err := json.Marshal(x); err == nil {
		if s := string(b); strings.Contains(s, "://") || secretJSONKey.MatchString(s) {
			return slog.StringValue(String(secretJSONKey.ReplaceAllString(s, `$1"`+Marker+`"`)))
		}
	}
	if s := fmt.Sprintf("%+v", x); strings.Contains(s, "://") {
		return slog.StringValue(String(s))
	}
	return slog.AnyValue(x)
}

// secretJSONKey matches a JSON member whose key names a secret, up to its
// string value.
var secretJSONKey = regexp.MustCompile(`(?i)("[a-z_]*(?:token|secret|passw|authorization|cookie|api_?key|credential|signature)[a-z_]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// urlRE finds URLs in free text: a scheme, "://", and everything up to
// whitespace, a quote or an angle bracket.
var urlRE = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]*://[^\s"'<>\x60]*`)

// tokenSegment is a path segment that looks like a bearer token or id.
var tokenSegment = regexp.MustCompile(`^[A-Za-z0-9_\-.~=+%]{24,}$`)

// String returns s with every URL's userinfo, query, fragment and
// token-like path segments replaced by Marker.
func String(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlRE.ReplaceAllStringFunc(s, redactURL)
}

func redactURL(u string) string {
	i := strings.Index(u, "://")
	scheme, rest := u[:i+3], u[i+3:]
	// Userinfo ends at the last @ before the path.
	authEnd := strings.IndexAny(rest, "/?#\\")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, tail := rest[:authEnd], rest[authEnd:]
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		auth = Marker + "@" + auth[at+1:]
	}
	path, suffix := tail, ""
	if q := strings.IndexAny(tail, "?#"); q >= 0 {
		path, suffix = tail[:q], tail[q:q+1]+Marker
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if tokenSegment.MatchString(s) {
			segs[i] = Marker
		}
	}
	return scheme + auth + strings.Join(segs, "/") + suffix
}
