package api

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/draft"
)

// seedDraft stores a generated image of subject's photo as a draft of
// purpose, as a generator would, and returns its id.
func (e *uploadEnv) seedDraft(t *testing.T, tenant, subject, assetID, purpose string) string {
	t.Helper()
	d, err := e.drafts.Create(context.Background(), draft.CreateInput{Tenant: "ten_" + tenant, Subject: e.api.d.Keys.HashID("subject", subject),
		SourceAsset: assetID, Purpose: purpose, Generator: draft.Generator{Feature: "meme", Name: "template:t", Version: "v"},
		JPEG: photo(t, 32, 16), Caption: &draft.Caption{Top: "TOP", Bottom: "BOTTOM", Template: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func TestDraftEndpoints(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	src := e.uploadAs(t, "a", "dora", "image/jpeg", photo(t, 40, 30))
	id := e.seedDraft(t, "a", "dora", src, "meme_generation")
	other := e.seedDraft(t, "a", "dora", src, "meme_generation")
	base := e.srv.URL + "/v1"

	code, _, b := e.req(t, "GET", base+"/subjects/dora/drafts", e.keys["a"], "", nil)
	var list struct {
		Drafts []draft.Draft `json:"drafts"`
	}
	if json.Unmarshal(b, &list); code != 200 || len(list.Drafts) != 2 || list.Drafts[0].Caption == nil || list.Drafts[0].Caption.Top != "TOP" {
		t.Fatalf("list: %d %s", code, b)
	}
	if bytes.Contains(b, []byte("dora")) {
		t.Error("the list names the subject")
	}
	if code, _, b := e.req(t, "GET", base+"/subjects/dora/drafts", e.keys["b"], "", nil); code != 200 || bytes.Contains(b, []byte(id)) {
		t.Errorf("tenant b's list: %d %s", code, b)
	}
	// Scope: an ingest-only key may not see or decide drafts.
	code, _, b = e.req(t, "POST", base+"/keys", e.keys["a"], "application/json", []byte(`{"scopes":["`+string(auth.ScopeIngest)+`"]}`))
	var key struct {
		APIKey string `json:"api_key"`
	}
	if json.Unmarshal(b, &key); code != 201 || key.APIKey == "" {
		t.Fatalf("create ingest key: %d %s", code, b)
	}
	ingest := key.APIKey
	if code, _, b := e.req(t, "POST", base+"/drafts/"+id+"/accept", ingest, "", nil); code != http.StatusForbidden {
		t.Errorf("accept with an ingest key: %d %s", code, b)
	}

	// Download: single use, the draft's JPEG.
	code, _, b = e.req(t, "POST", base+"/drafts/"+id+"/download", e.keys["a"], "", nil)
	var dl op.DownloadOutput
	if json.Unmarshal(b, &dl.Body); code != 200 || dl.Body.DownloadURL == "" {
		t.Fatalf("download url: %d %s", code, b)
	}
	code, h, img := e.req(t, "GET", dl.Body.DownloadURL, "", "", nil)
	if _, err := jpeg.Decode(bytes.NewReader(img)); code != 200 || h.Get("Content-Type") != "image/jpeg" || err != nil {
		t.Fatalf("download: %d %s %v", code, h.Get("Content-Type"), err)
	}
	if code, _, b := e.req(t, "GET", dl.Body.DownloadURL, "", "", nil); code != http.StatusConflict || codeOf(t, b) != "token_used" {
		t.Errorf("second download: %d %s", code, b)
	}
	if code, _, _ := e.req(t, "POST", base+"/drafts/"+id+"/download", e.keys["b"], "", nil); code != 404 {
		t.Errorf("tenant b's download of a's draft: %d", code)
	}

	// Accept → an ordinary asset with the exact bytes.
	if code, _, _ := e.req(t, "POST", base+"/drafts/"+id+"/accept", e.keys["b"], "", nil); code != 404 {
		t.Errorf("tenant b's accept: %d", code)
	}
	code, _, b = e.req(t, "POST", base+"/drafts/"+id+"/accept", e.keys["a"], "", nil)
	var acc struct {
		AssetID string `json:"asset_id"`
	}
	if json.Unmarshal(b, &acc); code != 201 || acc.AssetID == "" {
		t.Fatalf("accept: %d %s", code, b)
	}
	if code, _, b := e.req(t, "GET", base+"/assets/"+acc.AssetID, e.keys["a"], "", nil); code != 200 {
		t.Errorf("accepted asset: %d %s", code, b)
	}
	code, _, b = e.req(t, "POST", base+"/assets/"+acc.AssetID+"/download", e.keys["a"], "", nil)
	json.Unmarshal(b, &dl.Body)
	if _, _, got := e.req(t, "GET", dl.Body.DownloadURL, "", "", nil); code != 200 || !bytes.Equal(got, img) {
		t.Errorf("the accepted asset's bytes differ from the draft's (%d)", code)
	}
	if code, _, b := e.req(t, "POST", base+"/drafts/"+id+"/accept", e.keys["a"], "", nil); code != 404 || codeOf(t, b) != "not_found" {
		t.Errorf("second accept: %d %s", code, b)
	}

	// Reject → gone.
	if code, _, b := e.req(t, "POST", base+"/drafts/"+other+"/reject", e.keys["a"], "", nil); code != 204 {
		t.Errorf("reject: %d %s", code, b)
	}
	if code, _, _ := e.req(t, "POST", base+"/drafts/"+other+"/reject", e.keys["a"], "", nil); code != 404 {
		t.Errorf("second reject: %d", code)
	}
	if code, _, b := e.req(t, "GET", base+"/subjects/dora/drafts", e.keys["a"], "", nil); code != 200 || !bytes.Contains(b, []byte(`"drafts":[]`)) {
		t.Errorf("list after accept and reject: %d %s", code, b)
	}

	// Revoking meme_generation removes drafts at once; the accepted meme stays.
	third := e.seedDraft(t, "a", "dora", src, "meme_generation")
	e.grant(t, "a", "dora", "meme_generation")
	if code, _, b := e.req(t, "DELETE", base+"/subjects/dora/consents/meme_generation", e.keys["a"], "", nil); code != 200 && code != 204 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if code, _, _ := e.req(t, "POST", base+"/drafts/"+third+"/accept", e.keys["a"], "", nil); code != 404 {
		t.Errorf("accept after revocation: %d", code)
	}
	if code, _, _ := e.req(t, "GET", base+"/assets/"+acc.AssetID, e.keys["a"], "", nil); code != 200 {
		t.Errorf("the accepted meme went with the revocation: %d", code)
	}
}

// TestPrivacyCenterDrafts: the subject sees their drafts, keeps one (it
// becomes a photo marked generated, which the page says survives
// revocation and source deletion) and deletes another; another subject's
// draft is not theirs to decide.
func TestPrivacyCenterDrafts(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	src := e.uploadAs(t, "a", "pia", "image/jpeg", photo(t, 40, 30))
	keep := e.seedDraft(t, "a", "pia", src, "meme_generation")
	drop := e.seedDraft(t, "a", "pia", src, "meme_generation")
	otherSrc := e.uploadAs(t, "a", "quinn", "image/jpeg", photo(t, 40, 30))
	theirs := e.seedDraft(t, "a", "quinn", otherSrc, "meme_generation")
	c, csrf := privacySession(t, e, "pia")
	_, page := getPage(t, c, e.srv.URL+"/privacy")
	if !strings.Contains(page, `id="draft-`+keep+`"`) || !strings.Contains(page, "TOP") || strings.Contains(page, theirs) {
		t.Fatalf("drafts section missing or shows another subject's draft")
	}
	if !strings.Contains(page, "it stays if you later stop meme suggestions or delete the original photo, and it goes when you erase everything") {
		t.Error("the page does not say what happens to a kept meme")
	}
	res, err := c.Get(e.srv.URL + "/privacy/draft/" + keep)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if _, err := jpeg.Decode(bytes.NewReader(img)); res.StatusCode != 200 || err != nil {
		t.Errorf("draft image: %d %v", res.StatusCode, err)
	}
	if code, _ := getPage(t, c, e.srv.URL+"/privacy/draft/"+theirs); code != 404 {
		t.Errorf("another subject's draft image: %d", code)
	}
	if code := postForm(t, c, e.srv.URL+"/privacy/drafts", url.Values{"csrf": {csrf}, "draft": {theirs}, "action": {"accept"}}); code != 404 {
		t.Errorf("accepting another subject's draft: %d", code)
	}
	if code := postForm(t, c, e.srv.URL+"/privacy/drafts", url.Values{"csrf": {"wrong"}, "draft": {keep}, "action": {"accept"}}); code != http.StatusForbidden {
		t.Errorf("without CSRF: %d", code)
	}
	if code := postForm(t, c, e.srv.URL+"/privacy/drafts", url.Values{"csrf": {csrf}, "draft": {keep}, "action": {"accept"}}); code != 200 {
		t.Errorf("keep: %d", code)
	}
	if code := postForm(t, c, e.srv.URL+"/privacy/drafts", url.Values{"csrf": {csrf}, "draft": {drop}, "action": {"reject"}}); code != 200 {
		t.Errorf("delete: %d", code)
	}
	_, page = getPage(t, c, e.srv.URL+"/privacy")
	if !strings.Contains(page, `id="drafts-empty"`) || !strings.Contains(page, "A meme you kept from a draft (generated)") {
		t.Error("after keep and delete: no drafts left and the kept meme shown as a generated photo expected")
	}
	if _, err := e.drafts.Get(context.Background(), "ten_a", theirs); err != nil {
		t.Errorf("the other subject's draft was touched: %v", err)
	}
}
