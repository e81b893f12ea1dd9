package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
	"github.com/obscuraproject/obscura/internal/web/privacy"
)

type suggestedFace struct {
	SuggestionID string         `json:"suggestion_id"`
	Box          map[string]int `json:"box"`
	Candidates   []struct {
		Person struct{ ID, Name string } `json:"person"`
		Score  float64                   `json:"score"`
	} `json:"candidates"`
}

func (e *uploadEnv) suggest(t *testing.T, assetID string) []suggestedFace {
	t.Helper()
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+assetID+"/faces/suggest", e.keys["a"], "", nil)
	if code != 200 {
		t.Fatalf("suggest: %d %s", code, b)
	}
	var out struct {
		Faces []suggestedFace `json:"faces"`
	}
	json.Unmarshal(b, &out)
	if strings.Contains(string(b), "embedding") || strings.Contains(string(b), "vector") {
		t.Fatalf("suggestion response carries an embedding: %s", b)
	}
	sort.Slice(out.Faces, func(i, j int) bool { return out.Faces[i].Box["x"] < out.Faces[j].Box["x"] })
	return out.Faces
}

// uploadBytes stores a JPEG for subject and returns its asset id.
func (e *uploadEnv) uploadBytes(t *testing.T, subject string, jpg []byte) string {
	t.Helper()
	return e.uploadAs(t, "a", subject, "image/jpeg", jpg)
}

