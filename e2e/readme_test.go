package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// walkthroughBlocks returns the ```sh blocks of README.md marked with a
// <!-- walkthrough --> comment on the line before, in order.
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- walkthrough -->\n```sh\n(.*?)```\n")
	var blocks []string
	for _, m := range re.FindAllStringSubmatch(string(readme), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// Issue 17.10: the README's walkthrough, run exactly as written (bash,
// curl, jq, ./bin/obscura, the sample photo) against a real server, from
// tenant to erase. Only OBS (where the server listens) and the data
// directory are set from outside, the way a reader's shell would have them.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
		}
	}
	blocks := walkthroughBlocks(t)
	if len(blocks) < 7 {
		t.Fatalf("found %d walkthrough blocks in README.md, want the whole flow (≥ 7)", len(blocks))
	}
	script := "set -euo pipefail\n" + strings.Join(blocks, "\n")
	for _, step := range []string{"tenant create", "/v1/uploads", "-X PUT", "/consents", `"async":true`, "faces/suggest", "/accept", "/download", "/export", "-X DELETE"} {
		if !strings.Contains(script, step) {
			t.Errorf("the walkthrough lost its %q step", step)
		}
	}

	s, data := sharedServer(t)
	// A working directory laid out like the repository root: bin/obscura
	// (the binary under test) and the committed sample photos.
	work := t.TempDir()
	bin, _ := binary()
	samples, _ := filepath.Abs("../internal/samples")
	os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	os.MkdirAll(filepath.Join(work, "internal"), 0o755)
	if err := os.Symlink(bin, filepath.Join(work, "bin", "obscura")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(samples, filepath.Join(work, "internal", "samples")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "OBSCURA_DATA="+data, "OBS="+s.base)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("walkthrough failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Logf("walkthrough output:\n%s", out)
	// What the README promises the reader sees, in order.
	for _, want := range []string{
		`"name":"My App"`,
		`"format":"jpeg","width":640,"height":640`,
		`"code":"consent_required"`, `"purposes":["face_detection","tagging"]`,
		`{"purpose":"face_recognition","notice_version":"2026-12"}`,
		`"label":"person"`, `"sensitive":{"label":"safe"`,
		`{"state":"completed","results":{`, `"tags":[{"label":"person"`,
		`"person":{"id":"`, `"name":"Eileen"}`, `"score":`,
		"alice-export.zip", "astronaut-sanitized.jpg",
		`"code":"not_found"`,
	} {
		i := strings.Index(out, want)
		if i < 0 {
			t.Errorf("walkthrough output lacks %s", want)
			continue
		}
		out = out[i:]
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Errorf("walkthrough wrote to stderr:\n%s", stderr.String())
	}
}
