package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// keySigner is a unit-test signer; the product uses the keyring's.
type keySigner struct{ priv ed25519.PrivateKey }

func (k keySigner) Sign(m []byte) ([]byte, error) { return ed25519.Sign(k.priv, m), nil }

func fixedKey() (ed25519.PrivateKey, ed25519.PublicKey) {
	priv := ed25519.NewKeyFromSeed([]byte("obscura audit test signing seed!"))
	return priv, priv.Public().(ed25519.PublicKey)
}

func openLog(t testing.TB, path string, every int) (*Log, *sqlite.Store) {
	t.Helper()
	st, err := sqlitetest.Open(t, "migrated", path, sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := fixedKey()
	l := New(st, keySigner{priv}, clock.System{}, quiet, Options{CheckpointEvery: every, CheckpointInterval: time.Hour})
	return l, st
}

func fill(t testing.TB, l *Log, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- l.Append(context.Background(), Entry{Action: "upload.accept", Tenant: "ten_a", Subject: fmt.Sprintf("h%04d", i), Result: ResultOK, Bytes: int64(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendVerifyAndPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "obscura.db")
	l, st := openLog(t, path, 10)
	for i := range 95 { // one at a time: a checkpoint every 10 entries
		if err := l.Append(context.Background(), Entry{Action: "upload.accept", Tenant: "ten_a", Result: ResultOK, Bytes: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, l, 40) // concurrent appends are group-committed
	l.Close()
	defer st.Close()
	_, pub := fixedKey()
	rep, err := Verify(context.Background(), st, pub, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 9 checkpoints from the every-10 rule for the first 95, more for the rest.
	if rep.Entries != 135 || rep.Head != 135 || rep.Checkpoints < 10 {
		t.Errorf("report %+v", rep)
	}
	rep2, err := Verify(context.Background(), st, pub, 50)
	if err != nil || rep2.From != 50 || rep2.Entries != 85 {
		t.Errorf("verify from checkpoint 50: %+v, %v", rep2, err)
	}
	es, next, err := Page(context.Background(), st, "ten_a", 0, 40)
	if err != nil || len(es) != 40 || next != 40 || es[0].Seq != 1 || es[0].Action != "upload.accept" {
		t.Errorf("page: %d entries, next %d, %v", len(es), next, err)
	}
	if es, _, _ := Page(context.Background(), st, "ten_b", 0, 40); len(es) != 0 {
		t.Errorf("tenant B sees %d of tenant A's entries", len(es))
	}
	otherPub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	if _, err := Verify(context.Background(), st, otherPub, 0); !errors.Is(err, ErrTampered) {
		t.Errorf("verify with the wrong key: %v", err)
	}
}

// tamper opens the database directly, as an attacker with file access would.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestTamperDetection(t *testing.T) {
	_, pub := fixedKey()
	tests := []struct {
		name    string
		stmts   []string
		wantSeq int64
		reason  string
	}{
		{"modified body", []string{`UPDATE audit SET body = CAST(replace(CAST(body AS TEXT), '"bytes":8', '"bytes":9') AS BLOB) WHERE seq = 8`}, 8, "modified"},
		{"modified body and rehashed", nil, 9, "broken link"}, // filled below
		{"deleted entry", []string{`DELETE FROM audit WHERE seq = 12`}, 12, "missing"},
		{"reordered", []string{`UPDATE audit SET seq = -1 WHERE seq = 5`, `UPDATE audit SET seq = 5 WHERE seq = 6`, `UPDATE audit SET seq = 6 WHERE seq = -1`}, 5, "malformed"},
		{"inserted entry", nil, 7, "malformed"}, // filled below: the shifted entry no longer matches its position
		{"truncated tail", []string{`DELETE FROM audit WHERE seq > 17`}, 18, "truncated"},
		{"forged checkpoint", []string{`UPDATE audit_checkpoints SET hash = (CASE WHEN substr(hash, 1, 2) = 'ff' THEN '00' ELSE 'ff' END) || substr(hash, 3) WHERE seq = 10`}, 10, "checkpoint signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "obscura.db")
			l, st := openLog(t, path, 10)
			for i := range 25 {
				if err := l.Append(context.Background(), Entry{Action: "consent.grant", Tenant: "ten_a", Result: ResultOK, Bytes: int64(i + 1)}); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			if _, err := Verify(context.Background(), st, pub, 0); err != nil {
				t.Fatalf("untampered log does not verify: %v", err)
			}
			stmts := tt.stmts
			switch tt.name {
			case "modified body and rehashed":
				// The attacker fixes the entry's own hash; the next link breaks.
				var body []byte
				st.Close()
				db, _ := sql.Open("sqlite", "file:"+path)
				db.QueryRow(`SELECT body FROM audit WHERE seq = 8`).Scan(&body)
				nb := strings.Replace(string(body), `"bytes":8`, `"bytes":80`, 1)
				if _, err := db.Exec(`UPDATE audit SET body = ?, hash = ? WHERE seq = 8`, []byte(nb), HashOfVersion(V2, []byte(nb))); err != nil {
					t.Fatal(err)
				}
				db.Close()
				st, _ = sqlite.Open(context.Background(), path)
			case "inserted entry":
				// Shift 6.. up by one and insert a well-formed entry at 6 linked to 5.
				st.Close()
				db, _ := sql.Open("sqlite", "file:"+path)
				db.Exec(`UPDATE audit SET seq = seq + 1000 WHERE seq >= 6`)
				db.Exec(`UPDATE audit SET seq = seq - 999 WHERE seq >= 1006`)
				var prev string
				db.QueryRow(`SELECT hash FROM audit WHERE seq = 5`).Scan(&prev)
				e := Entry{V: V2, Seq: 6, Time: "2026-11-22T00:00:00Z", Action: "apikey.create", Tenant: "ten_a", Result: ResultOK, Prev: prev}
				body, _ := e.Encode()
				db.Exec(`INSERT INTO audit(seq, tenant_id, hash, body) VALUES (6, 'ten_a', ?, ?)`, HashOfVersion(V2, body), body)
				db.Close()
				st, _ = sqlite.Open(context.Background(), path)
			}
			tamper(t, path, stmts...)
			defer st.Close()
			_, err := Verify(context.Background(), st, pub, 0)
			var p *Problem
			if !errors.As(err, &p) || p.Seq != tt.wantSeq || !strings.Contains(p.Reason, tt.reason) {
				t.Fatalf("Verify = %v, want position %d (%s)", err, tt.wantSeq, tt.reason)
			}
			if !errors.Is(err, ErrTampered) {
				t.Error("not classed as tampering")
			}
		})
	}
}

// --- crash safety -----------------------------------------------------------

const crashEnv = "OBSCURA_AUDIT_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		l, _ := openLog(&testing.T{}, path, 7)
		// One entry committed before "ready": the kill then always lands
		// after progress, however slowly a loaded machine (-race) starts.
		if err := l.Append(context.Background(), Entry{Action: "upload.accept", Tenant: "ten_a", Result: ResultOK}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Println("ready")
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if err := l.Append(context.Background(), Entry{Action: "upload.accept", Tenant: "ten_a", Result: ResultOK, Bytes: int64(w*1e6 + i)}); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(3)
					}
				}
			}()
		}
		wg.Wait()
		return
	}
	os.Exit(m.Run())
}

