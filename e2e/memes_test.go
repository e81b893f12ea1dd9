package e2e

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 19 "done when", over a real `obscura serve`: consent refusal;
// three meme drafts rendered and downloaded (decodable JPEG, no personal
// metadata per exiftool); accept → an asset that survives revocation and
// source deletion and goes with erasure; reject → nothing left (TTL
// expiry under an injected clock: memes_ttl_test.go); revocation → drafts
// gone; a user caption refused with its categories; and a leak scan of
// the data directory and the logs.

type memeDrafts struct {
	Drafts []struct {
		DraftID string `json:"draft_id"`
		Caption struct {
			Top    string `json:"top"`
			Bottom string `json:"bottom"`
		} `json:"caption"`
		Template  string    `json:"template"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"drafts"`
}

// memeBlobs counts the sealed objects under a purpose segment (every
// subject of every tenant).
func memeBlobs(t *testing.T, data, segment string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(data, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(filepath.ToSlash(p), "/"+segment+"/") {
			n++
		}
		return nil
	})
	return n
}

func listDrafts(t *testing.T, s *server, key, subj string) []string {
	t.Helper()
	code, b := do(t, "GET", s.base+"/v1/subjects/"+subj+"/drafts", key, nil)
	var out struct {
		Drafts []struct {
			DraftID string `json:"draft_id"`
		} `json:"drafts"`
	}
	if json.Unmarshal(b, &out); code != 200 {
		t.Fatalf("list drafts: %d %s", code, b)
	}
	var ids []string
	for _, d := range out.Drafts {
		ids = append(ids, d.DraftID)
	}
	return ids
}

func TestMemeDraftsEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Memes E2E")
	s := startServer(t, data)
	key := tn.APIKey
	const subj, other = "meme-subject-e2e-9931", "meme-revoker-e2e-5521"
	const userCaption = "ZEBRACAPTION when the build"
	photo := samplePhoto(t)
	src := uploadPhotoAs(t, s, key, subj, photo)
	memes := s.base + "/v1/assets/" + src + "/memes"

	// Consent refusal: tagging alone does not allow memes.
	grantPurpose(t, s, key, subj, "tagging", "")
	code, b := do(t, "POST", s.base+"/v1/assets/"+src+"/analyze", key, []byte(`{"features":["tags"]}`))
	var res struct {
		Tags []struct {
			Label string `json:"label"`
		} `json:"tags"`
	}
	if json.Unmarshal(b, &res); code != 200 || len(res.Tags) == 0 {
		t.Fatalf("tags of the photo: %d %s", code, b)
	}
	var tags []string
	for _, tg := range res.Tags {
		tags = append(tags, tg.Label)
	}
	if code, b := do(t, "POST", memes, key, []byte(`{}`)); code != 403 || !bytes.Contains(b, []byte(`"consent_required"`)) || !bytes.Contains(b, []byte("meme_generation")) {
		t.Fatalf("without meme_generation: %d %s", code, b)
	}
	if n := memeBlobs(t, data, "meme_generation"); n != 0 {
		t.Fatalf("%d drafts stored without consent", n)
	}
	grantPurpose(t, s, key, subj, "meme_generation", "")

	// A refused user caption: 422 with its categories, nothing stored.
	code, b = do(t, "POST", memes, key, []byte(`{"text":{"top":"my d1abet1c neighbour","bottom":"Ann's new address"}}`))
	var prob struct {
		Code       string   `json:"code"`
		Categories []string `json:"categories"`
	}
	if json.Unmarshal(b, &prob); code != 422 || prob.Code != "caption_rejected" || !slices.Contains(prob.Categories, "health") {
		t.Fatalf("refused caption: %d %s", code, b)
	}
	if code, b := do(t, "POST", s.base+"/v1/captions/check", key, []byte(`{"text":"pr3gnant again lol"}`)); code != 200 || !bytes.Contains(b, []byte(`"health"`)) {
		t.Errorf("captions check: %d %s", code, b)
	}

	// Three drafts, rendered and downloadable.
	code, b = do(t, "POST", memes, key, []byte(`{}`))
	var made memeDrafts
	if json.Unmarshal(b, &made); code != 201 || len(made.Drafts) != 3 {
		t.Fatalf("memes: %d %s", code, b)
	}
	var captions []string
	for _, d := range made.Drafts {
		code, b := do(t, "POST", s.base+"/v1/drafts/"+d.DraftID+"/download", key, nil)
		var dl struct {
			DownloadURL string `json:"download_url"`
		}
		json.Unmarshal(b, &dl)
		code2, img := do(t, "GET", dl.DownloadURL, "", nil)
		if _, err := jpeg.Decode(bytes.NewReader(img)); code != 200 || code2 != 200 || err != nil {
			t.Fatalf("download %s: %d %d %v", d.DraftID, code, code2, err)
		}
		for k := range exifTags(t, img) {
			if strings.HasPrefix(k, "GPS") || strings.HasPrefix(k, "IFD") || strings.HasPrefix(k, "ExifIFD") || strings.HasPrefix(k, "XMP") ||
				strings.HasPrefix(k, "IPTC") || strings.HasPrefix(k, "Photoshop") || strings.HasSuffix(k, ":Make") || strings.HasSuffix(k, ":Model") {
				t.Errorf("draft carries metadata %s", k)
			}
		}
		if code, _ := do(t, "GET", dl.DownloadURL, "", nil); code != 409 {
			t.Errorf("second download: %d", code)
		}
		for _, c := range []string{d.Caption.Top, d.Caption.Bottom} {
			if len(c) >= 8 {
				captions = append(captions, c)
			}
		}
	}
	// Accept one → an ordinary asset; reject one → gone.
	code, b = do(t, "POST", s.base+"/v1/drafts/"+made.Drafts[0].DraftID+"/accept", key, nil)
	var acc struct {
		AssetID string `json:"asset_id"`
	}
	if json.Unmarshal(b, &acc); code != 201 || acc.AssetID == "" {
		t.Fatalf("accept: %d %s", code, b)
	}
	if code, _ := do(t, "POST", s.base+"/v1/drafts/"+made.Drafts[1].DraftID+"/reject", key, nil); code != 204 {
		t.Errorf("reject: %d", code)
	}
	if code, _ := do(t, "POST", s.base+"/v1/drafts/"+made.Drafts[1].DraftID+"/download", key, nil); code != 404 {
		t.Errorf("a rejected draft still downloads: %d", code)
	}
	// The user's own caption: one draft.
	code, b = do(t, "POST", memes, key, []byte(`{"text":{"top":"`+userCaption+`","bottom":"finally passes"}}`))
	var mine memeDrafts
	if json.Unmarshal(b, &mine); code != 201 || len(mine.Drafts) != 1 || mine.Drafts[0].Template != "user" {
		t.Fatalf("user caption: %d %s", code, b)
	}

	// Revocation (another subject, meanwhile): drafts gone at once.
	src2 := uploadPhotoAs(t, s, key, other, photo)
	grantPurpose(t, s, key, other, "meme_generation", "")
	if code, b := do(t, "POST", s.base+"/v1/assets/"+src2+"/memes", key, []byte(`{"count":2}`)); code != 201 {
		t.Fatalf("memes of the second subject: %d %s", code, b)
	}
	if n := len(listDrafts(t, s, key, other)); n != 2 {
		t.Fatalf("second subject has %d drafts", n)
	}
	if code, b := do(t, "DELETE", s.base+"/v1/subjects/"+other+"/consents/meme_generation", key, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if ids := listDrafts(t, s, key, other); len(ids) != 0 {
		t.Errorf("drafts after revocation: %v", ids)
	}

	// Reject what is left (TTL expiry, under an injected clock, is
	// TestMemeDraftTTLInjectedClock in memes_ttl_test.go).
	for _, id := range []string{made.Drafts[2].DraftID, mine.Drafts[0].DraftID} {
		if code, _ := do(t, "POST", s.base+"/v1/drafts/"+id+"/reject", key, nil); code != 204 {
			t.Errorf("reject: %d", code)
		}
	}
	if ids := listDrafts(t, s, key, subj); len(ids) != 0 {
		t.Errorf("drafts after rejection: %v", ids)
	}
	if n := memeBlobs(t, data, "meme_generation"); n != 0 {
		t.Errorf("%d sealed drafts left after rejection and revocation", n)
	}
	if n := countRows(t, data, "SELECT count(*) FROM drafts"); n != 0 {
		t.Errorf("%d draft records left", n)
	}

	// The accepted meme is the subject's own: it survives revocation of
	// meme_generation and deletion of its source photo ...
	if code, b := do(t, "DELETE", s.base+"/v1/subjects/"+subj+"/consents/meme_generation", key, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if code, _ := do(t, "DELETE", s.base+"/v1/assets/"+src, key, nil); code != 204 {
		t.Fatalf("delete source: %d", code)
	}
	kept := download(t, s, key, acc.AssetID)
	if _, err := jpeg.Decode(bytes.NewReader(kept)); err != nil {
		t.Fatalf("the accepted meme went with revocation or source deletion: %v", err)
	}

	// Leak scan: no caption text, tag names or subject ids in clear in the
	// data directory or the logs.
	markers := map[string][]byte{"subject id": []byte(subj), "other subject id": []byte(other), "user caption": []byte("ZEBRACAPTION")}
	for i, c := range captions {
		markers["caption "+string(rune('a'+i))] = []byte(c)
	}
	// The photo's own tags (what the captions drew on; read back through
	// the API above), of five letters or more (shorter ones occur by chance
	// in megabytes of ciphertext). "person" is left to the blob scan below,
	// since the database schema names a person_id column.
	for _, tg := range tags {
		if tg != "person" && len(tg) >= 5 {
			markers["tag "+tg] = []byte(tg)
		}
	}
	if hits := scanTree(t, data, markers); len(hits) > 0 {
		t.Errorf("in clear in the data directory: %v", hits)
	}
	if hits := scanTree(t, filepath.Join(data, "blobs"), map[string][]byte{"tag person": []byte("person")}); len(hits) > 0 {
		t.Errorf("in clear in the blobs: %v", hits)
	}
	logs := s.logs.String()
	for name, m := range markers {
		if strings.Contains(logs, string(m)) {
			t.Errorf("%s in the logs", name)
		}
	}

	// ... and goes with erasure.
	if code, b := do(t, "DELETE", s.base+"/v1/subjects/"+subj, key, nil); code != 200 && code != 204 {
		t.Fatalf("erase: %d %s", code, b)
	}
	if downloadable(t, s, key, acc.AssetID) {
		t.Error("the accepted meme survived erasure")
	}
	if n := countRows(t, data, "SELECT count(*) FROM generated_assets"); n != 0 {
		t.Errorf("%d generated marks left after erasure", n)
	}
}
