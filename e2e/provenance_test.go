package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/c2pa"
	"github.com/obscuraproject/obscura/internal/c2pa/c2patest"
	"github.com/obscuraproject/obscura/internal/provenance"
)

// goldenDir holds a C2PA-signed JPEG and its CA (internal/c2pa/testdata).
const goldenDir = "../internal/c2pa/testdata/"

// verifyOverHTTP posts an image to /v1/provenance/verify.
func verifyOverHTTP(t *testing.T, s *server, key string, img []byte) (int, provenance.Verification, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/v1/provenance/verify", bytes.NewReader(img))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v provenance.Verification
	json.Unmarshal(b, &v)
	return res.StatusCode, v, b
}

// TestProvenanceVerify: the server's CA exists from start; verify answers
// over HTTP and in the CLI for a manifest signed under another CA, for an
// unsigned photo and for garbage; an upload of a signed file is stored
// without its manifest.
func TestProvenanceVerify(t *testing.T) {
	t.Parallel()
	s, data := sharedServer(t)
	tn := createTenant(t, data, "Provenance App")
	golden, err := os.ReadFile(goldenDir + "golden.jpg")
	if err != nil {
		t.Fatal(err)
	}

	// The installation CA was created at first start.
	if ca := obscura(t, data, "provenance", "ca"); !bytes.HasPrefix(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("provenance ca: %s", ca)
	}

	// Signed, but not by this installation: present, not valid.
	code, v, b := verifyOverHTTP(t, s, tn.APIKey, golden)
	if code != 200 || !v.C2PA.Present || v.C2PA.Valid || !slices.Contains(v.C2PA.Failures, "signingCredential.untrusted") ||
		!slices.Equal(v.C2PA.Actions, []string{"c2pa.opened", "c2pa.edited"}) || v.Watermark.Found {
		t.Fatalf("golden over HTTP: %d %s", code, b)
	}
	// The CLI agrees: untrusted under the installation CA, valid offline
	// with the golden CA.
	cmd := exec.Command(mustBinary(t), "provenance", "verify", goldenDir+"golden.jpg", "--json")
	cmd.Env = append(os.Environ(), "OBSCURA_DATA="+data)
	out, err := cmd.Output()
	var cli provenance.Verification
	if json.Unmarshal(out, &cli); err == nil || cli.C2PA.Valid || !slices.Equal(cli.C2PA.Failures, v.C2PA.Failures) {
		t.Fatalf("CLI against the installation CA: %v %s", err, out)
	}
	out = obscura(t, data, "provenance", "verify", goldenDir+"golden.jpg", "--ca", goldenDir+"golden-ca.pem", "--json")
	cli = provenance.Verification{}
	if json.Unmarshal(out, &cli); !cli.C2PA.Valid || cli.C2PA.Signer != "Golden signer" || *cli.C2PA.CreatedAt != *v.C2PA.CreatedAt {
		t.Fatalf("CLI offline: %s", out)
	}

	// An unsigned photo: nothing present, nothing found.
	photo := jpegPhoto(t)
	if code, v, b := verifyOverHTTP(t, s, tn.APIKey, photo); code != 200 || v.C2PA.Present || v.Watermark.Found {
		t.Fatalf("unsigned: %d %s", code, b)
	}
	// Garbage is a problem with a stable code.
	if code, _, b := verifyOverHTTP(t, s, tn.APIKey, []byte("not an image at all")); code != 422 || !strings.Contains(string(b), `"code":"image_invalid"`) {
		t.Fatalf("garbage: %d %s", code, b)
	}

	// Uploads are stripped of manifests, whoever signed them.
	id := uploadPhotoAs(t, s, tn.APIKey, "prov-subject", golden)
	stored := download(t, s, tn.APIKey, id)
	if stored == nil {
		t.Fatal("download failed")
	}
	if loc, err := c2pa.FindStore(stored); err != nil || loc != nil || bytes.Contains(stored, []byte("c2pa")) {
		t.Fatalf("stored upload still carries a manifest (%v)", err)
	}
}

