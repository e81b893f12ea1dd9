package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b = ?`, `WHERE a = $1 AND b = $2`},
		{`WHERE a = ?1 UNION SELECT x WHERE b = ?1`, `WHERE a = $1 UNION SELECT x WHERE b = $1`},
		{`WHERE a = '?' AND b = ? AND "c?" = ?`, `WHERE a = '?' AND b = $1 AND "c?" = $2`},
		{`VALUES (?,?,?)`, `VALUES ($1,$2,$3)`},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		code string
		kind fault.Kind
		full bool
	}{
		{"23505", fault.Conflict, false}, // unique_violation
		{"23503", fault.Conflict, false}, // foreign_key_violation
		{"23001", fault.Conflict, false}, // restrict_violation (the ledger's trigger)
		{"53100", fault.Unavailable, true},
		{"53300", fault.Unavailable, false}, // too_many_connections
		{"57P01", fault.Unavailable, false}, // admin_shutdown
		{"08006", fault.Unavailable, false}, // connection_failure
		{"40001", fault.Unavailable, false}, // serialization_failure
		{"22021", fault.Invalid, false},     // invalid byte sequence (NUL in text)
	}
	for _, tt := range tests {
		err := classify("op", &pgconn.PgError{Code: tt.code, Message: "m"})
		if !errors.Is(err, tt.kind) || fault.IsStorageFull(err) != tt.full {
			t.Errorf("classify(%s) = %v, want kind %v, storage full %v", tt.code, err, tt.kind, tt.full)
		}
	}
	if err := classify("op", &pgconn.PgError{Code: "42601"}); errors.Is(err, fault.Conflict) || errors.Is(err, fault.Unavailable) {
		t.Errorf("a syntax error classified as %v", err)
	}
}

// The URL's password never reaches an error or Redact's output.
func TestSecretURLNotRepeated(t *testing.T) {
	const secret = "s3cr3t-pw"
	if r := Redact("postgres://app:" + secret + "@db.internal:5432/obscura?sslmode=verify-full"); r != "postgres://db.internal:5432/obscura" {
		t.Errorf("Redact = %q", r)
	}
	for _, u := range []string{
		"postgres://app:" + secret + "@127.0.0.1:1/obscura?sslmode=disable&connect_timeout=2", // nothing listens on port 1
		"postgres://app:" + secret + "@[::1:bad/obscura",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Open(ctx, u)
		cancel()
		if err == nil {
			t.Fatalf("Open(%s) succeeded", Redact(u))
		}
		if strings.Contains(fmt.Sprintf("%v %+v", err, err), secret) {
			t.Errorf("error repeats the password: %v", err)
		}
		if !errors.Is(err, fault.Unavailable) && !errors.Is(err, fault.Invalid) {
			t.Errorf("Open error kind: %v", err)
		}
	}
}

// Text Postgres cannot hold (SQLite can) is refused as Invalid, never an
// unclassified error (which the API would answer 500).
func TestUnstorableTextIsInvalid(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	for _, name := range []string{"nul\x00byte", "bad\xffutf8"} {
		err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: name, CreatedAt: tn}, store.APIKey{ID: "k", TenantID: "t1", SecretHash: []byte{1}, CreatedAt: tn})
		if !errors.Is(err, fault.Invalid) {
			t.Errorf("tenant name %q: %v, want Invalid", name, err)
		}
	}
}

// Opening again applies nothing twice and keeps the data.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t) // empty: this Open runs every migration
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "n", CreatedAt: tn}, store.APIKey{ID: "k", TenantID: "t1", SecretHash: []byte{1}, CreatedAt: tn}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Tenant(ctx, "t1"); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	ents, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want int64 // the highest embedded migration number (some numbers are unused)
	if _, err := fmt.Sscanf(ents[len(ents)-1].Name(), "%05d_", &want); err != nil {
		t.Fatal(err)
	}
	var version int64
	if err := s.db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil || version != want {
		t.Errorf("goose version = %d, %v; want %d (the last embedded migration)", version, err, want)
	}
}

// The database itself refuses to change, delete or truncate a ledger
// entry (the triggers of migration 00021), whatever code runs.
func TestLedgerIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.CreateTenant(ctx, store.Tenant{ID: "ta", Name: "a", CreatedAt: tn}, store.APIKey{ID: "k", TenantID: "ta", SecretHash: []byte{1}, CreatedAt: tn}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpendBudget(ctx, store.LedgerEntry{TenantID: "ta", At: tn, Actor: "k", Metric: "tag_counts", From: tn, To: tn, EpsMilli: 100, RhoUnits: 10000},
		tn, func(store.LedgerSpent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE analytics_ledger SET rho_units = 1`, `DELETE FROM analytics_ledger`, `TRUNCATE analytics_ledger`} {
		if _, err := s.db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	if sp, _ := s.BudgetSpent(ctx, "ta", tn); sp.LifetimeRho != 10000 {
		t.Errorf("ledger changed: %+v", sp)
	}
}

// ProbeWrite writes; a read-only session (as on a standby) fails it as
// Unavailable, the readiness check's signal.
func TestProbeWrite(t *testing.T) {
	ctx := context.Background()
	url := migrated(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ProbeWrite(ctx, tn); err != nil {
		t.Fatalf("ProbeWrite: %v", err)
	}
	ro, err := Open(ctx, url+"&options=-c%20default_transaction_read_only%3Don")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.ProbeWrite(ctx, tn); !errors.Is(err, fault.Unavailable) {
		t.Errorf("ProbeWrite on a read-only session: %v, want Unavailable", err)
	}
}

// A negative limit means none, as in SQLite (Postgres refuses LIMIT -1).
func TestNegativeLimitIsNone(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	for i := range 3 {
		if err := s.CreateAlert(ctx, store.Alert{ID: fmt.Sprintf("a%d", i), Time: tn, Rule: "r", Severity: "info", Detail: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	if as, err := s.Alerts(ctx, "", -1); err != nil || len(as) != 3 {
		t.Errorf("Alerts(-1) = %d, %v; want 3", len(as), err)
	}
}

// A connection the server drops (a restart, a failover, an operator's
// pg_terminate_backend) is Unavailable, never an unclassified error, and
// the pool recovers on the next call.
func TestDroppedConnectionIsUnavailable(t *testing.T) {
	ctx := context.Background()
	url := migrated(t)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := s.db.BeginTx(ctx, nil) // holds its connection: no liveness check before the next query
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var pid int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var ok bool
	if err := other.db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend: %v, %v", ok, err)
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	if err = classify("query", err); !errors.Is(err, fault.Unavailable) {
		t.Errorf("query on a dropped connection: %v, want Unavailable", err)
	}
	if _, err := s.Tenants(ctx); err != nil {
		t.Errorf("after the drop: %v", err)
	}
}
