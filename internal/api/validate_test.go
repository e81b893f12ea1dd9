package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/testkit"
)

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"plain", `{"scopes":["ingest"],"name":"x"}`, true},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, true},
		{"same key at two levels", `{"a":{"a":1}}`, true},
		{"key equal to a value", `{"a":"a","b":"a"}`, true},
		{"paired surrogates", `{"a":"\ud83d\ude00"}`, true},
		{"escaped backslash before u", `{"a":"\\ud800"}`, true},
		{"malformed left to the decoder", `{"a":`, true},
		{"duplicate scopes", `{"scopes":["ingest"],"scopes":["admin"]}`, false},
		{"nested duplicate", `{"a":{"x":1,"y":[1,{"z":1,"z":2}]}}`, false},
		{"duplicate after object value", `{"a":{"b":1},"a":2}`, false},
		{"invalid utf-8", "{\"subject\":\"a\xffb\"}", false},
		{"lone high surrogate", `{"subject":"a\ud800b"}`, false},
		{"lone low surrogate", `{"subject":"\udc00"}`, false},
		{"high then non-low", `{"s":"\ud800\u0041"}`, false},
	} {
		if err := CheckJSON([]byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%s: CheckJSON(%s) = %v, want ok=%v", tc.name, tc.body, err, tc.ok)
		}
	}
}

func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"scopes":["ingest"],"scopes":["admin"]}`))
	f.Add([]byte(`{"a":"\ud83d\ude00","b":[{"c":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		CheckJSON(b) // must not panic
	})
}

// TestDuplicateKeysRefused is the regression for duplicate JSON keys with
// the last one winning: {"scopes":["ingest"],"scopes":["admin"]} minted an
// admin key.
func TestDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenants["a"]
	before := e.do(t, "GET", "/v1/keys", a.admin, "")
	for _, body := range []string{`{"scopes":["ingest"],"scopes":["admin"]}`, "{\"scopes\":[\"ingest\xff\"]}"} {
		r := e.do(t, "POST", "/v1/keys", a.admin, body)
		if p := problemOf(t, r); r.status != 400 || p.Code != "invalid_request" {
			t.Errorf("POST /v1/keys %q: %d %s", body, r.status, r.body)
		}
	}
	if after := e.do(t, "GET", "/v1/keys", a.admin, ""); !bytes.Equal(after.body, before.body) {
		t.Errorf("a refused request still created a key:\n%s\n%s", before.body, after.body)
	}
	// Untyped bodies are JSON to huma: checked too.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/keys", strings.NewReader(`{"scopes":["ingest"],"scopes":["admin"]}`))
	req.Header.Set("Authorization", "Bearer "+a.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("untyped duplicate body: %d", res.StatusCode)
	}
}

// TestWrongMethodIs405 is the regression for a wrong method getting 404.
func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/v1/tenant", 405, "GET"},
		{"PUT", "/v1/keys", 405, "GET, POST"},
		{"PATCH", "/v1/keys/key_x", 405, "DELETE, GET"},
		{"POST", "/healthz", 405, "GET"},
		{"GET", "/v1/nothing-here", 404, ""},
	} {
		r := e.do(t, tc.method, tc.path, e.tenants["a"].admin, "")
		p := problemOf(t, r)
		if r.status != tc.status || (tc.status == 405 && (p.Code != "method_not_allowed" || !strings.HasPrefix(r.hdr.Get("Allow"), tc.allow))) {
			t.Errorf("%s %s: %d %s Allow=%q", tc.method, tc.path, r.status, p.Code, r.hdr.Get("Allow"))
		}
	}
}

// TestConsentRoutesValidateSubject is the regression for NUL, CR/LF and
// invalid UTF-8 accepted in subject ids on the consent routes (uploads
// refused them; invalid UTF-8 became U+FFFD, so distinct ids collided).
func TestConsentRoutesValidateSubject(t *testing.T) {
	t.Parallel()
	k := testkit.New(t, nil)
	admin, _ := k.Tenant(t, "ten_a")
	a := New(Deps{Store: k.Store, Keys: k.Keys, Auth: auth.New(k.Store, k.Keys, k.Clock), Clock: k.Clock, Log: k.Log, Registry: prometheus.NewRegistry(), Version: "test",
		Consents: consent.New(k.Store, k.Keys, nil, k.Clock, k.Log)})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	grant := `{"purpose":"tagging","notice_version":"v1"}`
	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for _, s := range []string{"a%00b", "a%0Db", "a%0Ab", "a%FFb", "a%C3", "a%1Bb", "a%7Fb"} {
		for _, op := range [][2]string{{"POST", "/consents"}, {"GET", "/consents"}, {"DELETE", "/consents/tagging"}} {
			if code := do(op[0], "/v1/subjects/"+s+op[1], grant); code != 422 {
				t.Errorf("%s /v1/subjects/%s%s: %d, want 422", op[0], s, op[1], code)
			}
		}
	}
	if code := do("POST", "/v1/subjects/alice%20smith/consents", grant); code != 201 {
		t.Errorf("valid subject: %d", code)
	}
	if cs, _ := k.Store.Consents(context.Background(), "ten_a", k.Keys.SubjectHash("a\uFFFDb")); len(cs) != 0 {
		t.Errorf("a refused subject was stored: %+v", cs)
	}
}

// TestMetricsProtected: /metrics takes a bearer token, or moves off the
// API listener entirely.
func TestMetricsProtected(t *testing.T) {
	t.Parallel()
	k := testkit.New(t, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name      string
		d         Deps
		auth      string
		want      int
		elsewhere int
	}{
		{"open by default", Deps{}, "", 200, 0},
		{"token missing", Deps{MetricsToken: "m-secret-token"}, "", 401, 0},
		{"token wrong", Deps{MetricsToken: "m-secret-token"}, "Bearer nope", 401, 0},
		{"token right", Deps{MetricsToken: "m-secret-token"}, "Bearer m-secret-token", 200, 0},
		{"elsewhere", Deps{MetricsElsewhere: true}, "", 404, 200},
	} {
		d := tc.d
		d.Store, d.Keys, d.Auth, d.Clock, d.Log, d.Registry = k.Store, k.Keys, auth.New(k.Store, k.Keys, k.Clock), k.Clock, k.Log, prometheus.NewRegistry()
		a := New(d)
		get := func(h http.Handler) int {
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		if got := get(a.Handler()); got != tc.want {
			t.Errorf("%s: /metrics on the API = %d, want %d", tc.name, got, tc.want)
		}
		if tc.elsewhere != 0 {
			if got := get(a.MetricsHandler()); got != tc.elsewhere {
				t.Errorf("%s: separate metrics handler = %d", tc.name, got)
			}
		}
	}
}

// TestErrorsDocListsEveryCode: docs/errors.md names every public code of
// the error tables (kill_switch was missing).
func TestErrorsDocListsEveryCode(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, r := range sentinelTable {
		codes[r.code] = true
	}
	for _, r := range kindTable {
		codes[r.code] = true
	}
	for _, r := range statusTable {
		codes[r.code] = true
	}
	for c := range codes {
		if !bytes.Contains(doc, []byte("`"+c+"`")) {
			t.Errorf("docs/errors.md does not list %s", c)
		}
	}
}
