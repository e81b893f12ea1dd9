package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

// fakeTransit is an in-process stand-in for Vault's Transit engine: the
// encrypt and decrypt endpoints, token check, AES-256-GCM with associated data.
// It exists so the real Tink/Vault client code is exercised in unit tests.
type fakeTransit struct {
	aead  cipher.AEAD
	token string
	calls atomic.Int64
}

func newFakeTransit(token string) *fakeTransit {
	k := make([]byte, 32)
	rand.Read(k)
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	return &fakeTransit{aead: g, token: token}
}

func (f *fakeTransit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
	}
	if r.Header.Get("X-Vault-Token") != f.token {
		fail(403, "permission denied")
		return
	}
	var req map[string]string
	json.NewDecoder(r.Body).Decode(&req)
	ad, _ := base64.StdEncoding.DecodeString(req["associated_data"])
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/transit/encrypt/obscura-root"):
		pt, err := base64.StdEncoding.DecodeString(req["plaintext"])
		if err != nil {
			fail(400, "bad plaintext")
			return
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		ct := f.aead.Seal(nonce, nonce, pt, ad)
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ciphertext": "vault:v1:" + base64.StdEncoding.EncodeToString(ct)}})
	case strings.HasPrefix(r.URL.Path, "/v1/transit/decrypt/obscura-root"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(req["ciphertext"], "vault:v1:"))
		if err != nil || len(raw) < 12 {
			fail(400, "invalid ciphertext")
			return
		}
		pt, err := f.aead.Open(nil, raw[:12], raw[12:], ad)
		if err != nil {
			fail(400, "cipher: message authentication failed")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}})
	default:
		fail(404, "no handler for route")
	}
}

func keyringOver(t *testing.T, ctx context.Context, uri string, opt rootkey.RemoteRootOptions) (*Keyring, *sqlite.Store, error) {
	t.Helper()
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(t.TempDir(), "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, err := rootkey.RemoteRoot(ctx, uri, opt)
	if err != nil {
		return nil, st, err
	}
	kr, err := New(ctx, root, st, clock.System{}, quiet, Options{CacheTTL: time.Nanosecond})
	return kr, st, err
}

func exerciseRemote(t *testing.T, ctx context.Context, kr *Keyring, st *sqlite.Store) {
	t.Helper()
	now := time.Now()
	if err := st.CreateTenant(ctx, store.Tenant{ID: "tv", Name: "tv", CreatedAt: now}, store.APIKey{ID: "kv", TenantID: "tv", SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := kr.InitTenant(ctx, "tv"); err != nil {
		t.Fatal(err)
	}
	s := Scope{Tenant: "tv", Subject: kr.SubjectHash("alice"), Purpose: "tagging"}
	id, a, err := kr.ScopeKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := a.Encrypt([]byte("dek"), nil)
	b, err := kr.ScopeKeyByID(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Decrypt(ct, nil); err != nil || string(pt) != "dek" {
		t.Fatalf("round trip through remote root: %v", err)
	}
	if err := kr.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestVaultTransitRoot(t *testing.T) {
	ctx := context.Background()
	fake := newFakeTransit("s.test-token")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	uri := "hcvault://" + strings.TrimPrefix(srv.URL, "http://") + "/transit/keys/obscura-root"
	kr, st, err := keyringOver(t, ctx, uri, rootkey.RemoteRootOptions{VaultAddr: srv.URL, VaultToken: "s.test-token", VaultRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	exerciseRemote(t, ctx, kr, st)
	if fake.calls.Load() == 0 {
		t.Fatal("the fake Transit server was never called")
	}
	// Vault down: fail closed.
	srv.Close()
	if err := kr.Ping(ctx); !errors.Is(err, fault.Unavailable) {
		t.Errorf("Ping with Vault down: %v", err)
	}
	s := Scope{Tenant: "tv", Subject: kr.SubjectHash("bob")}
	if _, _, err := kr.ScopeKey(ctx, s); !errors.Is(err, fault.Unavailable) {
		t.Errorf("new scope key with Vault down: %v, want Unavailable", err)
	}

	// Wrong token: refused at start.
	srv2 := httptest.NewServer(fake)
	defer srv2.Close()
	if _, _, err := keyringOver(t, ctx, uri, rootkey.RemoteRootOptions{VaultAddr: srv2.URL, VaultToken: "wrong", VaultRetries: -1}); !errors.Is(err, fault.Unavailable) {
		t.Errorf("wrong Vault token: %v, want Unavailable", err)
	}
}

// TestRealVault runs against a real Vault when VAULT_ADDR and VAULT_TOKEN are
// set and a transit key "obscura-root" exists. Vault is not installable in
// this build environment, so CI skips it; the fake above covers the wiring.
func TestRealVault(t *testing.T) {
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Skip("VAULT_ADDR/VAULT_TOKEN not set")
	}
	ctx := context.Background()
	host := strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	kr, st, err := keyringOver(t, ctx, "hcvault://"+host+"/transit/keys/obscura-root", rootkey.RemoteRootOptions{VaultAddr: addr, VaultToken: token})
	if err != nil {
		t.Fatal(err)
	}
	exerciseRemote(t, ctx, kr, st)
}

func TestGCPKMSRootConfig(t *testing.T) {
	ctx := context.Background()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, `{"error":{"code":503,"message":"unavailable"}}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	root, err := rootkey.RemoteRoot(ctx, "gcp-kms://projects/p/locations/global/keyRings/r/cryptoKeys/k",
		rootkey.RemoteRootOptions{GCPOptions: []option.ClientOption{option.WithEndpoint(srv.URL), option.WithoutAuthentication()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Encrypt([]byte("x"), []byte("ad")); err == nil {
		t.Fatal("encrypt against a failing KMS succeeded")
	}
	if hits.Load() == 0 {
		t.Error("the GCP KMS client never reached the configured endpoint")
	}
}

func TestAWSKMSRootConfig(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := rootkey.RemoteRoot(context.Background(), "aws-kms://arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", rootkey.RemoteRootOptions{}); err != nil {
		t.Fatalf("valid AWS KMS URI: %v", err)
	}
}

func TestRemoteRootRejects(t *testing.T) {
	for _, uri := range []string{
		"", "local", "file:///etc/passwd", "hcvault://", "hcvault://host", "hcvault://host/notransit",
		"aws-kms://not-an-arn", "gcp-kms://", "https://user:secret@kms.example.com",
	} {
		_, err := rootkey.RemoteRoot(context.Background(), uri, rootkey.RemoteRootOptions{})
		if !errors.Is(err, fault.Invalid) {
			t.Errorf("rootkey.RemoteRoot(%q) = %v, want Invalid", uri, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error echoes a credential: %v", err)
		}
	}
}
