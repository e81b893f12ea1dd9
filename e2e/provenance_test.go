package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/c2pa"
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
	data := t.TempDir()
	tn := createTenant(t, data, "Provenance App")
	s := startServer(t, data)
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