// mirrored is a sample photo flipped left to right, as a new JPEG: the
// same people, another capture.
func mirrored(t *testing.T, name string) []byte {
	p := visiontest.Picture(t, name)
	b := p.RGB.Rect
	img := image.NewRGBA(b)
	for y := range b.Dy() {
		for x := range b.Dx() {
			img.SetRGBA(b.Dx()-1-x, y, p.RGB.RGBAAt(x, y))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFaceSuggestionLifecycle tags the three people of one real photo,
// then checks suggestions on another capture of the same people (its
// mirror image) and on a photo of other people; rejection, TTL expiry,
// rename, merge, delete and revocation follow.
func TestFaceSuggestionLifecycle(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	post := func(path, body string) (int, []byte) {
		code, _, b := e.req(t, "POST", e.srv.URL+path, e.keys["a"], "application/json", []byte(body))
		return code, b
	}
	e.grant(t, "a", "carol", "face_recognition")
	first := e.uploadPhoto(t, "a", "carol", "sample1.jpg")
	fs := e.suggest(t, first)
	if len(fs) != 3 {
		t.Fatalf("sample1: %d faces", len(fs))
	}
	names := []string{"Ann", "Ben", "Cid"}
	for i, f := range fs {
		if len(f.Candidates) != 0 {
			t.Errorf("empty gallery yet candidates %v", f.Candidates)
		}
		if code, b := post("/v1/suggestions/"+f.SuggestionID+"/accept", `{"person":"`+names[i]+`"}`); code != 200 || !strings.Contains(string(b), `"tag_id":"tag_`) {
			t.Fatalf("accept: %d %s", code, b)
		}
	}
	// Accepting twice: the draft is gone.
	if code, _ := post("/v1/suggestions/"+fs[0].SuggestionID+"/accept", `{"person":"Ann"}`); code != 404 {
		t.Errorf("second accept: %d", code)
	}
	people := func() map[string]int {
		t.Helper()
		code, _, b := e.req(t, "GET", e.srv.URL+"/v1/subjects/carol/people", e.keys["a"], "", nil)
		if code != 200 {
			t.Fatalf("people: %d %s", code, b)
		}
		var out struct {
			People []struct {
				ID, Name string
				Faces    int
			} `json:"people"`
		}
		json.Unmarshal(b, &out)
		m := map[string]int{}
		for _, p := range out.People {
			m[p.Name+"="+p.ID] = p.Faces
		}
		return m
	}
	ids := map[string]string{}
	for k, n := range people() {
		name, id, _ := strings.Cut(k, "=")
		ids[name] = id
		if n != 1 {
			t.Errorf("%s has %d faces", name, n)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("people %v", ids)
	}

	// The mirror image: same people, right to left. Each face's best
	// candidate is the right person.
	mirror := e.uploadBytes(t, "carol", mirrored(t, "sample1.jpg"))
	ms := e.suggest(t, mirror)
	if len(ms) != 3 {
		t.Fatalf("mirror: %d faces", len(ms))
	}
	for i, f := range ms {
		want := names[2-i]
		if len(f.Candidates) == 0 || f.Candidates[0].Person.Name != want || f.Candidates[0].Score < faces.SuggestThreshold || len(f.Candidates) > 3 {
			t.Errorf("mirrored face %d: candidates %+v, want %s first", i, f.Candidates, want)
		}
		t.Logf("mirrored face %d: %+v", i, f.Candidates)
	}
	// Other people: no candidates at all.
	other := e.uploadPhoto(t, "a", "carol", "sample2.jpg")
	os := e.suggest(t, other)
	for _, f := range os {
		if len(f.Candidates) != 0 {
			t.Errorf("stranger matched %+v", f.Candidates)
		}
	}
	// Reject: gone, cannot be accepted after.
	if code, _, _ := e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+os[0].SuggestionID+"/reject", e.keys["a"], "", nil); code != 204 {
		t.Errorf("reject: %d", code)
	}
	if code, _ := post("/v1/suggestions/"+os[0].SuggestionID+"/accept", `{"person":"Dee"}`); code != 404 {
		t.Errorf("accept after reject: %d", code)
	}
	// Another tenant can neither see nor act.
	if code, _, _ := e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+os[1].SuggestionID+"/accept", e.keys["b"], "application/json", []byte(`{"person":"X"}`)); code != 404 {
		t.Errorf("other tenant accept: %d", code)
	}
	if code, _, b := e.req(t, "GET", e.srv.URL+"/v1/subjects/carol/people", e.keys["b"], "", nil); code != 200 || strings.Contains(string(b), "Ann") {
		t.Errorf("other tenant people: %d %s", code, b)
	}
	// TTL: the other drafts expire and the sweeper deletes them.
	pending, _ := e.st.Suggestions(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "carol"))
	e.clk.Advance(time.Hour + time.Second)
	if code, _ := post("/v1/suggestions/"+os[1].SuggestionID+"/accept", `{"person":"Dee"}`); code != 404 {
		t.Errorf("accept after TTL: %d", code)
	}
	n, err := e.faces.Sweep(t.Context(), 100)
	if err != nil || n != len(pending) {
		t.Errorf("Sweep = %d, %v; want %d", n, err, len(pending))
	}
	if left, _ := e.st.Suggestions(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "carol")); len(left) != 0 {
		t.Errorf("%d drafts left after TTL sweep", len(left))
	}
	// Rename, merge, delete.
	if code, _, b := e.req(t, "PATCH", e.srv.URL+"/v1/subjects/carol/people/"+ids["Ann"], e.keys["a"], "application/json", []byte(`{"name":"Anna"}`)); code != 200 {
		t.Fatalf("rename: %d %s", code, b)
	}
	if code, b := post("/v1/subjects/carol/people/"+ids["Ben"]+"/merge", `{"into":"`+ids["Ann"]+`"}`); code != 200 {
		t.Fatalf("merge: %d %s", code, b)
	}
	if got := people(); len(got) != 2 || got["Anna="+ids["Ann"]] != 2 || got["Cid="+ids["Cid"]] != 1 {
		t.Errorf("after rename and merge: %v", got)
	}
	if code, _, _ := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/carol/people/"+ids["Cid"], e.keys["a"], "", nil); code != 204 {
		t.Errorf("delete person: %d", code)
	}
	if code, _, _ := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/carol/people/"+ids["Cid"], e.keys["a"], "", nil); code != 404 {
		t.Errorf("delete twice: %d", code)
	}
	for _, f := range e.suggest(t, mirror) {
		for _, c := range f.Candidates {
			if c.Person.ID == ids["Cid"] {
				t.Errorf("deleted person still suggested: %+v", c)
			}
		}
	}
	// Revoking face_recognition destroys the gallery and every draft.
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/carol/consents/face_recognition", e.keys["a"], "", nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if got := people(); len(got) != 0 {
		t.Errorf("gallery survived revocation: %v", got)
	}
	if left, _ := e.st.Suggestions(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "carol")); len(left) != 0 {
		t.Errorf("%d drafts survived revocation", len(left))
	}
	if tags, _ := e.st.FaceTags(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "carol"), ""); len(tags) != 0 {
		t.Errorf("%d tags survived revocation", len(tags))
	}
	if code, _, _ := e.req(t, "POST", e.srv.URL+"/v1/assets/"+mirror+"/faces/suggest", e.keys["a"], "", nil); code != http.StatusForbidden {
		t.Errorf("suggest after revocation: %d", code)
	}
	// The audit log saw it all, without names or raw ids.
	entries, _ := e.st.AuditRange(t.Context(), "ten_a", 0, 10000)
	for _, en := range entries {
		raw := string(en.Body)
		for _, secret := range []string{"carol", "Anna", "Ann\"", "Cid", first, fs[0].SuggestionID} {
			if strings.Contains(raw, secret) {
				t.Errorf("audit entry holds %q: %s", secret, raw)
			}
		}
	}
}

