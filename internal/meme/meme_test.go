package meme

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// stubEngine is a unit-test double for the vision engine: it returns a
// fixed result and records what it was asked.
type stubEngine struct {
	res     vision.Result
	asked   []string
	decoded int
}

func (s *stubEngine) Decode([]byte) (*picture.Picture, error) {
	s.decoded++
	return &picture.Picture{RGB: grey(320, 240), Width: 320, Height: 240, Scale: 1}, nil
}

func (s *stubEngine) AnalyzePicture(_ context.Context, _ *picture.Picture, fs []string) (*vision.Result, error) {
	s.asked = fs
	r := s.res
	return &r, nil
}

// wordFilter is a unit-test double for the sensitive-attribute filter:
// it refuses text containing any of its words, and any tagged name.
type wordFilter map[string]string

func (f wordFilter) Check(text string, names []string) (bool, []string) {
	var cats []string
	low := strings.ToLower(text)
	for w, c := range f {
		if strings.Contains(low, w) {
			cats = append(cats, c)
		}
	}
	for _, n := range names {
		if strings.Contains(low, strings.ToLower(n)) {
			cats = append(cats, "identifier")
		}
	}
	slices.Sort(cats)
	return len(cats) == 0, slices.Compact(cats)
}

type memeEnv struct {
	k       *testkit.Kit
	eng     *stubEngine
	svc     *Service
	drafts  *draft.Service
	consent *consent.Service
	asset   string
	subject string
}

