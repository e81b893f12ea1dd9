package consent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
)

var update = flag.Bool("update", false, "regenerate testdata/receipt-vectors.json")

type fixture struct {
	svc     *Service
	kr      *keyring.Keyring
	objects *sealed.Store
	st      store.Backend
	clk     *clock.Fake
	purger  *flakyPurger
}

// flakyPurger fails while failing is set, to simulate a crash mid-purge.
type flakyPurger struct {
	s       *sealed.Store
	failing bool
}

func (f *flakyPurger) Shred(ctx context.Context, tenant, subject, purpose string) (int, error) {
	if f.failing {
		return 0, fault.New(fault.Unavailable, "blob store unavailable")
	}
	return f.s.Shred(ctx, tenant, subject, purpose)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	k.Tenant(t, "ten_b")
	p := &flakyPurger{s: k.Objects}
	return &fixture{svc: New(k.Store, k.Keys, p, k.Clock, k.Log), kr: k.Keys, objects: k.Objects, st: k.Store, clk: k.Clock, purger: p}
}

func TestGateFailsClosed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := f.kr.SubjectHash("alice")
	check := func(tenant, purpose string, want bool) {
		t.Helper()
		err := f.svc.Require(ctx, tenant, h, purpose)
		if want && err != nil {
			t.Errorf("%s/%s: refused: %v", tenant, purpose, err)
		}
		var re *RequiredError
		if !want && (!errors.Is(err, fault.ConsentRequired) || !errors.As(err, &re) || re.Purpose != purpose) {
			t.Errorf("%s/%s: err = %v, want consent_required naming the purpose", tenant, purpose, err)
		}
	}
	check("ten_a", "tagging", false) // never granted
	if _, err := f.svc.Grant(ctx, "ten_a", "alice", Grant{Purpose: "tagging", Notice: "v1"}); err != nil {
		t.Fatal(err)
	}
	check("ten_a", "tagging", true)
	check("ten_a", "face_recognition", false) // biometric is never implied
	check("ten_b", "tagging", false)          // another tenant's grant counts for nothing
	// Expiry counts as none.
	if _, err := f.svc.Grant(ctx, "ten_a", "alice", Grant{Purpose: "text_detection", Notice: "v1", ExpiresAt: f.clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	check("ten_a", "text_detection", true)
	f.clk.Advance(time.Hour)
	check("ten_a", "text_detection", false)
	states, _, _ := f.svc.List(ctx, "ten_a", "alice")
	for _, s := range states {
		if s.Purpose == "text_detection" && s.State != "expired" {
			t.Errorf("listed state %q, want expired", s.State)
		}
	}
	// Bad requests.
	for _, g := range []Grant{{Purpose: "mind_reading", Notice: "v1"}, {Purpose: "tagging"}, {Purpose: "tagging", Notice: "v1", ExpiresAt: f.clk.Now().Add(-time.Second)}, {Purpose: "plugin:Bad Name", Notice: "v1"}} {
		if _, err := f.svc.Grant(ctx, "ten_a", "alice", g); !errors.Is(err, fault.Invalid) {
			t.Errorf("Grant(%+v) = %v, want Invalid", g, err)
		}
	}
	if _, err := f.svc.Grant(ctx, "ten_a", "alice", Grant{Purpose: "plugin:sticker-pack", Notice: "v1"}); err != nil {
		t.Errorf("plugin purpose: %v", err)
	}
}

func TestRevokePurgesAndResumes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := f.kr.SubjectHash("alice")
	for _, p := range []string{"face_recognition", "tagging"} {
		if _, err := f.svc.Grant(ctx, "ten_a", "alice", Grant{Purpose: p, Notice: "v2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.objects.Put(ctx, sealed.Ref{Tenant: "ten_a", Subject: h, Purpose: p, Object: "res_1"}, strings.NewReader("derived by "+p)); err != nil {
			t.Fatal(err)
		}
	}
	// The purge fails (as if the process died): consent is revoked anyway, the purge stays journaled.
	f.purger.failing = true
	if _, err := f.svc.Revoke(ctx, "ten_a", "alice", "face_recognition"); !errors.Is(err, fault.Unavailable) {
		t.Fatalf("revoke with failing purge: %v", err)
	}
	if err := f.svc.Require(ctx, "ten_a", h, "face_recognition"); !errors.Is(err, fault.ConsentRequired) {
		t.Errorf("gate after revoke: %v", err)
	}
	if ps, _ := f.st.PendingPurges(ctx); len(ps) != 1 {
		t.Fatalf("pending purges: %+v", ps)
	}
	// "Restart": the journal drives the purge to completion.
	f.purger.failing = false
	if n, err := f.svc.ResumePurges(ctx); err != nil || n != 1 {
		t.Fatalf("ResumePurges = %d, %v", n, err)
	}
	if _, err := f.objects.ReadAll(ctx, sealed.Ref{Tenant: "ten_a", Subject: h, Purpose: "face_recognition", Object: "res_1"}, 1<<20); err == nil {
		t.Error("biometric derived data survived revocation")
	}
	if got, err := f.objects.ReadAll(ctx, sealed.Ref{Tenant: "ten_a", Subject: h, Purpose: "tagging", Object: "res_1"}, 1<<20); err != nil || string(got) != "derived by tagging" {
		t.Errorf("other purpose's data lost: %v", err)
	}
	// Revoking again is idempotent: same receipt, purge re-run, no error.
	r1, err := f.svc.Revoke(ctx, "ten_a", "alice", "face_recognition")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := f.svc.Revoke(ctx, "ten_a", "alice", "face_recognition")
	if err != nil || r1.ID != r2.ID || r1.Action != ActionRevoke {
		t.Errorf("second revoke: %v, ids %s %s", err, r1.ID, r2.ID)
	}
	if _, err := f.svc.Revoke(ctx, "ten_a", "alice", "analytics"); !errors.Is(err, fault.NotFound) {
		t.Errorf("revoking a never-granted purpose: %v", err)
	}
	// The whole chain verifies with the served public key.
	_, rs, err := f.svc.List(ctx, "ten_a", "alice")
	if err != nil || len(rs) != 3 {
		t.Fatalf("receipts: %d, %v", len(rs), err)
	}
	pub, _ := f.svc.PublicKey(ctx, "ten_a")
	if err := Verify(rs, pub); err != nil {
		t.Errorf("chain does not verify: %v", err)
	}
	for _, r := range rs {
		if r.Subject != h || strings.Contains(r.Subject, "alice") {
			t.Errorf("receipt names the subject: %+v", r)
		}
	}
	otherPub, _ := f.svc.PublicKey(ctx, "ten_b")
	if err := Verify(rs, otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verified with tenant B's key: %v", err)
	}
}

// --- vectors ----------------------------------------------------------------

type receiptVector struct {
	Name      string    `json:"name"`
	Receipts  []Receipt `json:"receipts"`
	BadIndex  int       `json:"bad_index"` // -1: valid
	BadReason string    `json:"bad_reason,omitempty"`
}

var vectorSeed = []byte("obscura consent receipt vectors!") // 32 bytes

func signChain(rs []Receipt, priv ed25519.PrivateKey) []Receipt {
	prev := ""
	for i := range rs {
		rs[i].PrevHash = prev
		rs[i].Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, rs[i].SigningBytes()))
		prev = rs[i].Hash()
	}
	return rs
}

