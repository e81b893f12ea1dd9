package sqlitetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// fakeDB is a "database" of two files (the file and a -wal beside it);
// opening appends a line to the file, as a migration writes the schema.
type fakeDB struct{}

func (fakeDB) Close() error { return nil }

// TestOpenClonesTemplateOnce: the template is built once per name; every
// new path gets its own copy of the template's files (a write to one copy
// is not in another); an existing path is opened as it is.
func TestOpenClonesTemplateOnce(t *testing.T) {
	builds := 0
	open := func(_ context.Context, path string) (fakeDB, error) {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			builds++
			if err := os.WriteFile(path+"-wal", []byte("log"), 0o600); err != nil {
				return fakeDB{}, err
			}
			return fakeDB{}, os.WriteFile(path, []byte("schema\n"), 0o600)
		}
		return fakeDB{}, nil
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	for _, p := range []string{a, b} {
		if _, err := Open(t, "test-template", p, open); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 1 {
		t.Errorf("template built %d times, want once", builds)
	}
	if err := os.WriteFile(a, []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{a: "changed", b: "schema\n", b + "-wal": "log", a + "-wal": "log"} {
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", filepath.Base(path), got, err, want)
		}
	}
	// An existing path is not overwritten.
	if _, err := Open(t, "test-template", a, open); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(a); string(got) != "changed" {
		t.Errorf("reopened path overwritten: %q", got)
	}
}