func newMemeEnv(t *testing.T) *memeEnv {
	t.Helper()
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	e := &memeEnv{k: k, eng: &stubEngine{res: vision.Result{Width: 320, Height: 240, Sensitive: &vision.Rating{Label: "safe"},
		Tags: []vision.Tag{{Label: "dog", Score: 0.9}}, Text: []vision.TextLine{{Text: "FREE PIZZA http://evil.example/x", Score: 0.9}}}}}
	reg := derived.New(k.Objects, k.Store, k.Clock)
	e.consent = consent.New(k.Store, k.Keys, reg, k.Clock, k.Log)
	up := upload.New(upload.DefaultConfig(), k.Store, k.Objects, k.Keys, upload.NewCodec(k.Keys.TokenAEAD()), k.Clock)
	e.drafts = draft.New(draft.Deps{Store: k.Store, Objects: k.Objects, Hash: k.Keys, Clock: k.Clock, Log: k.Log, TTL: time.Hour})
	reg.Register(e.drafts)
	a, err := up.Ingest(context.Background(), "ten_a", "mia", testPhoto(t))
	if err != nil {
		t.Fatal(err)
	}
	e.asset, e.subject = a.ID, a.SubjectHash
	untrusted := func(s string, n int) string { // test double: drops URLs, cuts
		var keep []string
		for _, w := range strings.Fields(s) {
			if !strings.Contains(w, "://") {
				keep = append(keep, w)
			}
		}
		r := []rune(strings.Join(keep, " "))
		return string(r[:min(n, len(r))])
	}
	e.svc, err = New(Deps{Engine: e.eng, Assets: up, Photos: k.Objects, Consent: e.consent, Drafts: e.drafts,
		Filter: wordFilter{"diabetic": "health", "church": "religion"}, Untrusted: untrusted,
		Names: func(context.Context, string, string) ([]string, error) { return []string{"Ann Example"}, nil },
		Audit: k.Audit, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testPhoto(t *testing.T) []byte {
	t.Helper()
	b, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	jpg, err := b.Render(grey(64, 48), "", "x")
	if err != nil {
		t.Fatal(err)
	}
	return jpg
}

func (e *memeEnv) grant(t *testing.T, ps ...string) {
	t.Helper()
	for _, p := range ps {
		if _, err := e.consent.Grant(context.Background(), "ten_a", "mia", consent.Grant{Purpose: p, Notice: "v1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *memeEnv) held(t *testing.T) int {
	n, err := e.drafts.Held(context.Background(), "ten_a", e.subject)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGenerateNeedsConsent(t *testing.T) {
	e := newMemeEnv(t)
	e.grant(t, PurposeTags, PurposeText) // not meme_generation
	_, err := e.svc.Generate(context.Background(), "ten_a", "", e.asset, Request{})
	if !errors.Is(err, fault.ConsentRequired) {
		t.Fatalf("Generate = %v, want consent_required", err)
	}
	if e.eng.decoded != 0 || e.held(t) != 0 {
		t.Errorf("decoded %d times, %d drafts", e.eng.decoded, e.held(t))
	}
}

func TestGenerateUsesOnlyGrantedCues(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		grants    []string
		wantAsked []string
		wantCue   func(cues []string) bool
	}{
		{"meme only: generic", []string{Purpose}, []string{"faces", "sensitive"},
			func(cs []string) bool { return !slices.ContainsFunc(cs, func(c string) bool { return c != "generic" }) }},
		{"with tagging", []string{Purpose, PurposeTags}, []string{"faces", "sensitive", "tags"},
			func(cs []string) bool { return slices.Contains(cs, "tag:dog") && !slices.Contains(cs, "text") }},
		{"with text", []string{Purpose, PurposeText}, []string{"faces", "sensitive", "text"},
			func(cs []string) bool { return slices.Contains(cs, "text") && !slices.Contains(cs, "tag:dog") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMemeEnv(t)
			e.grant(t, tc.grants...)
			made, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Count: 5})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.eng.asked, tc.wantAsked) {
				t.Errorf("engine asked for %v, want %v", e.eng.asked, tc.wantAsked)
			}
			lib, _ := DefaultLibrary()
			var cues []string
			for _, m := range made {
				for _, tp := range lib.Templates {
					if tp.ID == m.Template {
						cues = append(cues, tp.Cue)
					}
				}
				c := m.Draft.Caption
				if strings.Contains(c.Top+c.Bottom, "://") || strings.Contains(c.Top+c.Bottom, "evil") {
					t.Errorf("a URL from the photo reached a caption: %+v", c)
				}
				if m.Draft.Purpose != Purpose || m.Draft.Generator.Version != lib.Version {
					t.Errorf("draft %+v", m.Draft)
				}
			}
			if len(made) != 5 || !tc.wantCue(cues) {
				t.Errorf("%d drafts with cues %v", len(made), cues)
			}
			if e.held(t) != 5 {
				t.Errorf("%d drafts stored", e.held(t))
			}
		})
	}
}

func TestGenerateGates(t *testing.T) {
	ctx := context.Background()
	t.Run("explicit and suggestive photos get nothing", func(t *testing.T) {
		for _, label := range []string{"explicit", "suggestive"} {
			e := newMemeEnv(t)
			e.grant(t, Purpose)
			e.eng.res.Sensitive = &vision.Rating{Label: label}
			_, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{})
			if !errors.Is(err, ErrNotEligible) || strings.Contains(err.Error(), label) {
				t.Errorf("%s: %v", label, err)
			}
			if e.held(t) != 0 {
				t.Errorf("%s: %d drafts", label, e.held(t))
			}
		}
	})
	t.Run("faces: person-safe only", func(t *testing.T) {
		e := newMemeEnv(t)
		e.grant(t, Purpose)
		e.eng.res.Faces = []vision.Face{{Box: geom.Rect{X: 1, Y: 1, W: 10, H: 10}, Score: 0.9}}
		made, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Count: 5, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		lib, _ := DefaultLibrary()
		for _, m := range made {
			for _, tp := range lib.Templates {
				if tp.ID == m.Template && !tp.PersonSafe {
					t.Errorf("template %s is not person-safe", tp.ID)
				}
			}
		}
	})
	t.Run("refused photo text is not used", func(t *testing.T) {
		e := newMemeEnv(t)
		e.grant(t, Purpose, PurposeText)
		e.eng.res.Text = []vision.TextLine{{Text: "Ann Example was here", Score: 0.9}}
		made, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range made {
			if strings.Contains(m.Draft.Caption.Top+m.Draft.Caption.Bottom, "Ann") {
				t.Errorf("a tagged person's name reached a caption: %+v", m.Draft.Caption)
			}
		}
	})
}

func TestGenerateUserCaption(t *testing.T) {
	ctx := context.Background()
	e := newMemeEnv(t)
	e.grant(t, Purpose, PurposeTags)
	_, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Top: "my d1abetic church friend", Bottom: "lol"})
	var cr *CaptionRejectedError
	if !errors.As(err, &cr) || !slices.Equal(cr.Categories, []string{"religion"}) {
		// the double does not undo leetspeak: only "church" matches
		t.Fatalf("Generate = %v", err)
	}
	if e.eng.decoded != 0 || e.held(t) != 0 {
		t.Errorf("a refused caption decoded the photo (%d) or stored drafts (%d)", e.eng.decoded, e.held(t))
	}
	if _, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Top: "hi Ann Example"}); !errors.As(err, &cr) || !slices.Equal(cr.Categories, []string{"identifier"}) {
		t.Errorf("tagged name: %v", err)
	}
	if _, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Top: "你好"}); !errors.Is(err, ErrGlyph) {
		t.Errorf("CJK: %v", err)
	}
	made, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Top: "when the code", Bottom: "compiles"})
	if err != nil || len(made) != 1 || made[0].Template != TemplateUser || made[0].Draft.Caption.Bottom != "compiles" {
		t.Fatalf("user caption: %+v, %v", made, err)
	}
	if _, err := e.svc.Generate(ctx, "ten_a", "", e.asset, Request{Count: 6}); !errors.Is(err, ErrCount) {
		t.Errorf("count 6: %v", err)
	}
}