func TestReceiptVectors(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(vectorSeed)
	pub := priv.Public().(ed25519.PublicKey)
	const file = "testdata/receipt-vectors.json"
	if *update {
		base := func() []Receipt {
			mk := func(id, purpose, action, tm string) Receipt {
				return Receipt{Version: 1, ID: id, Tenant: "ten_vectors", Subject: "subjecthash00000000000000000000aa", Purpose: purpose,
					Notice: "v3", Action: action, Method: "api", Time: tm}
			}
			return signChain([]Receipt{
				mk("rcpt_1", "tagging", ActionGrant, "2026-11-22T10:00:00Z"),
				mk("rcpt_2", "face_recognition", ActionGrant, "2026-11-22T10:01:00Z"),
				mk("rcpt_3", "face_recognition", ActionRevoke, "2026-11-22T10:02:00Z"),
			}, priv)
		}
		modified := base()
		modified[1].Purpose = "tagging"
		deleted := base()
		deleted = append(deleted[:1], deleted[2])
		reordered := base()
		reordered[1], reordered[2] = reordered[2], reordered[1]
		inserted := base()
		foreign := signChain([]Receipt{{Version: 1, ID: "rcpt_x", Tenant: "ten_vectors", Subject: "subjecthash00000000000000000000aa", Purpose: "analytics", Notice: "v3", Action: ActionGrant, Method: "api", Time: "2026-11-22T10:01:30Z"}}, priv)[0]
		inserted = append(inserted[:2], append([]Receipt{foreign}, inserted[2:]...)...)
		badSig := base()
		badSig[2].Signature = base64.StdEncoding.EncodeToString(make([]byte, 64))
		otherSubject := base()
		otherSubject[2].Subject = "subjecthash00000000000000000000bb"
		otherSubject = signChain(otherSubject, priv)
		unknownAction := signChain(func() []Receipt { r := base(); r[0].Action = "maybe"; return r }(), priv)
		vs := []receiptVector{
			{Name: "valid", Receipts: base(), BadIndex: -1},
			{Name: "modified_field", Receipts: modified, BadIndex: 1, BadReason: "signature"},
			{Name: "deleted_receipt", Receipts: deleted, BadIndex: 1, BadReason: "chain"},
			{Name: "reordered", Receipts: reordered, BadIndex: 1, BadReason: "chain"},
			{Name: "inserted_receipt", Receipts: inserted, BadIndex: 2, BadReason: "chain"},
			{Name: "bad_signature", Receipts: badSig, BadIndex: 2, BadReason: "signature"},
			{Name: "other_subject_spliced", Receipts: otherSubject, BadIndex: 2, BadReason: "chain"},
			{Name: "unknown_action", Receipts: unknownAction, BadIndex: 0, BadReason: "malformed"},
		}
		b, _ := json.MarshalIndent(map[string]any{"public_key": PublicKeyDoc{Alg: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub)}, "vectors": vs}, "", "  ")
		os.WriteFile(file, append(b, '\n'), 0o644)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		PublicKey json.RawMessage `json:"public_key"`
		Vectors   []receiptVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	k, err := ParsePublicKey(doc.PublicKey)
	if err != nil || !bytes.Equal(k, pub) {
		t.Fatalf("vector public key: %v", err)
	}
	reasons := map[string]error{"signature": ErrBadSignature, "chain": ErrBrokenChain, "malformed": ErrMalformed}
	for _, v := range doc.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			err := Verify(v.Receipts, k)
			if v.BadIndex < 0 {
				if err != nil {
					t.Fatalf("valid chain rejected: %v", err)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Index != v.BadIndex || !errors.Is(err, reasons[v.BadReason]) {
				t.Fatalf("err = %v, want index %d (%s)", err, v.BadIndex, v.BadReason)
			}
		})
	}
}