func mustBinary(t *testing.T) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestMemeDraftsCarryProvenance: every meme draft made by a real server
// validates in c2pa-rs with the installation CA as its only anchor, carries
// the tenant's watermark, and verifies over HTTP and in the CLI; accepting
// keeps the signed bytes and verify then names the asset; a changed pixel
// fails in c2pa-rs.
func TestMemeDraftsCarryProvenance(t *testing.T) {
	t.Parallel()
	ref := c2patest.Reader(t)
	s, data := sharedServer(t)
	tn := createTenant(t, data, "Provenance Memes")
	key := tn.APIKey
	const subj = "prov-meme-subject-4417"
	src := uploadPhotoAs(t, s, key, subj, samplePhoto(t))
	grantPurpose(t, s, key, subj, "tagging", "")
	grantPurpose(t, s, key, subj, "meme_generation", "")
	code, b := do(t, "POST", s.base+"/v1/assets/"+src+"/memes", key, []byte(`{}`))
	var made struct {
		Drafts []struct {
			DraftID string `json:"draft_id"`
		} `json:"drafts"`
	}
	if json.Unmarshal(b, &made); code != 201 || len(made.Drafts) == 0 {
		t.Fatalf("memes: %d %s", code, b)
	}
	ca := obscura(t, data, "provenance", "ca")
	dir := t.TempDir()
	var first []byte
	for i, d := range made.Drafts {
		code, b := do(t, "POST", s.base+"/v1/drafts/"+d.DraftID+"/download", key, nil)
		var dl struct {
			DownloadURL string `json:"download_url"`
		}
		if json.Unmarshal(b, &dl); code != 200 {
			t.Fatalf("draft download: %d %s", code, b)
		}
		code, img := do(t, "GET", dl.DownloadURL, "", nil)
		if code != 200 {
			t.Fatalf("draft bytes: %d", code)
		}
		p := filepath.Join(dir, fmt.Sprintf("meme%d.jpg", i))
		os.WriteFile(p, img, 0o600)
		if rep := ref(p, ca); rep.ValidationState != "Trusted" || len(rep.FailureCodes()) != 0 {
			t.Fatalf("draft %d in c2pa-rs: %s", i, rep.Raw)
		}
		if code, v, b := verifyOverHTTP(t, s, key, img); code != 200 || !v.C2PA.Valid || !v.Watermark.Found {
			t.Fatalf("draft %d over HTTP: %d %s", i, code, b)
		}
		if i == 0 {
			first = img
			out := obscura(t, data, "provenance", "verify", p, "--tenant", tn.TenantID, "--json")
			var cli provenance.Verification
			if json.Unmarshal(out, &cli); !cli.C2PA.Valid || !cli.Watermark.Found {
				t.Fatalf("draft over CLI: %s", out)
			}
		}
	}
	// A changed pixel byte fails in the reference reader.
	bad := bytes.Clone(first)
	bad[len(bad)-20] ^= 0x10
	p := filepath.Join(dir, "tampered.jpg")
	os.WriteFile(p, bad, 0o600)
	if rep := ref(p, ca); !slices.Contains(rep.FailureCodes(), "assertion.dataHash.mismatch") {
		t.Fatalf("tampered draft in c2pa-rs: %s", rep.Raw)
	}
	// Accepted: the asset is the same signed bytes, and verify names it.
	code, b = do(t, "POST", s.base+"/v1/drafts/"+made.Drafts[0].DraftID+"/accept", key, nil)
	var acc struct {
		AssetID string `json:"asset_id"`
	}
	if json.Unmarshal(b, &acc); code != 201 || acc.AssetID == "" {
		t.Fatalf("accept: %d %s", code, b)
	}
	if got := download(t, s, key, acc.AssetID); !bytes.Equal(got, first) {
		t.Fatal("the accepted asset's bytes differ from the signed draft")
	}
	if code, v, b := verifyOverHTTP(t, s, key, first); code != 200 || !v.C2PA.Valid || v.Watermark.AssetID != acc.AssetID {
		t.Fatalf("accepted over HTTP: %d %s", code, b)
	}
}
