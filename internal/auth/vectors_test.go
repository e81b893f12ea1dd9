package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/store"
)

// vectorHasher answers only the (domain, id) pairs a vector names; the PRF
// itself is checked against the same values by the keyring's keys-v1 vectors.
type vectorHasher map[[2]string]string

func (h vectorHasher) HashID(domain, id string) string { return h[[2]string{domain, id}] }

// TestAPIKeyV1Vectors checks ParseKey and Authenticate against
// docs/spec/api-key-v1.md vectors generated from the spec alone
// (internal/keyring/testdata/gen_vectors.py): the stored id, secret, decoded
// bytes and secret hash for the valid keys, and rejection of each malformed one.
func TestAPIKeyV1Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/api-key-v1-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Valid []struct {
			Name       string `json:"name"`
			Key        string `json:"key"`
			StoredID   string `json:"stored_id"`
			Secret     string `json:"secret"`
			KeyIDHex   string `json:"key_id_hex"`
			SecretHex  string `json:"secret_hex"`
			SecretHash string `json:"secret_hash"`
		} `json:"valid"`
		Invalid []struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"invalid"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) < 2 || len(v.Invalid) < 10 {
		t.Fatalf("vectors missing: %d valid, %d invalid", len(v.Valid), len(v.Invalid))
	}
	h := vectorHasher{}
	m := memKeys{keys: map[string]store.APIKey{}, tenants: map[string]bool{"t1": true}}
	for _, tt := range v.Valid {
		h[[2]string{hashDomain, tt.Secret}] = tt.SecretHash
		m.keys[tt.StoredID] = store.APIKey{ID: tt.StoredID, TenantID: "t1", SecretHash: []byte(tt.SecretHash), Scopes: []string{"admin"}}
	}
	a := New(m, h, clock.System{})
	for _, tt := range v.Valid {
		t.Run(tt.Name, func(t *testing.T) {
			if len(tt.Key) != 77 {
				t.Errorf("vector key is %d bytes", len(tt.Key))
			}
			id, secret, err := ParseKey(tt.Key)
			if err != nil || id != tt.StoredID || secret != tt.Secret {
				t.Fatalf("ParseKey = %q, %q, %v; want %q, %q", id, secret, err, tt.StoredID, tt.Secret)
			}
			for _, c := range []struct{ enc, hex string }{{id[len("key_"):], tt.KeyIDHex}, {secret, tt.SecretHex}} {
				if b, err := b32.DecodeString(c.enc); err != nil || hex.EncodeToString(b) != c.hex {
					t.Errorf("decode %s = %x, %v; want %s", c.enc, b, err, c.hex)
				}
			}
			p, err := a.Authenticate(context.Background(), "Bearer "+tt.Key)
			if err != nil || p.KeyID != tt.StoredID || p.TenantID != "t1" {
				t.Errorf("Authenticate = %+v, %v", p, err)
			}
		})
	}
	for _, tt := range v.Invalid {
		t.Run("reject "+tt.Name, func(t *testing.T) {
			if id, secret, err := ParseKey(tt.Key); err != ErrUnauthenticated {
				t.Errorf("ParseKey(%q) = %q, %q, %v; want ErrUnauthenticated", tt.Key, id, secret, err)
			}
		})
	}
}