func TestKillLoopNeverBreaksTheChain(t *testing.T) {
	if testing.Short() {
		t.Skip("kill loop skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "obscura.db")
	_, pub := fixedKey()
	var last int64
	for round := range 10 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		io.ReadFull(out, buf)
		time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(context.Background(), st, pub, 0)
		st.Close()
		if err != nil {
			t.Fatalf("round %d: chain broken after kill -9: %v", round, err)
		}
		if rep.Head <= last {
			t.Fatalf("round %d: no progress (head %d)", round, rep.Head)
		}
		last = rep.Head
	}
	t.Logf("10 kill -9 rounds, %d entries, chain intact every time", last)
}

func BenchmarkAppend(b *testing.B) {
	l, st := openLog(b, filepath.Join(b.TempDir(), "obscura.db"), 1000)
	defer st.Close()
	defer l.Close()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(context.Background(), Entry{Action: "analyze", Tenant: "ten_a", Result: ResultOK}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// memStore is an in-memory audit store for the fuzz target.
type memStore struct {
	recs []store.AuditRecord
	cps  []store.AuditCheckpoint
}

func (m *memStore) AppendAudit(context.Context, func(int64, string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error {
	return errors.New("read only")
}

func (m *memStore) AuditRange(_ context.Context, _ string, after int64, limit int) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for _, r := range m.recs {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) AuditCheckpoints(context.Context) ([]store.AuditCheckpoint, error) {
	return m.cps, nil
}

// FuzzVerify feeds attacker-controlled stored rows to Verify: it must never
// panic, and must never accept a chain whose bodies were not produced by the
// canonical encoder with correct links.
func FuzzVerify(f *testing.F) {
	e1 := Entry{V: V1, Seq: 1, Time: "2026-11-22T00:00:00Z", Action: "x", Result: ResultOK}
	b1, _ := e1.Encode()
	f.Add(b1, HashOf(b1), []byte(`{"v":1,"seq":2}`), "00")
	e2 := Entry{V: V2, Seq: 1, Time: "2026-11-22T00:00:00Z", Action: "x", Result: ResultOK, Detail: "\u2028\b"}
	b2, _ := e2.Encode()
	f.Add(b2, HashOfVersion(V2, b2), []byte(`{"action":"y","prev_hash":"","result":"ok","seq":2,"time":"t","v":2}`), "00")
	f.Fuzz(func(t *testing.T, body1 []byte, hash1 string, body2 []byte, hash2 string) {
		m := &memStore{recs: []store.AuditRecord{{Seq: 1, Hash: hash1, Body: body1}, {Seq: 2, Hash: hash2, Body: body2}}}
		_, pub := fixedKey()
		rep, err := Verify(context.Background(), m, pub, 0)
		if err != nil {
			return
		}
		// Accepted: both bodies are canonical, hashed and linked.
		e, derr := Decode(body2)
		if derr != nil || HashOfVersion(e.V, body2) != hash2 || e.Prev != hash1 || rep.Entries != 2 {
			t.Fatalf("accepted a bad chain: %+v", rep)
		}
	})
}
