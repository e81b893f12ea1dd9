package wire

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// The derived-data registry's test: it enumerates the kinds serve
// registers (RegisterKinds) and proves, for each, that every path —
// photo deletion, revocation, expiry, erasure, operator purge, retention
// and TTL sweeps — leaves nothing of what the path covers (records,
// sealed blobs, gallery templates), that export includes it, and that a
// forget interrupted part way is finished by Resume. A kind added to
// RegisterKinds that this test does not seed or expect fails it.

// exportPrefix is where each kind's data lands in an export bundle.
var exportPrefix = map[string]string{
	"results":       "results/",
	"faces":         "faces/gallery.json",
	"drafts":        "drafts/",
	"fl_devices":    "fl/devices.json",
	"privacy_links": "privacy/links.json",
	"consents":      "consents.json",
	"photos":        "photos/",
}

// stubVision stands in for the vision engine (a unit test double): every
// feature finds something; every photo has one face.
type stubVision struct{}

func (stubVision) Decode([]byte) (*picture.Picture, error) {
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, 8, 8)), Width: 8, Height: 8, Scale: 1}, nil
}

func (stubVision) AnalyzePicture(context.Context, *picture.Picture, []string) (*vision.Result, error) {
	return &vision.Result{Width: 8, Height: 8, Faces: []vision.Face{{Box: geom.Rect{X: 1, Y: 1, W: 4, H: 4}, Score: 0.9}},
		Tags: []vision.Tag{{Label: "dog", Score: 0.9}}, Sensitive: &vision.Rating{Label: "safe", Scores: map[string]float64{"neutral": 1}},
		Text: []vision.TextLine{{Text: "hello", Score: 0.9}}}, nil
}

func (stubVision) Embeddings(context.Context, *picture.Picture) ([]vision.Embedding, error) {
	v := make([]float32, faceres.Dim)
	v[0] = 1
	return []vision.Embedding{{Face: blazeface.Face{Box: geom.Rect{X: 1, Y: 1, W: 4, H: 4}, Score: 0.9}, Vector: v}}, nil
}

// FaceProbe is unused: the registry test screens no face.
func (stubVision) FaceProbe(*picture.Picture, blazeface.Face) vision.FaceProbe { return nil }

// failOnce is a kind whose first forget of a subject fails: the crash
// in the middle of a forget.
type failOnce struct {
	derived.Nothing
	failed bool
}

func (*failOnce) Name() string { return "fail_once" }

func (f *failOnce) ForgetSubject(context.Context, string, string) error {
	if !f.failed {
		f.failed = true
		return errors.New("crash")
	}
	return nil
}

func (*failOnce) Export(context.Context, string, string, derived.Bundle) error { return nil }

func (*failOnce) Held(context.Context, string, string) (int, error) { return 0, nil }

type registryEnv struct {
	k        *testkit.Kit
	reg      *derived.Registry
	consents *consent.Service
	uploads  *upload.Service
	analyses *analysis.Service
	faces    *faces.Service
	drafts   *draft.Service
	subjects *subject.Service
	purge    *incident.Purger
	photo    map[string]string // tenant → the subject's photo
}

var purposesUsed = []string{"face_detection", "tagging", "sensitive_content", "text_detection", "face_recognition", "meme_generation"}

func newRegistryEnv(t *testing.T) *registryEnv {
	t.Helper()
	k := testkit.New(t, nil)
	e := &registryEnv{k: k, photo: map[string]string{}}
	e.reg = derived.New(k.Objects, k.Store, k.Clock)
	e.consents = consent.New(k.Store, k.Keys, e.reg, k.Clock, k.Log)
	codec := upload.NewCodec(k.Keys.TokenAEAD())
	e.uploads = upload.New(upload.DefaultConfig(), k.Store, k.Objects, k.Keys, codec, k.Clock)
	e.analyses = analysis.New(analysis.Deps{Engine: stubVision{}, Assets: e.uploads, Objects: k.Objects, Consent: e.consents, Results: k.Store,
		Hash: k.Keys, Clock: k.Clock, Log: k.Log, Retention: analysis.Retention{Analysis: 24 * time.Hour}})
	e.faces = faces.New(faces.Deps{Engine: stubVision{}, Assets: e.uploads, Objects: k.Objects, Consent: e.consents, Store: k.Store,
		Hash: k.Keys, Clock: k.Clock, Log: k.Log, TTL: time.Hour})
	e.drafts = draft.New(draft.Deps{Store: k.Store, Objects: k.Objects, Hash: k.Keys, Clock: k.Clock, Log: k.Log, TTL: time.Hour, Downloads: e.uploads})
	e.uploads.WithObjectSource(draft.IDPrefix, e.drafts)
	e.uploads.WithDerived(RegisterKinds(e.reg, k.Store, k.Objects, e.analyses, e.faces, e.drafts, e.consents))
	e.subjects = subject.New(k.Store, k.Objects, e.reg, k.Keys, codec, k.Clock, time.Minute)
	e.purge = &incident.Purger{Store: k.Store, Subjects: e.subjects, Photos: e.uploads}
	for _, ten := range []string{"ten_a", "ten_b"} {
		k.Tenant(t, ten)
		e.seed(t, ten, nil)
	}
	return e
}

func smallJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(3, 3, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seed gives subject "ivy" of tenant everything every kind can hold: a
// photo, consents (expiring at expires, if given), results of every
// feature, a gallery person with a template and tag, a pending face-tag
// draft, a meme draft of the photo and a second one accepted (an asset
// of its own), and a used privacy link.
func (e *registryEnv) seed(t *testing.T, tenant string, expires *time.Time) {
	t.Helper()
	ctx := context.Background()
	a, err := e.uploads.Ingest(ctx, tenant, "ivy", smallJPEG(t))
	if err != nil {
		t.Fatal(err)
	}
	e.photo[tenant] = a.ID
	for _, p := range purposesUsed {
		g := consent.Grant{Purpose: p, Notice: "v1"}
		if expires != nil {
			g.ExpiresAt = *expires
		}
		if _, err := e.consents.Grant(ctx, tenant, "ivy", g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.analyses.Analyze(ctx, tenant, a.ID, []string{"faces", "tags", "sensitive", "text"}); err != nil {
		t.Fatal(err)
	}
	fs, err := e.faces.Suggest(ctx, tenant, a.ID)
	if err != nil || len(fs) != 1 {
		t.Fatalf("Suggest = %v, %v", fs, err)
	}
	if _, err := e.faces.Accept(ctx, tenant, fs[0].SuggestionID, "Ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.faces.Suggest(ctx, tenant, a.ID); err != nil {
		t.Fatal(err)
	}
	h := e.k.Keys.SubjectHash("ivy")
	for i := range 2 {
		d, err := e.drafts.Create(ctx, draft.CreateInput{Tenant: tenant, Subject: h, SourceAsset: a.ID, Purpose: "meme_generation",
			Generator: draft.Generator{Feature: "meme", Name: "template:t", Version: "v"}, JPEG: smallJPEG(t), Caption: &draft.Caption{Top: "top"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := e.drafts.Accept(ctx, tenant, d.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.k.Store.EnrollFLDevice(ctx, store.FLDevice{Tenant: tenant, ID: "dev-" + a.ID, SubjectHash: h, PublicKey: make([]byte, 32), EnrolledAt: e.k.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	l := store.PrivacyLink{ID: "pl_" + tenant + a.ID[:8], TenantID: tenant, SubjectHash: h, ExpiresAt: e.k.Clock.Now().Add(time.Minute)}
	if err := e.k.Store.CreatePrivacyLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.Store.ConsumePrivacyLink(ctx, tenant, l.ID, e.k.Clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func (e *registryEnv) held(t *testing.T, tenant string) map[string]int {
	t.Helper()
	m, err := e.reg.Held(context.Background(), tenant, e.k.Keys.SubjectHash("ivy"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// blobs counts the sealed objects under the subject's prefix, of one
// purpose segment ("" = every purpose, "_" = the subject's own photos).
func (e *registryEnv) blobs(t *testing.T, tenant, segment string) int {
	t.Helper()
	prefix := "t/" + tenant + "/s/" + e.k.Keys.SubjectHash("ivy") + "/"
	if segment != "" {
		prefix += segment + "/"
	}
	n := 0
	if err := e.k.Blobs.List(context.Background(), prefix, func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegistryKindsSeededAndExported(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	h := e.k.Keys.SubjectHash("ivy")
	held := e.held(t, "ten_a")
	if len(held) != len(e.reg.Kinds()) {
		t.Fatalf("held %v for %d kinds", held, len(e.reg.Kinds()))
	}
	for _, kd := range e.reg.Kinds() {
		if held[kd.Name()] == 0 {
			t.Errorf("kind %q holds nothing after seeding: teach this test to seed it", kd.Name())
		}
		if _, ok := exportPrefix[kd.Name()]; !ok {
			t.Errorf("kind %q has no export expectation in this test", kd.Name())
		}
	}
	b, err := e.subjects.Bundle(ctx, "ten_a", h)
	if err != nil {
		t.Fatal(err)
	}
	files := readZip(t, b)
	for _, kd := range e.reg.Kinds() {
		found := false
		for p := range files {
			found = found || strings.HasPrefix(p, exportPrefix[kd.Name()])
		}
		if !found {
			t.Errorf("export has nothing of kind %q (want %s…); files: %v", kd.Name(), exportPrefix[kd.Name()], keys(files))
		}
	}
	// The bundle says what the API says: the stored results (GET
	// /v1/assets/{id}/analysis), the people (GET …/people), the consents.
	stored, err := e.analyses.Stored(ctx, "ten_a", e.photo["ten_a"])
	if err != nil || len(stored) != 4 {
		t.Fatalf("Stored = %v, %v", stored, err)
	}
	for feature, body := range stored {
		purpose := analysis.Purposes[feature]
		var got analysis.ExportedResult
		if err := json.Unmarshal(files["results/"+purpose+"/"+e.photo["ten_a"]+"/"+feature+".json"], &got); err != nil {
			t.Errorf("%s: %v", feature, err)
			continue
		}
		var compact bytes.Buffer
		json.Compact(&compact, got.Result)
		if !bytes.Equal(compact.Bytes(), body) || got.AssetID != e.photo["ten_a"] || got.Purpose != purpose {
			t.Errorf("export of %s = %s (%+v), API = %s", feature, got.Result, got, body)
		}
	}
	var gal faces.ExportedGallery
	if err := json.Unmarshal(files["faces/gallery.json"], &gal); err != nil {
		t.Fatal(err)
	}
	people, _ := e.faces.People(ctx, "ten_a", h)
	if len(gal.People) != 1 || gal.People[0] != people[0] || len(gal.Tags) != 1 || len(gal.Suggestions) != 1 {
		t.Errorf("gallery export %+v; API people %+v", gal, people)
	}
	if bytes.Contains(files["faces/gallery.json"], []byte("vector")) {
		t.Error("the gallery export carries embeddings")
	}
	states, _, _ := e.consents.ListByHash(ctx, "ten_a", h)
	var cj struct {
		Consents []consent.State `json:"consents"`
	}
	json.Unmarshal(files["consents.json"], &cj)
	if len(cj.Consents) != len(states) || len(states) != len(purposesUsed) {
		t.Errorf("consents export %d, API %d", len(cj.Consents), len(states))
	}
	// Zip dates are the bundle's (not 1980).
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	for _, f := range zr.File {
		if !f.Modified.UTC().Equal(e.k.Clock.Now().UTC().Truncate(time.Second)) {
			t.Errorf("%s dated %v, want %v", f.Name, f.Modified, e.k.Clock.Now())
		}
	}
}

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRegistryPathsLeaveNothing runs each path on tenant ten_a's subject
// and checks what every kind still holds; tenant ten_b's subject with the
// same id (the same keyed hash) is never touched.
func TestRegistryPathsLeaveNothing(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *registryEnv)
		// want is what each kind may still hold (absent: 0); blobsLeft is
		// the sealed objects left under the subject's prefix.
		want      map[string]int
		blobsLeft int
		global    bool // sweeps cover every tenant
	}{
		{"delete photo", func(t *testing.T, e *registryEnv) {
			if err := e.uploads.Delete(context.Background(), "ten_a", e.photo["ten_a"]); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"faces": 1, "consents": 6, "privacy_links": 1, "photos": 1, "fl_devices": 1}, 2, false}, // the person stays (no template), and the sealed gallery; the accepted meme stays
		{"revoke every purpose", func(t *testing.T, e *registryEnv) {
			// federated_learning too: its revocation deletes the device enrolments.
			if _, err := e.consents.Grant(context.Background(), "ten_a", "ivy", consent.Grant{Purpose: "federated_learning", Notice: "v1"}); err != nil {
				t.Fatal(err)
			}
			for _, p := range append(purposesUsed, "federated_learning") {
				if _, err := e.consents.Revoke(context.Background(), "ten_a", "ivy", p); err != nil {
					t.Fatal(err)
				}
			}
		}, map[string]int{"photos": 2, "consents": 7, "privacy_links": 1}, 2, false}, // the photo and the accepted meme
		{"erase", func(t *testing.T, e *registryEnv) {
			if _, err := e.subjects.Erase(context.Background(), "ten_a", "ivy"); err != nil {
				t.Fatal(err)
			}
		}, nil, 0, false},
		{"purge subject", func(t *testing.T, e *registryEnv) {
			if _, err := e.purge.Run(context.Background(), incident.PurgeScope{Tenant: "ten_a", SubjectHash: e.k.Keys.SubjectHash("ivy")}); err != nil {
				t.Fatal(err)
			}
		}, nil, 0, false},
		{"purge tenant", func(t *testing.T, e *registryEnv) {
			if _, err := e.purge.Run(context.Background(), incident.PurgeScope{Tenant: "ten_a"}); err != nil {
				t.Fatal(err)
			}
		}, nil, 0, false},
		{"purge range", func(t *testing.T, e *registryEnv) {
			now := e.k.Clock.Now()
			if _, err := e.purge.Run(context.Background(), incident.PurgeScope{Tenant: "ten_a", From: now.Add(-time.Hour), To: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"faces": 1, "consents": 6, "privacy_links": 1, "fl_devices": 1}, 1, false},
		{"retention and TTL sweeps", func(t *testing.T, e *registryEnv) {
			e.k.Clock.Advance(25 * time.Hour)
			if _, err := e.reg.Sweep(context.Background(), 100); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"photos": 2, "faces": 3, "consents": 6, "privacy_links": 1, "fl_devices": 1}, 3, true}, // the accepted person, template and tag stay; the meme draft expired, the accepted one stays
		{"crash mid-erase, resumed", func(t *testing.T, e *registryEnv) {
			e.reg.Register(&failOnce{})
			if _, err := e.subjects.EraseHash(context.Background(), "ten_a", e.k.Keys.SubjectHash("ivy")); err == nil {
				t.Fatal("erase with a failing kind succeeded")
			}
			if pf, _ := e.k.Store.PendingForgets(context.Background()); len(pf) != 1 {
				t.Fatalf("journal %+v, want the interrupted erase", pf)
			}
			if n, err := e.reg.Resume(context.Background()); err != nil || n != 1 {
				t.Fatalf("Resume = %d, %v", n, err)
			}
			if pf, _ := e.k.Store.PendingForgets(context.Background()); len(pf) != 0 {
				t.Errorf("journal %+v after resume", pf)
			}
		}, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegistryEnv(t)
			before := e.held(t, "ten_b")
			tc.run(t, e)
			got := e.held(t, "ten_a")
			for name, n := range got {
				if n != tc.want[name] {
					t.Errorf("kind %q holds %d, want %d", name, n, tc.want[name])
				}
			}
			if n := e.blobs(t, "ten_a", ""); n != tc.blobsLeft {
				t.Errorf("%d sealed objects left under the subject, want %d", n, tc.blobsLeft)
			}
			if tc.global {
				return
			}
			after := e.held(t, "ten_b")
			for name, n := range before {
				if after[name] != n {
					t.Errorf("tenant ten_b's %q went from %d to %d", name, n, after[name])
				}
			}
		})
	}
}

// TestConsentExpiryPurges is issue 16 finding 3: after a grant's
// expires_at, the expiry sweep (run on the job queue) purges exactly like
// a revocation — results and biometric templates included — without
// anyone revoking; before expiry it purges nothing.
func TestConsentExpiryPurges(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	exp := e.k.Clock.Now().Add(10 * time.Minute)
	e.seed(t, "ten_a", &exp) // re-grants every purpose with an expiry, adds a second photo
	if n, err := e.consents.Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("sweep before expiry = %d, %v", n, err)
	}
	if got := e.held(t, "ten_a"); got["results"] == 0 || got["faces"] == 0 {
		t.Fatalf("before expiry: %v", got)
	}
	var heard []string
	e.consents.OnExpired = func(_ context.Context, tenant, _, purpose string) { heard = append(heard, tenant+"/"+purpose) }
	e.k.Clock.Advance(10 * time.Minute)
	n, err := e.reg.Sweep(ctx, 100) // the job queue's periodic sweep
	if err != nil || n < len(purposesUsed) {
		t.Fatalf("sweep after expiry = %d, %v", n, err)
	}
	got := e.held(t, "ten_a")
	if got["results"] != 0 || got["faces"] != 0 {
		t.Errorf("after expiry: %v; want no results and no gallery, drafts or tags", got)
	}
	if len(heard) != len(purposesUsed) {
		t.Errorf("expiries reported for audit: %v, want one per purpose", heard)
	}
	for _, p := range purposesUsed {
		if n := e.blobs(t, "ten_a", p); n != 0 {
			t.Errorf("%d sealed objects left under expired %s", n, p)
		}
	}
	states, _, _ := e.consents.ListByHash(ctx, "ten_a", e.k.Keys.SubjectHash("ivy"))
	for _, s := range states {
		if s.State != "expired" {
			t.Errorf("%s state %q, want expired", s.Purpose, s.State)
		}
	}
	if pp, _ := e.k.Store.PendingPurges(ctx); len(pp) != 0 {
		t.Errorf("purge journal left %+v", pp)
	}
	// Tenant b's grants never expire: untouched.
	if got := e.held(t, "ten_b"); got["results"] == 0 || got["faces"] == 0 {
		t.Errorf("tenant b lost data: %v", got)
	}
	// A new grant works again.
	if _, err := e.consents.Grant(ctx, "ten_a", "ivy", consent.Grant{Purpose: "tagging", Notice: "v2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.consents.Require(ctx, "ten_a", e.k.Keys.SubjectHash("ivy"), "tagging"); err != nil {
		t.Errorf("re-granted: %v", err)
	}
}
