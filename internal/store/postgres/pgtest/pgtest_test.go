package pgtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without server binaries the harness fails and says how to get them.
func TestBinDirMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := binDir(filepath.Join(dir, "no-pg_config"), filepath.Join(dir, "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "make setup-test") {
		t.Errorf("binDir with nothing installed = %v, want an error naming make setup-test", err)
	}
}

// The newest major version wins, and a directory without the server
// binaries (a client-only package) is passed over.
func TestBinDirNewest(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"9", "13", "16"} {
		bin := filepath.Join(dir, v, "bin")
		os.MkdirAll(bin, 0o755)
		names := []string{"initdb", "pg_ctl", "postgres"}
		if v == "16" {
			names = []string{"psql"}
		}
		for _, n := range names {
			os.WriteFile(filepath.Join(bin, n), nil, 0o755)
		}
	}
	got, err := binDir(filepath.Join(dir, "no-pg_config"), filepath.Join(dir, "*", "bin"))
	if err != nil || got != filepath.Join(dir, "13", "bin") {
		t.Errorf("binDir = %q, %v; want version 13's", got, err)
	}
}

func TestReachable(t *testing.T) {
	dir, err := os.MkdirTemp("", "pgtest-reachable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	closed := filepath.Join(dir, "closed", "inner")
	os.MkdirAll(closed, 0o755)
	os.Chmod(dir, 0o755)
	if reachable(os.TempDir()) && !reachable(filepath.Dir(closed)) {
		t.Errorf("%s not reachable", filepath.Dir(closed))
	}
	os.Chmod(filepath.Dir(closed), 0o700)
	if reachable(closed) {
		t.Errorf("%s reachable through a 0700 directory", closed)
	}
	if !reachable("/") {
		t.Errorf("/ not reachable")
	}
}
