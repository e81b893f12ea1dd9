package draft

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
)

// planted is a caption marker the leak scan looks for.
const planted = "ZEBRAMARKER-42"

// subjectID is the raw subject id (never stored).
const subjectID = "ivy-subject-7781"

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	img.Set(1, 1, color.RGBA{G: 255, A: 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeStamper is a unit-test double: it appends a marker comment segment
// after SOI, as a stamper would insert its manifest.
type fakeStamper struct {
	calls int
	got   StampInput
	fail  bool
}

func (f *fakeStamper) Stamp(_ context.Context, in StampInput) (StampOutput, error) {
	f.calls++
	f.got = in
	if f.fail {
		return StampOutput{}, errors.New("signer down")
	}
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06, 'P', 'R', 'O', 'V'}, in.JPEG[2:]...)
	return StampOutput{JPEG: out, GenerationID: "gen-1"}, nil
}

type env struct {
	k       *testkit.Kit
	svc     *Service
	uploads *upload.Service
	stamp   *fakeStamper
	source  string // the subject's source photo
	subject string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	k.Tenant(t, "ten_b")
	e := &env{k: k, stamp: &fakeStamper{}, subject: k.Keys.SubjectHash(subjectID)}
	e.uploads = upload.New(upload.DefaultConfig(), k.Store, k.Objects, k.Keys, upload.NewCodec(k.Keys.TokenAEAD()), k.Clock)
	e.svc = New(Deps{Store: k.Store, Objects: k.Objects, Hash: k.Keys, Audit: k.Audit, Clock: k.Clock, Log: k.Log, TTL: time.Hour,
		Stamper: e.stamp, Downloads: e.uploads})
	e.uploads.WithObjectSource(IDPrefix, e.svc)
	a, err := e.uploads.Ingest(context.Background(), "ten_a", subjectID, testJPEG(t, 40, 30))
	if err != nil {
		t.Fatal(err)
	}
	e.source = a.ID
	return e
}

func (e *env) create(t *testing.T, purpose string) Draft {
	t.Helper()
	d, err := e.svc.Create(context.Background(), CreateInput{Tenant: "ten_a", Subject: e.subject, SourceAsset: e.source, Purpose: purpose,
		Generator: Generator{Feature: "meme", Name: "template:t1", Version: "v1"}, JPEG: testJPEG(t, 20, 10),
		Caption: &Caption{Top: planted, Bottom: "bottom", Template: "t1"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCreateListGet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.create(t, "meme_generation")
	if !strings.HasPrefix(d.ID, IDPrefix) || d.GenerationID != "gen-1" || d.ExpiresAt.Sub(d.CreatedAt) > time.Hour || d.Caption.Top != planted {
		t.Errorf("Create = %+v", d)
	}
	if e.stamp.calls != 1 || e.stamp.got.Subject != e.subject || e.stamp.got.SourceAsset != e.source || e.stamp.got.Generator.Feature != "meme" {
		t.Errorf("stamper saw %+v (%d calls)", e.stamp.got, e.stamp.calls)
	}
	ds, err := e.svc.List(ctx, "ten_a", e.subject)
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID || ds[0].Caption.Top != planted {
		t.Fatalf("List = %+v, %v", ds, err)
	}
	if ds, _ := e.svc.List(ctx, "ten_b", e.subject); len(ds) != 0 {
		t.Errorf("tenant b sees %d drafts", len(ds))
	}
	if _, err := e.svc.Get(ctx, "ten_b", d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-tenant Get = %v", err)
	}
	img, err := e.svc.Image(ctx, "ten_a", d.ID)
	if err != nil || !bytes.HasPrefix(img, []byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06, 'P', 'R', 'O', 'V'}) {
		t.Errorf("Image is not the stamped bytes: %x…, %v", img[:min(10, len(img))], err)
	}
	// Sealed under the purpose's scope key: the blob is under its segment.
	n := 0
	e.k.Blobs.List(ctx, "t/ten_a/s/"+e.subject+"/meme_generation/", func(string) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d objects under the purpose's prefix, want 1", n)
	}
	// Nothing in clear on disk: the caption, the subject id.
	scanDir(t, e.k.Dir, planted, subjectID)
}

// scanDir fails if any file under dir contains a marker in clear.
func scanDir(t *testing.T, dir string, markers ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s holds %q in clear", p, m)
			}
		}
		return nil
	})
}

func TestCreateRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := CreateInput{Tenant: "ten_a", Subject: e.subject, Purpose: "meme_generation", Generator: Generator{Feature: "meme"}, JPEG: testJPEG(t, 4, 4)}
	tests := []struct {
		name string
		mod  func(*CreateInput)
		want fault.Kind
	}{
		{"png bytes", func(in *CreateInput) { in.JPEG = []byte("\x89PNG\r\n\x1a\n....") }, fault.Invalid},
		{"no purpose", func(in *CreateInput) { in.Purpose = "" }, fault.Invalid},
		{"no generator", func(in *CreateInput) { in.Generator = Generator{} }, fault.Invalid},
		{"too large", func(in *CreateInput) { in.JPEG = append(testJPEG(t, 4, 4), make([]byte, MaxBytes)...) }, fault.TooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			tc.mod(&in)
			if _, err := e.svc.Create(ctx, in); !errors.Is(err, tc.want) {
				t.Errorf("Create = %v, want %v", err, tc.want)
			}
		})
	}
	e.stamp.fail = true
	if _, err := e.svc.Create(ctx, base); err == nil {
		t.Error("Create succeeded with a failing stamper")
	}
	if n, _ := e.svc.Held(ctx, "ten_a", e.subject); n != 0 {
		t.Errorf("%d drafts held after refusals", n)
	}
}

func TestAcceptMakesAnAssetOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.create(t, "meme_generation")
	want, _ := e.svc.Image(ctx, "ten_a", d.ID)
	if _, err := e.svc.Accept(ctx, "ten_b", d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-tenant Accept = %v", err)
	}
	a, err := e.svc.Accept(ctx, "ten_a", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.SubjectHash != e.subject || a.Format != "jpeg" || a.Width != 20 || a.Height != 10 || a.Size != int64(len(want)) {
		t.Errorf("asset %+v", a)
	}
	got, err := e.k.Objects.ReadAll(ctx, sealed.Ref{Tenant: "ten_a", Subject: e.subject, Object: a.ID}, 1<<20)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("accepted bytes differ from the stamped draft (%v)", err)
	}
	if _, err := e.svc.Accept(ctx, "ten_a", d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Accept = %v", err)
	}
	gs, err := e.svc.Accepted(ctx, "ten_a", e.subject)
	if err != nil || len(gs) != 1 || gs[0].AssetID != a.ID || gs[0].SourceRef == "" || strings.Contains(gs[0].SourceRef, e.source) || gs[0].GenerationID != "gen-1" {
		t.Errorf("generated marks %+v, %v", gs, err)
	}
	// The source photo and the purpose may go; the accepted asset stays.
	if err := e.svc.ForgetAsset(ctx, "ten_a", e.source); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ForgetPurpose(ctx, "ten_a", e.subject, "meme_generation"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.Asset(ctx, "ten_a", a.ID); err != nil {
		t.Errorf("accepted asset gone: %v", err)
	}
	if n := objects(t, e, ""); n != 2 {
		t.Errorf("%d objects left, want the source photo and the accepted meme", n)
	}
}

