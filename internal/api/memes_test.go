package api

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"slices"
	"testing"

	"github.com/obscuraproject/obscura/internal/api/generated"
	"github.com/obscuraproject/obscura/internal/api/op"
)

func TestMemeEndpoints(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	base := e.srv.URL + "/v1"
	id := e.uploadPhoto(t, "a", "meme-maker", "sample3.jpg")
	e.grant(t, "a", "meme-maker", "meme_generation", "tagging")

	code, _, b := e.req(t, "POST", base+"/assets/"+id+"/memes", e.keys["a"], "application/json", []byte(`{}`))
	var out generated.MemesOutput
	if json.Unmarshal(b, &out.Body); code != 201 || len(out.Body.Drafts) != 3 {
		t.Fatalf("memes: %d %s", code, b)
	}
	for _, d := range out.Body.Drafts {
		if d.DraftID == "" || d.Template == "" || d.Caption.Top+d.Caption.Bottom == "" || d.ExpiresAt.IsZero() {
			t.Errorf("draft %+v", d)
		}
	}
	code, _, b = e.req(t, "POST", base+"/drafts/"+out.Body.Drafts[0].DraftID+"/download", e.keys["a"], "", nil)
	var dl op.DownloadOutput
	json.Unmarshal(b, &dl.Body)
	_, _, img := e.req(t, "GET", dl.Body.DownloadURL, "", "", nil)
	if _, err := jpeg.Decode(bytes.NewReader(img)); code != 200 || err != nil {
		t.Errorf("rendered draft: %d %v", code, err)
	}

	// Tenant b cannot make memes of a's photo.
	if code, _, _ := e.req(t, "POST", base+"/assets/"+id+"/memes", e.keys["b"], "application/json", []byte(`{}`)); code != 404 {
		t.Errorf("tenant b: %d", code)
	}
	// A refused user caption: 422 caption_rejected with its categories.
	code, _, b = e.req(t, "POST", base+"/assets/"+id+"/memes", e.keys["a"], "application/json",
		[]byte(`{"text":{"top":"my d1abet1c neighbour","bottom":"at church again"}}`))
	var p Problem
	if json.Unmarshal(b, &p); code != http.StatusUnprocessableEntity || p.Code != "caption_rejected" ||
		!slices.Contains(p.Categories, "health") || !slices.Contains(p.Categories, "religion") {
		t.Errorf("refused caption: %d %s", code, b)
	}
	if bytes.Contains(b, []byte("neighbour")) {
		t.Error("the problem echoes the caption")
	}
	// An accepted user caption: one draft, template "user".
	code, _, b = e.req(t, "POST", base+"/assets/"+id+"/memes", e.keys["a"], "application/json",
		[]byte(`{"text":{"top":"when the build","bottom":"finally passes"}}`))
	if json.Unmarshal(b, &out.Body); code != 201 || len(out.Body.Drafts) != 1 || out.Body.Drafts[0].Template != "user" {
		t.Errorf("user caption: %d %s", code, b)
	}
	if code, _, b := e.req(t, "POST", base+"/assets/"+id+"/memes", e.keys["a"], "application/json", []byte(`{"count":6}`)); code != 422 || codeOf(t, b) != "invalid_request" {
		t.Errorf("count 6: %d %s", code, b)
	}

	// The captions check.
	for _, tc := range []struct {
		text    string
		allowed bool
		cat     string
	}{
		{"when the pizza arrives", true, ""},
		{"she is pregnant again", false, "health"},
		{"call me on +44 20 7946 0958", false, "identifier"},
	} {
		code, _, b := e.req(t, "POST", base+"/captions/check", e.keys["a"], "application/json", []byte(`{"text":`+string(must(json.Marshal(tc.text)))+`}`))
		var v generated.CaptionCheckOutput
		json.Unmarshal(b, &v.Body)
		if code != 200 || v.Body.Allowed != tc.allowed || (tc.cat != "" && !slices.Contains(v.Body.Categories, tc.cat)) {
			t.Errorf("check %q: %d %s", tc.text, code, b)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
