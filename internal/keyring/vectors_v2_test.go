package keyring

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	gcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/keyring/shreddir"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

type v2Vector struct {
	Name         string `json:"name"`
	Tenant       string `json:"tenant"`
	SubjectHash  string `json:"subject_hash"`
	Purpose      string `json:"purpose"`
	ScopeKeyID   string `json:"scope_key_id"`
	Label        string `json:"label"`
	ShredKeyName string `json:"shred_key_name"`
	ShredFileHex string `json:"shred_file_hex"`
	AADHex       string `json:"aad_hex"`
	ScopeKeyHex  string `json:"scope_key_hex"`
	WrappedHex   string `json:"wrapped_hex"`
}

// TestKeysV2Vectors checks the keys-v2 layout (docs/spec/keys-v2.md)
// against vectors generated from the spec alone (testdata/gen_vectors_v2.py,
// Python AES-GCM): the shred key file under the root, the scope-key AAD, and
// the double wrapping open to the exact key; each invalid vector (one changed
// field or damaged byte) does not open.
func TestKeysV2Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/keys-v2-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Root    string     `json:"root_aes256gcm_key_hex"`
		KEK     string     `json:"kek_aes256gcm_key_hex"`
		KEKID   uint32     `json:"kek_tink_key_id"`
		Valid   []v2Vector `json:"valid"`
		Invalid []v2Vector `json:"invalid"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) < 2 || len(v.Invalid) < 8 {
		t.Fatalf("vectors missing")
	}
	ctx := context.Background()
	dir := t.TempDir()
	root, err := subtle.NewAESGCM(unhex(t, v.Root))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(dir, "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sd, err := shreddir.Open(filepath.Join(dir, "shred"))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	kr, err := New(ctx, root, st, clk, quiet, Options{CacheTTL: time.Hour, Shred: sd})
	if err != nil {
		t.Fatal(err)
	}
	kek, err := aead.New(vectorKeyset(t, "type.googleapis.com/google.crypto.tink.AesGcmKey",
		&gcmpb.AesGcmKey{KeyValue: unhex(t, v.KEK)}, v.KEKID, tinkpb.OutputPrefixType_TINK))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: "ten_a", Name: "v", CreatedAt: clk.Now()},
		store.APIKey{ID: "key_a", TenantID: "ten_a", SecretHash: []byte{1}, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := kr.InitTenant(ctx, "ten_a"); err != nil {
		t.Fatal(err)
	}
	kr.cache[kekRef{"ten_a", 1}] = cachedKEK{aead: kek, expires: clk.Now().Add(time.Hour)}
	for _, tt := range v.Valid {
		if got := shredDir(tt.Tenant, shredBucket(tt.SubjectHash)) + tt.Label; got != tt.ShredKeyName {
			t.Errorf("shred key name = %s, want %s", got, tt.ShredKeyName)
		}
		if err := sd.Put(ctx, tt.ShredKeyName, bytes.NewReader(unhex(t, tt.ShredFileHex))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range v.Valid {
		t.Run("open "+tt.Name, func(t *testing.T) {
			s := Scope{Tenant: tt.Tenant, Subject: tt.SubjectHash, Purpose: tt.Purpose}
			if got := hex.EncodeToString(scopeAADv2(s, tt.ScopeKeyID, tt.Label)); got != tt.AADHex {
				t.Errorf("scopeAADv2 = %s, want %s", got, tt.AADHex)
			}
			key, err := kr.unwrap(ctx, s, store.ScopeKey{ID: tt.ScopeKeyID, KEKVersion: 1, Wrapped: unhex(t, tt.WrappedHex)}, kek)
			if err != nil || hex.EncodeToString(key) != tt.ScopeKeyHex {
				t.Errorf("unwrap = %x, %v; want %s", key, err, tt.ScopeKeyHex)
			}
			// Go's own wrapping of the same key under the same label opens too.
			w, err := kr.wrapV2(ctx, s, tt.ScopeKeyID, kek, tt.Label, unhex(t, tt.ScopeKeyHex))
			if err != nil {
				t.Fatal(err)
			}
			if l, _, ok, err := parseV2(w); !ok || err != nil || l != tt.Label {
				t.Errorf("Go wrapping header: %q %v %v", l, ok, err)
			}
			if _, err := kr.openScope(ctx, s, store.ScopeKey{ID: tt.ScopeKeyID, KEKVersion: 1, Wrapped: w}); err != nil {
				t.Errorf("Go wrapping does not open: %v", err)
			}
		})
	}
	for _, tt := range v.Invalid {
		t.Run("reject "+tt.Name, func(t *testing.T) {
			s := Scope{Tenant: tt.Tenant, Subject: tt.SubjectHash, Purpose: tt.Purpose}
			if _, err := kr.openScope(ctx, s, store.ScopeKey{ID: tt.ScopeKeyID, KEKVersion: 1, Wrapped: unhex(t, tt.WrappedHex)}); err == nil {
				t.Errorf("openScope accepted %s", tt.Name)
			}
		})
	}
}