func FuzzParseAndVerify(f *testing.F) {
	raw, _ := os.ReadFile("testdata/receipt-vectors.json")
	var doc struct {
		Vectors []struct {
			Receipts json.RawMessage `json:"receipts"`
		} `json:"vectors"`
	}
	json.Unmarshal(raw, &doc)
	for _, v := range doc.Vectors {
		f.Add([]byte(v.Receipts))
	}
	f.Add([]byte(`{"receipts":[]}`))
	pub := ed25519.NewKeyFromSeed(vectorSeed).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseReceipts(data)
		if err != nil {
			return
		}
		if err := Verify(rs, pub); err == nil && len(rs) > 0 {
			// Accepted chains re-encode and verify again identically.
			b, _ := json.Marshal(rs)
			again, err := ParseReceipts(b)
			if err != nil || Verify(again, pub) != nil {
				t.Fatalf("accepted chain does not round-trip: %v", err)
			}
		}
	})
}

// TestGrantExpiryStoredAsSigned is the regression for dates past 2262
// wrapping in the store (expires_at 9999-12-31 was stored as 1816 while the
// receipt said 9999), and for sub-second expiries the receipt rounds: the
// stored state and the signed receipt must say the same instant.
func TestGrantExpiryStoredAsSigned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, far := range []time.Time{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC), clock.MaxTime.Add(time.Second)} {
		if _, err := f.svc.Grant(ctx, "ten_a", "zoe", Grant{Purpose: "tagging", Notice: "v1", ExpiresAt: far}); !errors.Is(err, fault.Invalid) {
			t.Errorf("expires_at %s: err = %v, want Invalid", far, err)
		}
	}
	exp := f.clk.Now().Add(48*time.Hour + 700*time.Millisecond)
	r, err := f.svc.Grant(ctx, "ten_a", "zoe", Grant{Purpose: "tagging", Notice: "v1", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	states, _, err := f.svc.List(ctx, "ten_a", "zoe")
	if err != nil || len(states) != 1 || states[0].ExpiresAt == nil {
		t.Fatalf("states %+v, %v", states, err)
	}
	if got := states[0].ExpiresAt.UTC().Format(time.RFC3339Nano); got != r.Expires {
		t.Errorf("stored expiry %s, receipt says %s", got, r.Expires)
	}
}

// RequireEach names every purpose without consent, in the order asked,
// once each; with all granted it passes.
func TestRequireEachNamesEveryMissingPurpose(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := f.kr.SubjectHash("alice")
	if _, err := f.svc.Grant(ctx, "ten_a", "alice", Grant{Purpose: "tagging", Notice: "v1"}); err != nil {
		t.Fatal(err)
	}
	err := RequireEach(ctx, f.svc, "ten_a", h, []string{"face_detection", "tagging", "text_detection", "face_detection"})
	var re *RequiredError
	if !errors.As(err, &re) || !errors.Is(err, fault.ConsentRequired) || re.Purpose != "face_detection" ||
		strings.Join(re.Missing(), ",") != "face_detection,text_detection" {
		t.Fatalf("RequireEach = %v (%+v), want both missing purposes named", err, re)
	}
	if err := RequireEach(ctx, f.svc, "ten_a", h, []string{"tagging"}); err != nil {
		t.Errorf("all granted: %v", err)
	}
}

// TestParseReceiptsIsStrict: member names are matched exactly (Go's decoder
// alone would accept "Purpose" for "purpose"), unknown and duplicate members
// are rejected.
func TestParseReceiptsIsStrict(t *testing.T) {
	const ok = `{"v":1,"receipt_id":"rcpt_1","tenant":"t","subject_hash":"s","purpose":"tagging","notice_version":"v1","action":"grant","method":"api","time":"2026-11-22T10:00:00Z","prev_hash":"","signature":""}`
	if _, err := ParseReceipts([]byte("[" + ok + "]")); err != nil {
		t.Fatalf("well-formed receipt rejected: %v", err)
	}
	tests := []struct{ name, in string }{
		{"other case", strings.Replace(ok, `"purpose"`, `"Purpose"`, 1)},
		{"unknown member", strings.Replace(ok, `{"v":1`, `{"v":1,"admin":true`, 1)},
		{"duplicate member", strings.Replace(ok, `"purpose":"tagging"`, `"purpose":"analytics","purpose":"tagging"`, 1)},
		{"not an object", `[1]`},
		{"wrapper in other case", `{"Receipts":[` + ok + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if !strings.HasPrefix(in, "[") && !strings.HasPrefix(in, `{"Receipts"`) {
				in = "[" + in + "]"
			}
			if _, err := ParseReceipts([]byte(in)); !errors.Is(err, ErrMalformed) {
				t.Errorf("accepted: %v", err)
			}
		})
	}
}