// TestEraseSubjectRemovesDerivedRecords: erasing a subject takes its
// analysis result records, face-tag drafts and tags with it.
func TestEraseSubjectRemovesDerivedRecords(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	id := e.uploadPhoto(t, "a", "frank", "sample6.jpg")
	e.grant(t, "a", "frank", "tagging", "face_recognition")
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/analyze", e.keys["a"], "application/json", []byte(`{"features":["tags"]}`)); code != 200 {
		t.Fatalf("analyze: %d %s", code, b)
	}
	fs := e.suggest(t, id)
	if len(fs) == 0 {
		t.Fatal("no faces in sample6")
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+fs[0].SuggestionID+"/accept", e.keys["a"], "application/json", []byte(`{"person":"Gail"}`)); code != 200 {
		t.Fatalf("accept: %d %s", code, b)
	}
	h := e.api.d.Keys.HashID("subject", "frank")
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/frank", e.keys["a"], "", nil); code != 200 && code != 204 {
		t.Fatalf("erase: %d %s", code, b)
	}
	if recs, _ := e.st.Results(t.Context(), "ten_a", id); len(recs) != 0 {
		t.Errorf("%d result records survived erasure", len(recs))
	}
	if gs, _ := e.st.Suggestions(t.Context(), "ten_a", h); len(gs) != 0 {
		t.Errorf("%d drafts survived erasure", len(gs))
	}
	if tags, _ := e.st.FaceTags(t.Context(), "ten_a", h, ""); len(tags) != 0 {
		t.Errorf("%d face tags survived erasure", len(tags))
	}
}

// TestDeletePhotoRemovesWhatWasDerived: deleting a photo deletes its
// analysis results, pending face-tag drafts, tags and the gallery
// templates its faces added; the other photo's keep theirs, and the
// person stays while another photo holds them.
func TestDeletePhotoRemovesWhatWasDerived(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	e.grant(t, "a", "gina", "tagging", "face_recognition")
	h := e.api.d.Keys.HashID("subject", "gina")
	first := e.uploadPhoto(t, "a", "gina", "sample1.jpg")
	mirror := e.uploadBytes(t, "gina", mirrored(t, "sample1.jpg"))
	for _, id := range []string{first, mirror} {
		if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/analyze", e.keys["a"], "application/json", []byte(`{"features":["tags"]}`)); code != 200 {
			t.Fatalf("analyze: %d %s", code, b)
		}
	}
	fs := e.suggest(t, first)
	if len(fs) < 2 {
		t.Fatalf("sample1: %d faces", len(fs))
	}
	// Tag one face of the first photo as Ann; leave the others pending.
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+fs[0].SuggestionID+"/accept", e.keys["a"], "application/json", []byte(`{"person":"Ann"}`)); code != 200 {
		t.Fatalf("accept: %d %s", code, b)
	}
	// The same person in the mirror photo: suggested as Ann, accepted.
	ms := e.suggest(t, mirror)
	var annInMirror string
	for _, f := range ms {
		if len(f.Candidates) > 0 && f.Candidates[0].Person.Name == "Ann" {
			annInMirror = f.SuggestionID
		}
	}
	if annInMirror == "" {
		t.Fatalf("Ann not suggested in the mirror: %+v", ms)
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+annInMirror+"/accept", e.keys["a"], "application/json", []byte(`{"person":"Ann"}`)); code != 200 {
		t.Fatalf("accept in mirror: %d %s", code, b)
	}
	faces := func() int {
		t.Helper()
		ps, err := e.faces.People(t.Context(), "ten_a", h)
		if err != nil || len(ps) != 1 {
			t.Fatalf("people = %+v, %v", ps, err)
		}
		return ps[0].Faces
	}
	if n := faces(); n != 2 {
		t.Fatalf("Ann has %d templates, want 2", n)
	}
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/assets/"+first, e.keys["a"], "", nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if recs, _ := e.st.Results(t.Context(), "ten_a", first); len(recs) != 0 {
		t.Errorf("%d results survived their photo", len(recs))
	}
	gs, ts, _ := e.st.AssetFaces(t.Context(), "ten_a", first)
	if len(gs)+len(ts) != 0 {
		t.Errorf("drafts %v and tags %v survived their photo", gs, ts)
	}
	if n := faces(); n != 1 {
		t.Errorf("Ann has %d templates after her first photo went, want 1", n)
	}
	// The mirror photo keeps everything of its own.
	if recs, _ := e.st.Results(t.Context(), "ten_a", mirror); len(recs) != 1 {
		t.Errorf("the other photo has %d results, want 1", len(recs))
	}
	if gs, ts, _ := e.st.AssetFaces(t.Context(), "ten_a", mirror); len(ts) != 1 || len(gs) != len(ms)-1 {
		t.Errorf("the other photo: %d drafts, %d tags; want %d and 1", len(gs), len(ts), len(ms)-1)
	}
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/assets/"+first+"/analysis", e.keys["a"], "", nil); code != 404 {
		t.Errorf("analysis of a deleted photo: %d", code)
	}
}

