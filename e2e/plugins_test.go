package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/internal/plugin/plugintest"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// hostilePlugins run past a limit; each must end in 422 plugin_failed with
// the named reason, an alert, and nothing stored.
var hostilePlugins = map[string]string{
	"loop": "timeout", "memory": "memory", "huge": "output_too_large", "panic": "trap", "logflood": "log_flood",
}

// obscuraFail runs a CLI command that must fail and returns its stderr.
func obscuraFail(t *testing.T, data string, args ...string) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OBSCURA_DATA="+data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("obscura %v succeeded; want a refusal", args)
	}
	return stderr.String()
}

// TestPluginsAgainstRealServer: the supply chain through the CLI (escaping
// modules refused with an alert), then one `obscura serve` with the
// shipped plugins installed at start: consent gates (face_detection for a
// plugin that declares faces), every hostile plugin contained with
// plugin_failed and an alert while the server carries on, the per-plugin
// kill switch, and issue 21's done-when check of face-blur's redaction.
func TestPluginsAgainstRealServer(t *testing.T) {
	t.Parallel()
	pkgs := []string{"plugins/face-blur", "plugins/sticker", "internal/plugin/testdata/hostile/socket", "internal/plugin/testdata/hostile/file"}
	for h := range hostilePlugins {
		pkgs = append(pkgs, "internal/plugin/testdata/hostile/"+h)
	}
	t0 := time.Now()
	built := plugintest.Build(t, pkgs...)
	work, data, shipped := t.TempDir(), t.TempDir(), t.TempDir()
	for _, n := range []string{"face-blur", "sticker"} {
		b, err := os.ReadFile(built["plugins/"+n])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shipped, n+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tn := createTenant(t, data, "Plugins App")

	// A third-party publisher signs the hostile modules (in process: the
	// CLI's keygen and sign are covered by cmd/obscura's plugin.txtar); the
	// operator trusts it. Escaping modules are refused at install with an
	// alert.
	pubKey, privKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(work, "acme.pem")
	if err := os.WriteFile(pub, plugin.MarshalPublicKey(pubKey), 0o644); err != nil {
		t.Fatal(err)
	}
	obscura(t, data, "plugin", "trust", "--publisher", "acme", "--key", pub)
	install := func(name string) (string, string) {
		wasm := built["internal/plugin/testdata/hostile/"+name]
		b, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		file, err := plugin.Sign(plugin.Manifest{Format: plugin.Format, Name: name, Version: "1.0.0", Publisher: "acme",
			SHA256: plugin.SHA256Hex(b), ABI: plugin.ABIVersion, Capabilities: []string{}}, plugin.KeySigner(privKey))
		if err != nil {
			t.Fatal(err)
		}
		signed := filepath.Join(work, name+".json")
		if err := os.WriteFile(signed, file, 0o644); err != nil {
			t.Fatal(err)
		}
		return wasm, signed
	}
	for _, name := range []string{"socket", "file"} {
		wasm, signed := install(name)
		stderr := obscuraFail(t, data, "plugin", "install", wasm, "--manifest", signed)
		if !strings.Contains(stderr, "obscura: plugin rejected: imports outside the allow-list") || !strings.Contains(stderr, "plugin_escape_attempt") {
			t.Errorf("%s install: %s", name, stderr)
		}
	}
	for h := range hostilePlugins {
		wasm, signed := install(h)
		obscura(t, data, "plugin", "install", wasm, "--manifest", signed)
	}

	t.Logf("supply chain through the CLI: %v", time.Since(t0))
	// The run timeout covers instantiating the module too: at 1 s the
	// "huge" plugin ended in a timeout before it could ask for its output
	// (session 10, load 18-20 on 2 cores, where a process gets about a
	// tenth of a core), which fails the test without a defect. 5 s is what the loop plugin burns of one core before it is
	// stopped.
	s := startServer(t, data, "OBSCURA_PLUGINS="+shipped, "OBSCURA_PLUGIN_TIMEOUT=5s")
	t.Logf("server up: %v", time.Since(t0))
	code, _, b := s.get(t, "/v1/plugins", tn.APIKey)
	var list struct {
		Plugins []struct {
			Name      string   `json:"name"`
			Publisher string   `json:"publisher"`
			Purposes  []string `json:"purposes"`
			Enabled   bool     `json:"enabled"`
		} `json:"plugins"`
	}
	if json.Unmarshal(b, &list); code != 200 || len(list.Plugins) != 2+len(hostilePlugins) {
		t.Fatalf("GET /v1/plugins: %d %s", code, b)
	}
	for _, p := range list.Plugins {
		if p.Name == "face-blur" && (p.Publisher != "obscura-local" || strings.Join(p.Purposes, ",") != "plugin:face-blur,face_detection" || !p.Enabled) {
			t.Errorf("face-blur listed as %+v", p)
		}
	}

	photo := samplePhoto(t) // three faces
	const subj = "plugin-subject-5c1e"
	asset := uploadPhotoAs(t, s, tn.APIKey, subj, photo)
	run := func(name, params string) (int, []byte) {
		return do(t, "POST", s.base+"/v1/assets/"+asset+"/plugins/"+name, tn.APIKey, []byte(`{"params":`+params+`}`))
	}
	drafts := func() int {
		code, _, b := s.get(t, "/v1/subjects/"+subj+"/drafts", tn.APIKey)
		var d struct {
			Drafts []any `json:"drafts"`
		}
		if json.Unmarshal(b, &d); code != 200 {
			t.Fatalf("drafts: %d %s", code, b)
		}
		return len(d.Drafts)
	}

	// Consent: none, then the plugin's own purpose without face_detection
	// (a plugin that declares faces never runs without them).
	if code, b := run("face-blur", `{}`); code != 403 || !strings.Contains(string(b), `"purposes":["plugin:face-blur","face_detection"]`) {
		t.Fatalf("without consent: %d %s", code, b)
	}
	grantPurpose(t, s, tn.APIKey, subj, "plugin:face-blur", "")
	if code, b := run("face-blur", `{}`); code != 403 || !strings.Contains(string(b), `"purpose":"face_detection"`) {
		t.Fatalf("faces declared, face_detection not granted: %d %s", code, b)
	}
	if n := drafts(); n != 0 {
		t.Fatalf("%d drafts stored by refused runs", n)
	}
	if code, b := run("face-blur", `{"mode":"sharpen"}`); code != 400 || !strings.Contains(string(b), "not one of the allowed values") {
		t.Errorf("parameter outside the schema: %d %s", code, b)
	}

	// Every hostile plugin is contained; the server carries on.
	for h, reason := range hostilePlugins {
		grantPurpose(t, s, tn.APIKey, subj, "plugin:"+h, "")
		start := time.Now()
		code, b := run(h, `{}`)
		if code != 422 || !strings.Contains(string(b), `"code":"plugin_failed"`) || !strings.Contains(string(b), "plugin failed: "+reason) {
			t.Errorf("%s: %d %s (want 422 plugin_failed: %s)", h, code, b, reason)
		}
		// The limits are 5 s of wall time and memory, output and log caps;
		// an unenforced one runs on until the worker's 60 s request timeout
		// or forever. 45 s leaves a loaded machine room for the request
		// around the run without letting that pass.
		if d := time.Since(start); d > 45*time.Second {
			t.Errorf("%s contained after %v", h, d)
		}
	}
	t.Logf("hostile runs done: %v", time.Since(t0))
	if code, _, _ := s.get(t, "/healthz", ""); code != 200 {
		t.Fatalf("server down after hostile plugins: %d", code)
	}
	if n := drafts(); n != 0 {
		t.Fatalf("%d drafts stored by hostile runs", n)
	}
	code, _, b = s.get(t, "/v1/admin/alerts", tn.APIKey)
	if code != 200 || strings.Count(string(b), "plugin_escape_attempt") < len(hostilePlugins) {
		t.Errorf("alerts: %d %s", code, b)
	}

	// The per-plugin kill switch (the console's "disable") reaches the
	// running server. The deadlines only bound a server that never obeys
	// (one plugin run has taken over 5 s on a saturated machine); how soon
	// a switch takes effect is TestKillSwitchFromCLIReachesRunningServer's.
	obscura(t, data, "incident", "kill-switch", "on", "--tenant", tn.TenantID, "--feature", "plugin:face-blur")
	grantPurpose(t, s, tn.APIKey, subj, "face_detection", "")
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, b := run("face-blur", `{}`)
		if code == 503 && strings.Contains(string(b), "kill_switch") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kill switch not obeyed: %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	obscura(t, data, "incident", "kill-switch", "off", "--tenant", tn.TenantID, "--feature", "plugin:face-blur")
	var dr struct {
		ID        string `json:"draft_id"`
		Purpose   string `json:"purpose"`
		Generator struct {
			Feature, Name, Version string
		} `json:"generator"`
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, b = run("face-blur", `{"mode":"pixelate"}`)
		if code == 201 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if json.Unmarshal(b, &dr); code != 201 || dr.Purpose != "plugin:face-blur" || dr.Generator.Name != "face-blur" || dr.Generator.Feature != "plugin" {
		t.Fatalf("face-blur: %d %s", code, b)
	}
	code, b = do(t, "POST", s.base+"/v1/drafts/"+dr.ID+"/accept", tn.APIKey, nil)
	var acc struct {
		AssetID string `json:"asset_id"`
	}
	if json.Unmarshal(b, &acc); code != 201 || acc.AssetID == "" {
		t.Fatalf("accept: %d %s", code, b)
	}
	redacted := download(t, s, tn.APIKey, acc.AssetID)
	if redacted == nil {
		t.Fatal("accepted draft does not download")
	}
	t.Logf("face-blur accepted: %v", time.Since(t0))
	checkRedaction(t, photo, redacted)
	t.Logf("redaction checked: %v", time.Since(t0))

	// Nothing in clear: the subject id is in no log line.
	if strings.Contains(s.logs.String(), subj) {
		t.Error("the subject id is in the server log")
	}
}

// lowScore is the lowered detection threshold of the done-when check:
// well under BlazeFace's production MinScore (0.45).
const lowScore = 0.2

// checkRedaction is issue 21's done-when check, independent of the boxes
// face-blur was given: on the original photo BlazeFace finds the faces;
// on the accepted output, for each face's redacted region (the box plus
// face-blur's default 25% margin), the highest face score BlazeFace gives
// the region's crop is below lowScore, and the ArcFace embedding at the
// original face's place no longer matches the original face (cosine below
// the calibrated suggest threshold).
func checkRedaction(t *testing.T, original, redacted []byte) {
	t.Helper()
	m, dir := models.Pinned(), models.DefaultDir(os.Getenv)
	if err := ort.Init(m, dir); err != nil {
		t.Fatal(err)
	}
	load := func(name string) []byte {
		b, err := m.Load(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	det, err := blazeface.New(load(blazeface.ModelFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := arcface.New(load(arcface.ModelFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte) *picture.Picture {
		p, err := picture.Decode(b, picture.Options{MaxPixels: 50_000_000})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	orig, red := decode(original), decode(redacted)
	if orig.Width != red.Width || orig.Height != red.Height {
		t.Fatalf("output %dx%d, original %dx%d", red.Width, red.Height, orig.Width, orig.Height)
	}
	faces, err := det.Detect(ctx, orig)
	if err != nil || len(faces) != 3 {
		t.Fatalf("faces in the original: %d, %v", len(faces), err)
	}
	for i, f := range faces {
		region := image.Rect(int(f.Box.X-0.25*f.Box.W), int(f.Box.Y-0.25*f.Box.H), int(f.Box.X+1.25*f.Box.W), int(f.Box.Y+1.25*f.Box.H)).
			Intersect(orig.RGB.Rect)
		before, after := maxFaceScore(t, det, orig, region), maxFaceScore(t, det, red, region)
		v0, err := emb.Embed(ctx, orig, f)
		if err != nil {
			t.Fatal(err)
		}
		v1, err := emb.Embed(ctx, red, f)
		if err != nil {
			t.Fatal(err)
		}
		sim := cosine(v0, v1)
		t.Logf("face %d: region face score %.3f → %.3f; embedding similarity to the original %.3f (match threshold %.2f)", i, before, after, sim, arcface.SuggestThreshold)
		if before < 0.45 {
			t.Errorf("face %d: the unredacted region scores only %.3f; the check is not measuring anything", i, before)
		}
		if after >= lowScore {
			t.Errorf("face %d: BlazeFace still scores %.3f ≥ %.2f in the redacted region", i, after, lowScore)
		}
		if sim >= arcface.SuggestThreshold {
			t.Errorf("face %d: the redacted region's embedding matches the original face (cosine %.3f)", i, sim)
		}
	}
}

// maxFaceScore is BlazeFace's highest face score (any anchor) on the crop
// r of p, letterboxed as the detector expects.
func maxFaceScore(t *testing.T, det *blazeface.Detector, p *picture.Picture, r image.Rectangle) float64 {
	t.Helper()
	crop := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		copy(crop.Pix[y*crop.Stride:(y+1)*crop.Stride], p.RGB.Pix[(r.Min.Y+y)*p.RGB.Stride+4*r.Min.X:])
	}
	outs, err := det.Raw(blazeface.Input(&picture.Picture{RGB: crop, Width: r.Dx(), Height: r.Dy(), Scale: 1}))
	if err != nil {
		t.Fatal(err)
	}
	best := 0.0
	for _, o := range []int{0, 2} {
		for _, logit := range outs[o].Data {
			best = math.Max(best, 1/(1+math.Exp(-float64(logit))))
		}
	}
	return best
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}
