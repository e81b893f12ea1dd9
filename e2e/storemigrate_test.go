package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

// TestStoreMigrateToPostgres moves a used embedded installation up:
// `obscura store migrate --to postgres://…` copies it with verified counts
// and audit chain, a server started on the target serves the photo
// uploaded before the move (same bytes), `obscura audit verify` passes on
// the target, an erasure there makes the photo unreadable, and a second
// migrate into the now non-empty target is refused with one clear line.
func TestStoreMigrateToPostgres(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Move Up")
	s := startServer(t, data)
	photo := jpegPhoto(t)
	id := uploadPhotoAs(t, s, tn.APIKey, "alice", photo)
	keep := uploadPhotoAs(t, s, tn.APIKey, "bob", photo)
	before := download(t, s, tn.APIKey, id)
	if before == nil {
		t.Fatal("download before the move failed")
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()

	url := pgtest.URL(t)
	var sum struct {
		Report struct {
			Rows      int64 `json:"rows"`
			ScopeKeys int   `json:"scope_keys_rewrapped"`
			Tables    []struct {
				Table          string
				Source, Target int64
			} `json:"tables"`
		} `json:"report"`
		Audit struct {
			Entries int64 `json:"entries"`
		} `json:"audit"`
	}
	out := obscura(t, data, "store", "migrate", "--to", url, "--json")
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("migrate output %q: %v", out, err)
	}
	if sum.Report.Rows == 0 || sum.Report.ScopeKeys < 2 || sum.Audit.Entries == 0 {
		t.Errorf("migrate summary %+v", sum)
	}
	for _, tc := range sum.Report.Tables {
		if tc.Source != tc.Target {
			t.Errorf("%s: source %d, target %d", tc.Table, tc.Source, tc.Target)
		}
	}

	env := []string{"OBSCURA_DATABASE_URL=" + url}
	s2 := startServer(t, data, env...)
	if got := download(t, s2, tn.APIKey, id); !bytes.Equal(got, before) {
		t.Fatalf("photo on the target: %d bytes, want the %d bytes served before the move", len(got), len(before))
	}
	if out := obscuraEnv(t, data, env, "audit", "verify"); !strings.HasPrefix(string(out), "ok:") {
		t.Errorf("audit verify on the target: %s", out)
	}
	// Erasure on the target: the subject's photo is gone, the other stays.
	if code, b := do(t, "DELETE", s2.base+"/v1/subjects/alice", tn.APIKey, nil); code/100 != 2 {
		t.Fatalf("erase on the target: %d %s", code, b)
	}
	if downloadable(t, s2, tn.APIKey, id) {
		t.Error("the erased subject's photo still downloads on the target")
	}
	if !downloadable(t, s2, tn.APIKey, keep) {
		t.Error("another subject's photo was lost by the erasure")
	}

	// A second migrate: the target is not empty.
	if stderr, err := obscuraFails(t, data, env, "store", "migrate", "--to", url); err == nil || !strings.Contains(stderr, "target is not empty") {
		t.Errorf("second migrate: %v, stderr %q; want one line saying the target is not empty", err, stderr)
	}
	// A node with another master key on the same database refuses to start.
	if stderr, err := obscuraFails(t, t.TempDir(), append(env, "OBSCURA_MASTER_KEY="+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))),
		"init"); err == nil || !strings.Contains(stderr, "differs from the installation's") {
		t.Errorf("node with another master key: %v, stderr %q; want a refusal naming the mismatch", err, stderr)
	}
}

// obscuraFails runs a command that must fail and returns its stderr,
// checked to be exactly one line.
func obscuraFails(t *testing.T, data string, env []string, args ...string) (string, error) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if n := strings.Count(stderr.String(), "\n"); err != nil && n != 1 {
		t.Errorf("obscura %v: %d lines on stderr, want one: %q", args, n, stderr.String())
	}
	return stderr.String(), err
}
