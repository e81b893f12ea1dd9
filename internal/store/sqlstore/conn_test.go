package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/obscuraproject/obscura/internal/fault"
)

// The seam itself: every query a domain store runs goes through the
// dialect's Rebind (writer, reader and transaction alike), Lock runs the
// dialect's LockSQL with the name's parts and nothing at all without one,
// and ExecOne reports a statement that changed no row as NotFound. The
// store interfaces on top are tested by storetest on both backends.
func TestConnSeam(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "seam.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE locks(name TEXT); CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	classify := func(op string, err error) error {
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Wrap(fault.NotFound, "not found", err)
		}
		return err
	}
	for _, tt := range []struct {
		name  string
		lock  string
		locks []string
	}{
		{"one writer: no lock statement", "", nil},
		{"several writers: the lock statement, parts joined", `INSERT INTO locks(name) VALUES (?1)`, []string{"audit", "consent\x1ft1\x1fsubj"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.Exec(`DELETE FROM locks; DELETE FROM kv`); err != nil {
				t.Fatal(err)
			}
			var seen []string
			c := NewConn(Dialect{
				Rebind:   func(q string) string { seen = append(seen, q); return q },
				Classify: classify,
				LockSQL:  tt.lock,
			}, PoolWriter{db}, db)
			if c.MultiWriter() != (tt.lock != "") {
				t.Errorf("MultiWriter = %v with LockSQL %q", c.MultiWriter(), tt.lock)
			}
			if got := c.Lim(-1); got != -1 {
				t.Errorf("default Lim(-1) = %v, want -1 (SQLite's none)", got)
			}
			if _, err := c.W.ExecContext(ctx, `INSERT INTO kv(k, v) VALUES (?, ?)`, "a", 1); err != nil {
				t.Fatal(err)
			}
			tx, err := c.W.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Lock(ctx, "audit"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Lock(ctx, "consent", "t1", "subj"); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE kv SET v = v + 1 WHERE k = ?`, "a"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var v int
			if err := c.R.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = ?`, "a").Scan(&v); err != nil || v != 2 {
				t.Fatalf("v = %d, %v; want 2", v, err)
			}
			for _, q := range []string{`INSERT INTO kv(k, v) VALUES (?, ?)`, `UPDATE kv SET v = v + 1 WHERE k = ?`, `SELECT v FROM kv WHERE k = ?`} {
				if !slices.Contains(seen, q) {
					t.Errorf("%q did not go through Rebind", q)
				}
			}
			names, err := QueryAll(ctx, c.R, "locks", func(r interface{ Scan(...any) error }) (string, error) {
				var n string
				return n, r.Scan(&n)
			}, `SELECT name FROM locks ORDER BY rowid`)
			if err != nil || !slices.Equal(names, tt.locks) {
				t.Errorf("locks taken = %q, %v; want %q", names, err, tt.locks)
			}
			if err := c.ExecOne(ctx, "bump", `UPDATE kv SET v = 0 WHERE k = ?`, "missing"); !errors.Is(err, fault.NotFound) {
				t.Errorf("ExecOne changing no row = %v, want NotFound", err)
			}
			if err := c.ExecOne(ctx, "bump", `UPDATE kv SET v = 0 WHERE k = ?`, "a"); err != nil {
				t.Errorf("ExecOne changing one row = %v", err)
			}
		})
	}
}