func objects(t *testing.T, e *env, prefix string) int {
	t.Helper()
	n := 0
	if err := e.k.Blobs.List(context.Background(), "t/ten_a/s/"+e.subject+"/"+prefix, func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRejectSweepForget(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, e *env, d Draft)
	}{
		{"reject", func(t *testing.T, e *env, d Draft) {
			if err := e.svc.Reject(ctx, "ten_b", d.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("cross-tenant Reject = %v", err)
			}
			if err := e.svc.Reject(ctx, "ten_a", d.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"ttl sweep", func(t *testing.T, e *env, d Draft) {
			if n, err := e.svc.Sweep(ctx, 10); err != nil || n != 0 {
				t.Fatalf("early sweep = %d, %v", n, err)
			}
			e.k.Clock.Advance(time.Hour)
			if _, err := e.svc.Get(ctx, "ten_a", d.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("expired draft readable: %v", err)
			}
			if n, err := e.svc.Sweep(ctx, 10); err != nil || n != 2 {
				t.Fatalf("sweep = %d, %v", n, err)
			}
		}},
		{"source deleted", func(t *testing.T, e *env, d Draft) {
			if err := e.svc.ForgetAsset(ctx, "ten_a", e.source); err != nil {
				t.Fatal(err)
			}
		}},
		{"purpose revoked", func(t *testing.T, e *env, d Draft) {
			if err := e.svc.ForgetPurpose(ctx, "ten_a", e.subject, "meme_generation"); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ForgetPurpose(ctx, "ten_a", e.subject, "plugin:blur"); err != nil {
				t.Fatal(err)
			}
		}},
		{"erased", func(t *testing.T, e *env, d Draft) {
			if err := e.svc.ForgetSubject(ctx, "ten_a", e.subject); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.create(t, "meme_generation")
			other := e.create(t, "plugin:blur")
			tc.run(t, e, d)
			if _, err := e.svc.Get(ctx, "ten_a", d.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("draft still readable: %v", err)
			}
			if n := objects(t, e, "meme_generation/"); n != 0 {
				t.Errorf("%d sealed objects left under the purpose", n)
			}
			held, _ := e.svc.Held(ctx, "ten_a", e.subject)
			if tc.name == "reject" {
				if held != 1 {
					t.Errorf("reject of one draft left %d, want the other", held)
				}
				if _, err := e.svc.Get(ctx, "ten_a", other.ID); err != nil {
					t.Errorf("the other draft went too: %v", err)
				}
				return
			}
			if held != 0 {
				t.Errorf("%d drafts held", held)
			}
		})
	}
}

func TestDownloadSingleUse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.create(t, "meme_generation")
	if _, _, err := e.svc.NewDownload(ctx, "ten_b", d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-tenant NewDownload = %v", err)
	}
	tok, exp, err := e.svc.NewDownload(ctx, "ten_a", d.ID)
	if err != nil || exp.IsZero() {
		t.Fatal(err)
	}
	img, format, err := e.uploads.Download(ctx, tok)
	want, _ := e.svc.Image(ctx, "ten_a", d.ID)
	if err != nil || format != "jpeg" || !bytes.Equal(img, want) {
		t.Fatalf("Download = %d bytes %q, %v", len(img), format, err)
	}
	if _, _, err := e.uploads.Download(ctx, tok); !errors.Is(err, upload.ErrTokenUsed) {
		t.Errorf("second Download = %v, want token used", err)
	}
	// A token for a draft rejected before it is redeemed serves nothing.
	tok, _, _ = e.svc.NewDownload(ctx, "ten_a", d.ID)
	e.svc.Reject(ctx, "ten_a", d.ID)
	if _, _, err := e.uploads.Download(ctx, tok); !errors.Is(err, fault.NotFound) {
		t.Errorf("Download of a rejected draft = %v", err)
	}
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.create(t, "meme_generation")
	acc := e.create(t, "meme_generation")
	a, err := e.svc.Accept(ctx, "ten_a", acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := bundle{}
	if err := e.svc.Export(ctx, "ten_a", e.subject, b); err != nil {
		t.Fatal(err)
	}
	img, _ := e.svc.Image(ctx, "ten_a", d.ID)
	if !bytes.Equal(b["drafts/"+d.ID+".jpg"], img) || !bytes.Contains(b["drafts/"+d.ID+".json"], []byte(planted)) {
		t.Errorf("export of the draft: %v", keysOf(b))
	}
	if !bytes.Contains(b["drafts/accepted.json"], []byte(a.ID)) {
		t.Errorf("accepted.json = %s", b["drafts/accepted.json"])
	}
	if len(b) != 3 {
		t.Errorf("export files %v", keysOf(b))
	}
}

type bundle map[string][]byte

func (b bundle) Add(p string, data []byte) error { b[p] = bytes.Clone(data); return nil }

func keysOf(b bundle) []string {
	var out []string
	for k := range b {
		out = append(out, k)
	}
	return out
}
