package provenance

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/c2pa"
	"github.com/obscuraproject/obscura/internal/c2pa/c2patest"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/samples"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
)

type fixture struct {
	kit *testkit.Kit
	svc *Service
}

func newFixture(t *testing.T, tenants ...string) *fixture {
	t.Helper()
	k := testkit.New(t, nil)
	for _, id := range tenants {
		k.Tenant(t, id)
	}
	svc := New(k.Keys, k.Store, k.Clock, k.Log, Options{Version: "1.2.3"})
	if err := svc.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{k, svc}
}

// memeJPEG is a stand-in for a rendered meme: a real photo with no metadata.
func memeJPEG(t testing.TB) []byte {
	t.Helper()
	b, err := samples.FS.ReadFile("coffee.jpg")
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

func stampInput(t testing.TB, tenant string) draft.StampInput {
	return draft.StampInput{
		Tenant: tenant, Subject: "subject-marker-7f3a", SourceAsset: "ast_marker_91c2",
		Generator: draft.Generator{Feature: "meme", Name: "template:drake", Version: "lib-3"},
		JPEG:      memeJPEG(t),
	}
}

// TestStampVerify runs the draft flow with the stamper wired as the
// composition root wires it: create, read back, accept, verify.
func TestStampVerify(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "acme", "beta")
	drafts := draft.New(draft.Deps{Store: f.kit.Store, Objects: f.kit.Objects, Hash: f.kit.Keys, Clock: f.kit.Clock, Stamper: f.svc})
	subj := f.kit.Keys.HashID("subject", "subject-marker-7f3a")
	d, err := drafts.Create(ctx, draft.CreateInput{Tenant: "acme", Subject: subj, SourceAsset: "ast_marker_91c2", Purpose: "meme_generation",
		Generator: draft.Generator{Feature: "meme", Name: "template:drake", Version: "lib-3"}, JPEG: memeJPEG(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.GenerationID) != 16 {
		t.Fatalf("generation id %q", d.GenerationID)
	}
	stamped, err := drafts.Image(ctx, "acme", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Verify(ctx, "acme", stamped)
	if err != nil {
		t.Fatal(err)
	}
	if !v.C2PA.Present || !v.C2PA.Valid || !slices.Equal(v.C2PA.Actions, []string{"c2pa.opened", "c2pa.edited"}) ||
		v.C2PA.CreatedAt == nil || !strings.HasPrefix(v.C2PA.Signer, "Obscura signer ") {
		t.Fatalf("c2pa = %+v", v.C2PA)
	}
	if !v.Watermark.Found || v.Watermark.AssetID != "" {
		t.Fatalf("draft watermark = %+v", v.Watermark)
	}
	// Accepted: the asset keeps the same signed bytes, and verify names it.
	a, err := drafts.Accept(ctx, "acme", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, _ = f.svc.Verify(ctx, "acme", stamped)
	if !v.C2PA.Valid || v.Watermark.AssetID != a.ID {
		t.Fatalf("accepted: %+v, want asset %s", v, a.ID)
	}
	// Another tenant: the manifest is this installation's, the watermark
	// is not theirs.
	v, _ = f.svc.Verify(ctx, "beta", stamped)
	if !v.C2PA.Valid || v.Watermark.Found || v.Watermark.AssetID != "" {
		t.Fatalf("other tenant: %+v", v)
	}
	// PNG conversion drops the manifest; the watermark stays.
	img, _ := jpeg.Decode(bytes.NewReader(stamped))
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, img)
	v, err = f.svc.Verify(ctx, "acme", pngBuf.Bytes())
	if err != nil || v.C2PA.Present || !v.Watermark.Found || v.Watermark.AssetID != a.ID {
		t.Fatalf("png: %+v %v", v, err)
	}
	// A changed pixel byte: the manifest no longer validates.
	bad := bytes.Clone(stamped)
	bad[len(bad)-20] ^= 0x10
	v, err = f.svc.Verify(ctx, "acme", bad)
	if err != nil || !v.C2PA.Present || v.C2PA.Valid || !slices.Contains(v.C2PA.Failures, "assertion.dataHash.mismatch") {
		t.Fatalf("tampered: %+v %v", v.C2PA, err)
	}
	// Not an image.
	if _, err := f.svc.Verify(ctx, "acme", []byte("hello")); !errors.Is(err, fault.Invalid) {
		t.Fatalf("garbage: %v", err)
	}
	// An unmarked photo: nothing found.
	v, err = f.svc.Verify(ctx, "acme", memeJPEG(t))
	if err != nil || v.C2PA.Present || v.Watermark.Found {
		t.Fatalf("unmarked: %+v %v", v, err)
	}
}

func TestWatermarkSetting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "acme")
	if err := f.svc.SetWatermark(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.Stamp(ctx, stampInput(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	if out.GenerationID != "" {
		t.Fatalf("generation id %q with the watermark off", out.GenerationID)
	}
	v, _ := f.svc.Verify(ctx, "acme", out.JPEG)
	if !v.C2PA.Valid || v.Watermark.Found {
		t.Fatalf("%+v", v)
	}
}

func TestRevocationAndRotation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "acme")
	first, err := f.svc.Stamp(ctx, stampInput(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	// Rotating the CA keeps old images valid and signs new ones under v2.
	if v, err := f.svc.RotateCA(ctx); err != nil || v != 2 {
		t.Fatalf("RotateCA = %d, %v", v, err)
	}
	if v, _ := f.svc.Verify(ctx, "acme", first.JPEG); !v.C2PA.Valid {
		t.Fatalf("old image after CA rotation: %+v", v.C2PA)
	}
	// Revoking the tenant's certificate invalidates what it signed; the
	// next stamp gets a new certificate.
	if err := f.svc.Revoke(ctx, "acme", 1); err != nil {
		t.Fatal(err)
	}
	v, _ := f.svc.Verify(ctx, "acme", first.JPEG)
	if v.C2PA.Valid || !slices.Contains(v.C2PA.Failures, "signingCredential.revoked") {
		t.Fatalf("revoked: %+v", v.C2PA)
	}
	second, err := f.svc.Stamp(ctx, stampInput(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Verify(ctx, "acme", second.JPEG); !v.C2PA.Valid {
		t.Fatalf("after re-issue: %+v", v.C2PA)
	}
	// Revoking the CA version 1 invalidates nothing signed under v2 only.
	if err := f.svc.Revoke(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Verify(ctx, "acme", second.JPEG); !v.C2PA.Valid {
		t.Fatalf("v2-signed after CA v1 revoked: %+v", v.C2PA)
	}
	if err := f.svc.Revoke(ctx, "acme", 9); !errors.Is(err, fault.NotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
}

// TestReferenceReader: a stamped meme validates in c2pa-rs with the
// installation CA as its only trust anchor, with no failure codes.
func TestReferenceReader(t *testing.T) {
	ref := c2patest.Reader(t)
	ctx := context.Background()
	f := newFixture(t, "acme")
	out, err := f.svc.Stamp(ctx, stampInput(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := f.svc.CAPEM(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "meme.jpg")
	os.WriteFile(p, out.JPEG, 0o600)
	rep := ref(p, ca)
	if rep.ValidationState != "Trusted" || len(rep.FailureCodes()) != 0 {
		t.Fatalf("c2pa-rs: %s", rep.Raw)
	}
	for _, want := range []string{`"c2pa.opened"`, `"c2pa.edited"`, `"parentOf"`, "Obscura/1.2.3 meme template:drake", "digitalsourcetype/composite"} {
		if !bytes.Contains(rep.Raw, []byte(want)) {
			t.Errorf("c2pa-rs report lacks %s", want)
		}
	}
}

// TestLeakScan: the stamped file carries no subject id, tenant id or name,
// source asset id, or the subject's keyed hash — only keyed per-tenant
// hashes that mean nothing outside this installation.
func TestLeakScan(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "tenant-marker-5d1e")
	in := stampInput(t, "tenant-marker-5d1e")
	out, err := f.svc.Stamp(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := f.kit.Store.Tenant(ctx, in.Tenant)
	for _, secret := range []string{in.Subject, in.Tenant, tn.Name, in.SourceAsset, out.GenerationID} {
		for _, form := range []string{secret, strings.ToUpper(secret)} {
			if bytes.Contains(out.JPEG, []byte(form)) {
				t.Errorf("stamped file contains %q", form)
			}
		}
	}
	// The ingredient id differs per tenant for the same source asset.
	if f.svc.IngredientID("a", "x") == f.svc.IngredientID("b", "x") {
		t.Error("ingredient id is linkable across tenants")
	}
}

func TestStampRejects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "acme")
	in := stampInput(t, "acme")
	in.JPEG = []byte("not a jpeg")
	if _, err := f.svc.Stamp(ctx, in); !errors.Is(err, fault.Invalid) {
		t.Fatalf("garbage: %v", err)
	}
	small := image.NewRGBA(image.Rect(0, 0, 10, 10))
	var buf bytes.Buffer
	jpeg.Encode(&buf, small, nil)
	in.JPEG = buf.Bytes()
	// Too small for the mark: signed, not watermarked.
	out, err := f.svc.Stamp(ctx, in)
	if err != nil || out.GenerationID != "" {
		t.Fatalf("tiny: %q %v", out.GenerationID, err)
	}
	if v, _ := f.svc.Verify(ctx, "acme", out.JPEG); !v.C2PA.Valid {
		t.Fatalf("tiny: %+v", v.C2PA)
	}
	in = stampInput(t, "nobody")
	if _, err := f.svc.Stamp(ctx, in); err == nil {
		t.Fatal("unknown tenant stamped")
	}
}

// TestIngestRecordsProvenance: an upload of a stamped image is stored
// stripped (no manifest left), and the asset records that a valid manifest
// and this tenant's watermark were present; a plain photo records nothing.
func TestIngestRecordsProvenance(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "acme", "beta")
	up := upload.New(upload.DefaultConfig(), f.kit.Store, f.kit.Objects, f.kit.Keys, upload.NewCodec(f.kit.Keys.TokenAEAD()), f.kit.Clock).WithInspector(f.svc)
	out, err := f.svc.Stamp(ctx, stampInput(t, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tenant     string
		file             []byte
		manifest, marked bool
	}{
		{"stamped, own tenant", "acme", out.JPEG, true, true},
		{"stamped, other tenant", "beta", out.JPEG, true, false},
		{"plain photo", "acme", memeJPEG(t), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := up.Ingest(ctx, tt.tenant, "someone", tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := f.svc.AssetProvenance(ctx, tt.tenant, a.ID)
			if err != nil || p.Manifest != tt.manifest || p.Watermark != tt.marked {
				t.Fatalf("AssetProvenance = %+v, %v; want manifest %v watermark %v", p, err, tt.manifest, tt.marked)
			}
			stored, err := up.Photo(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if loc, err := c2pa.FindStore(stored); err != nil || loc != nil {
				t.Fatalf("stored photo still carries a manifest (%v)", err)
			}
		})
	}
}
