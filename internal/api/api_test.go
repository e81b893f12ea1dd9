package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
)

type env struct {
	srv     *httptest.Server
	st      store.Backend
	kr      *keyring.Keyring
	logs    *bytes.Buffer
	keysvc  *downableKeys
	tenants map[string]tenantCreds
}

type tenantCreds struct {
	id, admin, ingestOnly, ingestKeyID, adminKeyID string
}

// downableKeys wraps the real keyring so a test can make Ping fail.
type downableKeys struct {
	*keyring.Keyring
	down bool
}

func (d *downableKeys) Ping(ctx context.Context) error {
	if d.down {
		return fault.New(fault.Unavailable, "key service unavailable")
	}
	return d.Keyring.Ping(ctx)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &bytes.Buffer{}
	k := testkit.New(t, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ks := &downableKeys{Keyring: k.Keys}
	a := New(Deps{Store: k.Store, Keys: ks, Auth: auth.New(k.Store, k.Keys, k.Clock), Clock: k.Clock, Log: k.Log, Registry: prometheus.NewRegistry(), Version: "test",
		Operator: operator.New(k.Store, k.Keys, nil, k.Audit, k.Clock, k.Log)})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{srv: srv, st: k.Store, kr: k.Keys, logs: logs, keysvc: ks, tenants: map[string]tenantCreds{}}
	for _, name := range []string{"a", "b"} {
		id := "ten_" + name
		admin, rec := k.Tenant(t, id)
		ingest, irec := k.Key(t, id, auth.ScopeIngest)
		e.tenants[name] = tenantCreds{id: id, admin: admin, ingestOnly: ingest, ingestKeyID: irec.ID, adminKeyID: rec.ID}
	}
	return e
}

type resp struct {
	status int
	ctype  string
	body   []byte
	hdr    http.Header
}

func (e *env) do(t *testing.T, method, path, key, body string) resp {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header.Get("Content-Type"), b, res.Header}
}

func problemOf(t *testing.T, r resp) Problem {
	t.Helper()
	if r.ctype != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (body %s)", r.ctype, r.body)
	}
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.body)
	}
	if p.Status != r.status || p.Code == "" || p.Type != "urn:obscura:problem:"+p.Code || p.Title == "" {
		t.Fatalf("malformed problem for status %d: %+v", r.status, p)
	}
	return p
}

func TestAuthAndScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenants["a"]
	revokedKey, rec := auth.Mint(e.kr, a.id, auth.AllScopes, time.Now())
	if err := e.st.CreateAPIKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "GET", "/v1/tenant", revokedKey, ""); r.status != 200 {
		t.Fatalf("key before revoke: %d", r.status)
	}
	if r := e.do(t, "DELETE", "/v1/keys/"+rec.ID, a.admin, ""); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"no key", "GET", "/v1/tenant", "", "", 401, "unauthenticated"},
		{"garbage key", "GET", "/v1/tenant", "obs_nope", "", 401, "unauthenticated"},
		{"revoked key", "GET", "/v1/tenant", revokedKey, "", 401, "unauthenticated"},
		{"tampered key", "GET", "/v1/tenant", a.admin[:len(a.admin)-4] + "aaaa", "", 401, "unauthenticated"},
		{"wrong scope", "GET", "/v1/keys", a.ingestOnly, "", 403, "forbidden"},
		{"wrong scope create", "POST", "/v1/keys", a.ingestOnly, `{"scopes":["admin"]}`, 403, "forbidden"},
		{"unknown scope", "POST", "/v1/keys", a.admin, `{"scopes":["root"]}`, 400, "invalid_request"},
		{"empty scopes", "POST", "/v1/keys", a.admin, `{"scopes":[]}`, 422, "invalid_request"},
		{"bad json", "POST", "/v1/keys", a.admin, `{"scopes":`, 400, "invalid_request"},
		{"unknown field", "POST", "/v1/keys", a.admin, `{"scopes":["admin"],"tenant":"ten_b"}`, 422, "invalid_request"},
		{"no route", "GET", "/v1/nothing", a.admin, "", 404, "not_found"},
		{"missing key id", "GET", "/v1/keys/key_doesnotexist", a.admin, "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.key, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if p := problemOf(t, r); p.Code != tt.code {
				t.Errorf("code %q, want %q", p.Code, tt.code)
			}
			if tt.status == 401 && r.hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	r := e.do(t, "GET", "/v1/tenant", a.ingestOnly, "")
	var got struct{ TenantID, Name string }
	json.Unmarshal(r.body, &got)
	if r.status != 200 || !strings.Contains(string(r.body), `"tenant_id":"ten_a"`) || !strings.Contains(string(r.body), `"name":"App ten_a"`) {
		t.Errorf("GET /v1/tenant = %d %s", r.status, r.body)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.tenants["a"], e.tenants["b"]
	// B probing A's key id gets byte-for-byte what B gets for an id that never existed.
	for _, method := range []string{"GET", "DELETE"} {
		cross := e.do(t, method, "/v1/keys/"+a.ingestKeyID, b.admin, "")
		missing := e.do(t, method, "/v1/keys/key_neverexisted0000000000", b.admin, "")
		if cross.status != 404 || missing.status != 404 {
			t.Fatalf("%s cross=%d missing=%d, want 404", method, cross.status, missing.status)
		}
		if !bytes.Equal(cross.body, missing.body) {
			t.Errorf("%s: cross-tenant body %s differs from missing body %s", method, cross.body, missing.body)
		}
	}
	if r := e.do(t, "GET", "/v1/tenant", a.ingestOnly, ""); r.status != 200 {
		t.Errorf("tenant B's DELETE revoked tenant A's key: %d", r.status)
	}
	r := e.do(t, "GET", "/v1/keys", b.admin, "")
	if strings.Contains(string(r.body), a.ingestKeyID) || strings.Contains(string(r.body), a.adminKeyID) {
		t.Errorf("tenant B's key list shows tenant A's keys: %s", r.body)
	}
}

func TestCreateKeyShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenants["a"]
	r := e.do(t, "POST", "/v1/keys", a.admin, `{"scopes":["analyze","ingest"]}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var out struct {
		KeyID  string   `json:"key_id"`
		APIKey string   `json:"api_key"`
		Scopes []string `json:"scopes"`
	}
	json.Unmarshal(r.body, &out)
	if !strings.HasPrefix(out.APIKey, "obs_") || len(out.Scopes) != 2 {
		t.Fatalf("create output: %s", r.body)
	}
	if got := e.do(t, "GET", "/v1/tenant", out.APIKey, ""); got.status != 200 {
		t.Errorf("new key does not work: %d", got.status)
	}
	for _, path := range []string{"/v1/keys/" + out.KeyID, "/v1/keys"} {
		got := e.do(t, "GET", path, a.admin, "")
		if strings.Contains(string(got.body), out.APIKey[len(out.APIKey)-52:]) || strings.Contains(string(got.body), "api_key") {
			t.Errorf("%s shows the secret again: %s", path, got.body)
		}
	}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenants["a"]
	if r := e.do(t, "GET", "/healthz", "", ""); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
	if r := e.do(t, "GET", "/readyz", "", ""); r.status != 200 {
		t.Errorf("readyz %d %s", r.status, r.body)
	}
	e.keysvc.down = true
	if r := e.do(t, "GET", "/readyz", "", ""); r.status != 503 || problemOf(t, r).Code != "unavailable" {
		t.Errorf("readyz with key service down: %d %s", r.status, r.body)
	}
	e.keysvc.down = false
	e.st.Close()
	if r := e.do(t, "GET", "/readyz", "", ""); r.status != 503 {
		t.Errorf("readyz with store closed: %d %s", r.status, r.body)
	}

	e = newEnv(t)
	a = e.tenants["a"]
	e.do(t, "GET", "/v1/keys/"+a.ingestKeyID, a.admin, "")
	e.do(t, "GET", "/v1/tenant", "obs_bad", "")
	m := e.do(t, "GET", "/metrics", "", "")
	if m.status != 200 || !strings.Contains(string(m.body), `obscura_http_requests_total{method="GET",route="GET /v1/keys/{id}",status="200"} 1`) {
		t.Fatalf("metrics missing the route-template series:\n%s", m.body)
	}
	if !strings.Contains(string(m.body), "obscura_auth_failures_total 1") {
		t.Error("auth failure not counted")
	}
	for _, id := range []string{a.ingestKeyID, a.id, a.admin} {
		if strings.Contains(string(m.body), id) {
			t.Errorf("metrics contain an id or secret %q", id)
		}
	}
	o := e.do(t, "GET", "/openapi.yaml", "", "")
	if o.status != 200 || !strings.Contains(string(o.body), "openapi: 3.1.0") {
		t.Fatalf("openapi.yaml: %d", o.status)
	}
}

func TestLogsHoldNoSecretsOrIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.tenants["a"]
	e.do(t, "GET", "/v1/keys/"+a.ingestKeyID, a.admin, "")
	e.do(t, "DELETE", "/v1/keys/"+a.ingestKeyID, a.admin, "")
	e.do(t, "GET", "/v1/tenant", a.admin+"x", "")
	e.do(t, "POST", "/v1/keys", a.admin, `{"scopes":["nonsense-marker-123"]}`)
	logs := e.logs.String()
	if !strings.Contains(logs, `"route":"GET /v1/keys/{id}"`) {
		t.Fatalf("request log missing; the scan would prove nothing:\n%s", logs)
	}
	for _, s := range []string{a.admin, a.admin[len(a.admin)-52:], a.ingestKeyID, a.id, "nonsense-marker-123"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q", s)
		}
	}
}

func TestProblemFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		detail string
	}{
		{"sentinel", errors.Join(errors.New("ctx"), auth.ErrForbidden), 403, "forbidden", "API key lacks the required scope"},
		{"key revoked", keyring.ErrKeyRevoked, 403, "key_revoked", "key version revoked"},
		{"kind", fault.New(fault.TooLarge, "body too large"), 413, "too_large", "body too large"},
		{"consent", fault.New(fault.ConsentRequired, "needs tagging"), 403, "consent_required", "needs tagging"},
		{"internal hides text", errors.New("open /secret/path: permission denied"), 500, "internal", "internal error"},
		{"other kind hides text", fault.New(fault.Other, "db password=x"), 500, "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ProblemFor(tt.err)
			if p.Status != tt.status || p.Code != tt.code || p.Detail != tt.detail {
				t.Errorf("ProblemFor = %+v, want %d %s %q", p, tt.status, tt.code, tt.detail)
			}
		})
	}
	// Every kind has a row.
	for k := fault.Other; k <= fault.KeyRevoked; k++ {
		if _, ok := kindTable[k]; !ok {
			t.Errorf("kind %v has no row in the error table", k)
		}
	}
}
