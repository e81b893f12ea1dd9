package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// Guarantees that SQLite gets from having one writer must hold here with
// many: each test opens two *Store on one database (two pools, as two
// nodes would) and races them.

var tn = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// twoNodes opens two stores on one fresh database holding tenant "t1".
func twoNodes(t *testing.T) (*Store, *Store) {
	t.Helper()
	return twoNodesIn(t, dialect)
}

// twoNodesIn is twoNodes in dialect d.
func twoNodesIn(t *testing.T, d sqlstore.Dialect) (*Store, *Store) {
	t.Helper()
	url := migrated(t)
	var nodes [2]*Store
	for i := range nodes {
		s, err := openIn(context.Background(), url, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[i] = s
	}
	if err := nodes[0].CreateTenant(context.Background(), store.Tenant{ID: "t1", Name: "n", CreatedAt: tn},
		store.APIKey{ID: "k", TenantID: "t1", SecretHash: []byte{1}, CreatedAt: tn}); err != nil {
		t.Fatal(err)
	}
	return nodes[0], nodes[1]
}

// race runs fn(i) for i in [0, n) at once, alternating the two nodes.
func race(n int, a, b *Store, fn func(i int, s *Store) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			errs[i] = fn(i, s)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// An upload token is spent exactly once however many nodes race for it.
func TestConsumeUploadOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	for round := range 3 {
		id := fmt.Sprintf("up%d", round)
		if err := a.CreateUpload(ctx, store.Upload{ID: id, TenantID: "t1", SubjectHash: "h", CreatedAt: tn, ExpiresAt: tn.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		won, lost := 0, 0
		for _, err := range race(8, a, b, func(_ int, s *Store) error { return s.ConsumeUpload(ctx, "t1", id, tn) }) {
			switch {
			case err == nil:
				won++
			case errors.Is(err, fault.Conflict):
				lost++
			default:
				t.Errorf("ConsumeUpload: %v", err)
			}
		}
		if won != 1 || lost != 7 {
			t.Errorf("round %d: %d consumed, %d refused; want 1 and 7", round, won, lost)
		}
	}
}

// chainHash is the test's chain: H(prev || body).
func chainHash(prev string, body []byte) string {
	h := sha256.Sum256(append([]byte(prev), body...))
	return hex.EncodeToString(h[:])
}

// Audit appends from two nodes form one chain: every append succeeds,
// sequence numbers have no gap or repeat, and every record continues the
// one before it.
func TestAuditOneChainAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	const n = 24
	errs := race(n, a, b, func(i int, s *Store) error {
		return s.AppendAudit(ctx, func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error) {
			body := []byte(fmt.Sprintf(`{"n":%d}`, i))
			return []store.AuditRecord{{Seq: tipSeq + 1, TenantID: "t1", Hash: chainHash(tipHash, body), Body: body}}, nil, nil
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	// Both nodes checkpoint the same tip at once (each saw none there).
	for _, err := range race(2, a, b, func(_ int, s *Store) error {
		return s.AppendAudit(ctx, func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error) {
			return nil, &store.AuditCheckpoint{Seq: tipSeq, Hash: tipHash, Time: "t", Signature: "s"}, nil
		})
	}) {
		if err != nil {
			t.Errorf("checkpoint of the tip from two nodes: %v", err)
		}
	}
	if cps, err := a.AuditCheckpoints(ctx); err != nil || len(cps) != 1 || cps[0].Seq != n {
		t.Errorf("AuditCheckpoints = %+v, %v; want one at %d", cps, err, n)
	}
	recs, err := b.AuditRange(ctx, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	prev := ""
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.Hash != chainHash(prev, r.Body) {
			t.Fatalf("record %d (seq %d) does not continue the chain", i, r.Seq)
		}
		prev = r.Hash
	}
}

// The chain above holds because of the advisory lock: with the lock
// statement made a no-op (the dialect still says several writers), the
// same race forks the chain, and the append that loses is refused.
func TestAuditChainNeedsTheLock(t *testing.T) {
	ctx := context.Background()
	noLock := dialect
	noLock.LockSQL = `SELECT $1::text`
	a, b := twoNodesIn(t, noLock)
	refused := 0
	for _, err := range race(24, a, b, func(i int, s *Store) error {
		return s.AppendAudit(ctx, func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error) {
			body := []byte(fmt.Sprintf(`{"n":%d}`, i))
			return []store.AuditRecord{{Seq: tipSeq + 1, TenantID: "t1", Hash: chainHash(tipHash, body), Body: body}}, nil, nil
		})
	}) {
		if errors.Is(err, fault.Conflict) {
			refused++
		}
	}
	if refused == 0 {
		t.Error("24 unlocked appends from two nodes all succeeded: the race test cannot tell the lock is needed")
	}
}

// A subject's consent receipts from two nodes form one chain too.
func TestConsentChainAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	const n = 12
	errs := race(n, a, b, func(i int, s *Store) error {
		return s.RecordConsent(ctx, "t1", "subj", func(prev string) (store.ConsentChange, error) {
			body := []byte(fmt.Sprintf(`{"n":%d}`, i))
			return store.ConsentChange{
				Receipt: store.ReceiptRecord{Hash: chainHash(prev, body), Body: body},
				Consent: store.Consent{Purpose: "tags", State: store.ConsentGranted, Notice: "v1", UpdatedAt: tn},
			}, nil
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("RecordConsent: %v", err)
		}
	}
	rs, err := a.Receipts(ctx, "t1", "subj")
	if err != nil || len(rs) != n {
		t.Fatalf("Receipts = %d, %v; want %d", len(rs), err, n)
	}
	prev := ""
	for i, r := range rs {
		if r.Seq != i+1 || r.Hash != chainHash(prev, r.Body) {
			t.Fatalf("receipt %d (seq %d) forks the chain", i, r.Seq)
		}
		prev = r.Hash
	}
}

// Two nodes charging one tenant's privacy budget at once never overspend:
// the check sees every charge committed before it.
func TestBudgetOverspendAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	const limit, cost = 30, 3
	check := func(sp store.LedgerSpent) error {
		if sp.PeriodRho+cost > limit {
			return store.ErrBudgetExhausted
		}
		return nil
	}
	paid, refused := 0, 0
	for _, err := range race(24, a, b, func(_ int, s *Store) error {
		_, err := s.SpendBudget(ctx, store.LedgerEntry{TenantID: "t1", At: tn, Actor: "k", Metric: "tag_counts", From: tn, To: tn.Add(time.Hour), EpsMilli: 1, RhoUnits: cost}, tn, check)
		return err
	}) {
		switch {
		case err == nil:
			paid++
		case errors.Is(err, store.ErrBudgetExhausted):
			refused++
		default:
			t.Errorf("SpendBudget: %v", err)
		}
	}
	if paid != limit/cost || refused != 24-limit/cost {
		t.Errorf("%d paid, %d refused; want %d and %d", paid, refused, limit/cost, 24-limit/cost)
	}
	if sp, err := b.BudgetSpent(ctx, "t1", tn); err != nil || sp.LifetimeRho != limit || sp.Queries != limit/cost {
		t.Errorf("BudgetSpent = %+v, %v; want %d spent in %d queries", sp, err, limit, limit/cost)
	}
}

// Concurrent puts of one result slot replace one another, as in SQLite:
// one record remains and no put fails.
func TestPutResultAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	for _, err := range race(8, a, b, func(i int, s *Store) error {
		_, err := s.PutResult(ctx, store.Result{ID: fmt.Sprintf("r%d", i), TenantID: "t1", SubjectHash: "h", AssetID: "as", Feature: "tags", Purpose: "tags", Retention: "analysis", CreatedAt: tn, ExpiresAt: tn.Add(time.Hour)})
		return err
	}) {
		if err != nil {
			t.Errorf("PutResult: %v", err)
		}
	}
	if rs, err := a.Results(ctx, "t1", "as"); err != nil || len(rs) != 1 {
		t.Errorf("Results = %v, %v; want one", rs, err)
	}
}