// TestAdversarialFaceWithheld: a photo whose face was perturbed by a
// black-box evasion attack on the face embedder (±16 on a tenth of the
// face's pixel values, kept when they move the embedding most) is not
// refused: suggest answers for the photo's other faces and withholds the
// attacked one (nothing about it stored), analyze (faces, which does not
// use the embedder) answers as usual, and an adversarial_input alert is
// raised. Detection rates are measured in package guard/guardeval.
func TestAdversarialFaceWithheld(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	eng := testEngine(t)
	p := visiontest.Picture(t, "sample4.jpg")
	embs, err := eng.Embeddings(t.Context(), p)
	if err != nil || len(embs) == 0 {
		t.Fatalf("faces: %d %v", len(embs), err)
	}
	// The attack targets the guard's model (FaceRes), whose embedding the
	// squeezer compares; Embeddings gives the identity model's.
	f := embs[0].Face
	orig, err := eng.FaceEmbedder().Embed(t.Context(), p, f)
	if err != nil {
		t.Fatal(err)
	}
	cb := faceres.CropBox(f)
	crop := image.Rect(int(cb.X/p.Scale), int(cb.Y/p.Scale), int((cb.X+cb.W)/p.Scale), int((cb.Y+cb.H)/p.Scale)).Intersect(p.RGB.Rect)
	base := slices.Clone(p.RGB.Pix)
	rng := rand.New(rand.NewPCG(4, 2))
	best := 1.0
	for range 40 {
		cand := slices.Clone(p.RGB.Pix)
		for y := crop.Min.Y; y < crop.Max.Y; y++ {
			for x := crop.Min.X; x < crop.Max.X; x++ {
				for c := range 3 {
					if rng.IntN(10) == 0 {
						i := p.RGB.PixOffset(x, y) + c
						cand[i] = uint8(min(255, max(0, int(base[i])+16*(2*rng.IntN(2)-1))))
					}
				}
			}
		}
		q := &picture.Picture{RGB: &image.RGBA{Pix: cand, Stride: p.RGB.Stride, Rect: p.RGB.Rect}, Width: p.Width, Height: p.Height, Scale: p.Scale}
		v, err := eng.FaceEmbedder().Embed(t.Context(), q, f)
		if err != nil {
			t.Fatal(err)
		}
		sim := 0.0
		for i := range v {
			sim += float64(v[i]) * float64(orig[i])
		}
		if sim < best {
			best = sim
			copy(p.RGB.Pix, cand)
		}
	}
	t.Logf("attack moved the face's embedding to cosine %.3f", best)
	// Stored blocks, no deflate: the same pixels (PNG is lossless) in 11 MB
	// (within the default 25 MiB upload), without the minutes the default
	// compression of a 2.8 MP photo takes under the race detector.
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, p.RGB); err != nil {
		t.Fatal(err)
	}
	e.grant(t, "a", "ivy", "face_recognition", "face_detection")
	asset := e.uploadAs(t, "a", "ivy", "image/png", buf.Bytes())
	fs := e.suggest(t, asset)
	ab := f.Box.Round()
	for _, sf := range fs {
		if dx, dy := sf.Box["x"]-int(ab.X), sf.Box["y"]-int(ab.Y); dx*dx+dy*dy < 100 {
			t.Errorf("the attacked face was suggested: %+v", sf)
		}
	}
	if len(fs) != len(embs)-1 {
		t.Errorf("%d suggestions, want %d (every face but the attacked one)", len(fs), len(embs)-1)
	}
	h := e.api.d.Keys.HashID("subject", "ivy")
	if gs, _ := e.st.Suggestions(t.Context(), "ten_a", h); len(gs) != len(fs) {
		t.Errorf("%d drafts stored, want %d", len(gs), len(fs))
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+asset+"/analyze", e.keys["a"], "application/json", []byte(`{"features":["faces"]}`)); code != 200 {
		t.Errorf("analyze: %d %s", code, b)
	}
	alerts, _ := e.st.Alerts(t.Context(), "ten_a", 10)
	n := 0
	for _, al := range alerts {
		if al.Rule == "adversarial_input" {
			n++
		}
	}
	if n < 1 {
		t.Errorf("no adversarial_input alert: %+v", alerts)
	}
	// The untouched photo is analysed.
	clean := e.uploadPhoto(t, "a", "ivy", "sample4.jpg")
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+clean+"/analyze", e.keys["a"], "application/json", []byte(`{"features":["faces"]}`)); code != 200 {
		t.Errorf("clean photo: %d %s", code, b)
	}
}

