package c2pa

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/c2pa/c2patest"
)

var update = flag.Bool("update", false, "rewrite testdata goldens")

func renderJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testManifest() Manifest {
	return Manifest{
		Label:      "urn:c2pa:3f1c6a52-9a3e-4b8e-8d1e-2f4b5c6d7e8f",
		InstanceID: "xmp:iid:0b5e2c8d-1f3a-4c6e-9b7d-5a4c3b2a1908",
		Generator:  GeneratorInfo{Name: "Obscura", Version: "test"},
		Title:      "meme.jpg",
		Format:     "image/jpeg",
		Parent:     &Ingredient{Title: "source photo", Format: "image/jpeg", Relationship: "parentOf", InstanceID: "obscura:src:abc"},
		Actions: []Action{{
			Action:            ActionEdited,
			SoftwareAgent:     &GeneratorInfo{Name: "Obscura meme", Version: "1"},
			DigitalSourceType: SourceComposite,
			When:              "2026-12-01T18:00:00Z",
		}},
	}
}

func pool(s *testSigner) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.ca)
	return p
}

func caPEM(s *testSigner) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Raw})
}

// tamperPixel flips a bit in the entropy-coded data just before EOI.
func tamperPixel(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)-10] ^= 0x01
	return out
}

// tamperClaim changes the claim's title in place: hashes stay, the
// signature no longer matches.
func tamperClaim(t testing.TB, b []byte) []byte {
	out := bytes.Clone(b)
	i := bytes.Index(out, []byte("meme.jpg"))
	if i < 0 {
		t.Fatal("title not found")
	}
	out[i] = 'n'
	return out
}

func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := newTestSigner(t, now)
	signed, err := Sign(ctx, renderJPEG(t, 320, 200), testManifest(), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(signed)); err != nil {
		t.Fatalf("signed file no longer decodes: %v", err)
	}
	other := newTestSigner(t, now)
	tests := []struct {
		name  string
		file  []byte
		roots *x509.CertPool
		at    time.Time
		want  []string
	}{
		{"valid", signed, pool(s), now, nil},
		{"pixel tampered", tamperPixel(signed), pool(s), now, []string{StatusDataHashMismatch}},
		{"claim tampered", tamperClaim(t, signed), pool(s), now, []string{StatusSignatureMismatch}},
		{"other anchor", signed, pool(other), now, []string{StatusCredentialUntrusted}},
		{"no anchor", signed, nil, now, []string{StatusCredentialUntrusted}},
		{"expired", signed, pool(s), now.Add(48 * time.Hour), []string{StatusCredentialUntrusted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Verify(tt.file, tt.roots, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Present {
				t.Fatal("manifest not found")
			}
			if !slices.Equal(r.Failures, tt.want) {
				t.Fatalf("failures = %v, want %v", r.Failures, tt.want)
			}
			if r.Valid != (tt.want == nil) {
				t.Fatalf("valid = %v", r.Valid)
			}
			if tt.want == nil {
				if r.Signer != "Test signer" || len(r.Actions) != 2 || r.Actions[0].Action != ActionOpened ||
					r.Actions[1].Action != ActionEdited || r.Parent == nil || r.CreatedAt.IsZero() {
					t.Fatalf("result = %+v", r)
				}
			}
		})
	}
	// Re-signing replaces the store instead of adding one.
	again, err := Sign(ctx, signed, testManifest(), s)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := Verify(again, pool(s), now); !r.Valid || bytes.Count(again, []byte("c2pa.claim.v2")) != 1 {
		t.Fatalf("re-signed: %+v", r)
	}
	// No store: not present, no error.
	if r, err := Verify(renderJPEG(t, 16, 16), pool(s), now); err != nil || r.Present {
		t.Fatalf("unsigned: %+v %v", r, err)
	}
}

