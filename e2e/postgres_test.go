package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

// TestServeOnPostgres: with OBSCURA_DATABASE_URL set, init, the CLI and
// `obscura serve` keep the installation's records in Postgres (the data
// directory keeps the master key and blobs), the server is ready, and its
// logs name the database without the URL's password.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url := pgtest.URL(t)
	// Trust auth ignores a password; one in the URL checks it is not logged.
	url = strings.Replace(url, "obscura@", "obscura:e2e-db-secret@", 1)
	env := []string{"OBSCURA_DATABASE_URL=" + url}
	obscuraEnv(t, data, env, "init")
	var created struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	out := obscuraEnv(t, data, env, "tenant", "create", "PG App", "--json")
	if err := json.Unmarshal(out, &created); err != nil || created.APIKey == "" {
		t.Fatalf("tenant create output %q: %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(data, "obscura.db")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(data, "obscura.db")); strings.Contains(string(b), created.TenantID) {
			t.Errorf("the tenant went to SQLite, not Postgres")
		}
	}
	s := startServer(t, data, env...)
	if code, _, b := s.get(t, "/readyz", ""); code != 200 {
		t.Errorf("/readyz = %d %s", code, b)
	}
	code, _, b := s.get(t, "/v1/tenant", created.APIKey)
	if code != 200 || !strings.Contains(string(b), created.TenantID) {
		t.Errorf("/v1/tenant = %d %s", code, b)
	}
	logs := s.logs.String()
	if strings.Contains(logs, "e2e-db-secret") {
		t.Errorf("server logs hold the database password")
	}
	if !strings.Contains(logs, `"backend":"postgres"`) {
		t.Errorf("server logs do not name the postgres store: %s", logs)
	}
}