// TestSigningBytesEscaping pins the exact string escaping the signature
// covers (docs/spec/consent-receipt-v1.md), for non-ASCII and control
// characters where RFC 8259 allows several forms.
func TestSigningBytesEscaping(t *testing.T) {
	r := Receipt{Version: 1, ID: "rcpt_x", Tenant: "t", Subject: "s", Purpose: "tagging",
		Notice: "caf\u00e9 <&> \u2028\u2029 \b\f\n\r\t\x01\x1f\x7f \"/\\ \U0001F600", Action: ActionGrant, Method: "api", Time: "2026-11-22T10:00:00Z"}
	want := "obscura-consent-receipt-v1\n" +
		`{"v":1,"receipt_id":"rcpt_x","tenant":"t","subject_hash":"s","purpose":"tagging",` +
		`"notice_version":"café \u003c\u0026\u003e \u2028\u2029 \b\f\n\r\t\u0001\u001f` + "\x7f" + ` \"/\\ ` + "\U0001F600" + `",` +
		`"action":"grant","method":"api","time":"2026-11-22T10:00:00Z","prev_hash":""}`
	if got := string(r.SigningBytes()); got != want {
		t.Errorf("signing bytes\n got %q\nwant %q", got, want)
	}
}

// TestPluginPurposeNeedsAnInstalledPlugin: with the plugin registry
// wired, plugin:<name> is grantable only for an installed plugin.
func TestPluginPurposeNeedsAnInstalledPlugin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.PluginNotice = func(_ context.Context, name string) (string, error) {
		if name == "face-blur" {
			return "Redacts faces.", nil
		}
		return "", fault.New(fault.NotFound, "no such plugin")
	}
	if _, err := f.svc.Grant(ctx, "ten_a", "zoe", Grant{Purpose: "plugin:face-blur", Notice: "v1"}); err != nil {
		t.Errorf("installed plugin: %v", err)
	}
	if _, err := f.svc.Grant(ctx, "ten_a", "zoe", Grant{Purpose: "plugin:nosuch", Notice: "v1"}); !errors.Is(err, fault.NotFound) {
		t.Errorf("plugin not installed: %v, want NotFound", err)
	}
	if _, err := f.svc.Grant(ctx, "ten_a", "zoe", Grant{Purpose: "tagging", Notice: "v1"}); err != nil {
		t.Errorf("a built-in purpose: %v", err)
	}
}