// TestLargeStoreSegments forces a store over one APP11 segment.
func TestLargeStoreSegments(t *testing.T) {
	now := time.Now()
	s := newTestSigner(t, now)
	m := testManifest()
	m.Actions[0].Description = string(bytes.Repeat([]byte("x"), 150_000))
	signed, err := Sign(context.Background(), renderJPEG(t, 64, 64), m, s)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(signed, []byte{0xFF, 0xEB}); n < 3 {
		t.Fatalf("%d APP11 markers, want >= 3", n)
	}
	r, err := Verify(signed, pool(s), now)
	if err != nil || !r.Valid {
		t.Fatalf("%+v %v", r, err)
	}
	ref := c2patest.Reader(t)
	p := filepath.Join(t.TempDir(), "large.jpg")
	os.WriteFile(p, signed, 0o600)
	if rep := ref(p, caPEM(s)); rep.ValidationState != "Trusted" || len(rep.FailureCodes()) != 0 {
		t.Fatalf("reference reader: %s", rep.Raw)
	}
}

// TestReferenceReader checks Obscura's manifests with c2pa-rs.
func TestReferenceReader(t *testing.T) {
	ref := c2patest.Reader(t)
	now := time.Now()
	s := newTestSigner(t, now)
	signed, err := Sign(context.Background(), renderJPEG(t, 320, 200), testManifest(), s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name        string
		file        []byte
		anchors     []byte
		state       string
		wantFailure string
	}{
		{"valid", signed, caPEM(s), "Trusted", ""},
		{"pixel tampered", tamperPixel(signed), caPEM(s), "Invalid", "assertion.dataHash.mismatch"},
		{"claim tampered", tamperClaim(t, signed), caPEM(s), "Invalid", "claimSignature.mismatch"},
		{"not our anchor", signed, nil, "Valid", "signingCredential.untrusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := ref(write(tt.name+".jpg", tt.file), tt.anchors)
			fails := rep.FailureCodes()
			if tt.wantFailure == "" {
				if rep.ValidationState != tt.state || len(fails) != 0 {
					t.Fatalf("state %q failures %v: %s", rep.ValidationState, fails, rep.Raw)
				}
				return
			}
			if !slices.Contains(fails, tt.wantFailure) {
				t.Fatalf("failures %v lack %s: %s", fails, tt.wantFailure, rep.Raw)
			}
		})
	}
}

// goldenSigner is deterministic: fixed keys, serials and validity, so the
// golden file is reproducible byte for byte (Ed25519 signs deterministically).
func goldenSigner(t testing.TB) *testSigner {
	seed := bytes.Repeat([]byte{7}, 32)
	caKey := ed25519.NewKeyFromSeed(seed)
	seed[0] = 8
	key := ed25519.NewKeyFromSeed(seed)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return chainSigner(t, caKey, key, "Golden", from, time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC))
}

// TestGolden: testdata/golden.jpg is what Sign makes from testdata/input.jpg
// with the golden signer; testdata/golden-claim.json is its claim.
func TestGolden(t *testing.T) {
	s := goldenSigner(t)
	in, err := os.ReadFile("testdata/input.jpg")
	if *update && err != nil {
		in = renderJPEG(t, 64, 48)
		os.WriteFile("testdata/input.jpg", in, 0o644)
	} else if err != nil {
		t.Fatal(err)
	}
	got, err := Sign(context.Background(), in, testManifest(), s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(got, pool(s), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || !r.Valid {
		t.Fatalf("%+v %v", r, err)
	}
	claim, _ := json.MarshalIndent(r.Claim, "", "  ")
	if *update {
		os.WriteFile("testdata/golden.jpg", got, 0o644)
		os.WriteFile("testdata/golden-claim.json", append(claim, '\n'), 0o644)
		os.WriteFile("testdata/golden-ca.pem", caPEM(s), 0o644)
	}
	want, _ := os.ReadFile("testdata/golden.jpg")
	if !bytes.Equal(got, want) {
		t.Fatal("Sign output differs from testdata/golden.jpg (run with -update if the format changed on purpose)")
	}
	wantClaim, _ := os.ReadFile("testdata/golden-claim.json")
	if string(append(claim, '\n')) != string(wantClaim) {
		t.Fatalf("claim = %s\nwant %s", claim, wantClaim)
	}
}