// TestPrivacyLinkSingleUseAndShortLived: the link opens a session once;
// reused, expired or forged it is refused, and another tenant's key
// cannot mint links for this tenant's subjects (links name their tenant).
func TestPrivacyLinkSingleUseAndShortLived(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	mint := func() string {
		code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/subject-jo-5e1d/privacy-link", e.keys["a"], "", nil)
		var out struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(b, &out); code != 201 || !strings.Contains(out.URL, "/privacy/open/pt1.") {
			t.Fatalf("mint: %d %s", code, b)
		}
		return out.URL
	}
	open := func(url string) *http.Response {
		res, err := noRedirect.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	u := mint()
	res := open(u)
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "obscura_privacy" {
			session = c
		}
	}
	// 200 with a page that moves on by itself, not a redirect: see
	// e2e TestLinksOpenedFromAnotherSite.
	if res.StatusCode != http.StatusOK || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, "subject-jo-5e1d") {
		t.Fatalf("open: %d %+v", res.StatusCode, session)
	}
	if res := open(u); res.StatusCode != http.StatusForbidden {
		t.Errorf("second use: %d", res.StatusCode)
	}
	late := mint()
	e.clk.Advance(6 * time.Minute)
	if res := open(late); res.StatusCode != http.StatusForbidden {
		t.Errorf("expired link: %d", res.StatusCode)
	}
	forged := u[:len(u)-4] + "AAAA"
	if res := open(forged); res.StatusCode != http.StatusForbidden {
		t.Errorf("forged link: %d", res.StatusCode)
	}
	// Without a session the page refuses; the session cookie alone
	// cannot post a change without the CSRF token.
	if res := open(e.srv.URL + "/privacy"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/privacy/consent", strings.NewReader("purpose=tagging&action=grant"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(session)
	r2, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized && r2.StatusCode != http.StatusForbidden {
		t.Errorf("post without CSRF token: %d", r2.StatusCode)
	}
	if cs, _ := e.st.Consents(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "subject-jo-5e1d")); len(cs) != 0 {
		t.Errorf("a forged post changed consent: %+v", cs)
	}
}

// TestPrivacyCenterPagesPhotos: a subject with more photos than a page
// sees the newest PhotosPerPage first, the total, and a link to the rest;
// each photo's image is served only to its own subject's session.
func TestPrivacyCenterPagesPhotos(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range privacy.PhotosPerPage + 2 {
		ids = append(ids, e.uploadBytes(t, "kim", buf.Bytes()))
		e.clk.Advance(time.Second)
	}
	other := e.uploadBytes(t, "lee", buf.Bytes())
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/kim/privacy-link", e.keys["a"], "", nil)
	var link struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(b, &link); code != 201 {
		t.Fatalf("link: %d %s", code, b)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	get(strings.TrimPrefix(link.URL, e.srv.URL))
	_, first := get("/privacy")
	rows := func(page string) int { return strings.Count(page, `class="photo-row"`) }
	if !strings.Contains(first, fmt.Sprintf("%d photos stored", len(ids))) || rows(first) != privacy.PhotosPerPage ||
		!strings.Contains(first, `id="photo-`+ids[len(ids)-1]+`"`) || strings.Contains(first, `id="photo-`+ids[0]+`"`) || !strings.Contains(first, "page=2") {
		t.Errorf("first page: %d rows", rows(first))
	}
	_, second := get("/privacy?page=2")
	if rows(second) != 2 || !strings.Contains(second, `id="photo-`+ids[0]+`"`) || !strings.Contains(second, `id="photos-newer"`) {
		t.Errorf("second page: %d rows", rows(second))
	}
	if code, body := get("/privacy/photo/" + ids[0]); code != 200 || !strings.HasPrefix(body, "\xff\xd8") {
		t.Errorf("own photo: %d", code)
	}
	if code, _ := get("/privacy/photo/" + other); code != 404 {
		t.Errorf("another subject's photo: %d", code)
	}
}
