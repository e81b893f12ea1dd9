package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/store"
)

// TestV2Vectors checks the audit-v2 encoding against vectors produced
// without this code (testdata/audit-v2-vectors.json): exact bytes and hash
// for the valid ones, rejection for each kind of non-canonical body.
func TestV2Vectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/audit-v2-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Valid []struct {
			Name   string          `json:"name"`
			Entry  json.RawMessage `json:"entry"`
			Body   string          `json:"body"`
			SHA256 string          `json:"sha256"`
		} `json:"valid"`
		Invalid []struct {
			Name string `json:"name"`
			Body string `json:"body"`
		} `json:"invalid"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) < 3 || len(v.Invalid) < 10 {
		t.Fatalf("vectors missing: %d valid, %d invalid", len(v.Valid), len(v.Invalid))
	}
	for _, tt := range v.Valid {
		t.Run(tt.Name, func(t *testing.T) {
			var e Entry
			if err := json.Unmarshal(tt.Entry, &e); err != nil {
				t.Fatal(err)
			}
			got, err := e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.Body {
				t.Errorf("body\n got %s\nwant %s", got, tt.Body)
			}
			if h := HashOfVersion(V2, []byte(tt.Body)); h != tt.SHA256 {
				t.Errorf("hash %s, want %s", h, tt.SHA256)
			}
			d, err := Decode([]byte(tt.Body))
			if err != nil || d != e {
				t.Errorf("Decode = %+v, %v; want %+v", d, err, e)
			}
		})
	}
	for _, tt := range v.Invalid {
		t.Run("reject "+tt.Name, func(t *testing.T) {
			if e, err := Decode([]byte(tt.Body)); err == nil {
				t.Errorf("accepted %s as %+v", tt.Body, e)
			}
		})
	}
}

// chainStore is an in-memory, appendable audit store.
type chainStore struct{ memStore }

func (c *chainStore) AppendAudit(_ context.Context, build func(int64, string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error {
	var tip int64
	prev := ""
	if n := len(c.recs); n > 0 {
		tip, prev = c.recs[n-1].Seq, c.recs[n-1].Hash
	}
	recs, cp, err := build(tip, prev)
	if err != nil {
		return err
	}
	c.recs = append(c.recs, recs...)
	if cp != nil {
		c.cps = append(c.cps, *cp)
	}
	return nil
}

// loadV1Fixture reads the audit-v1 log written by the code before audit-v2.
func loadV1Fixture(t *testing.T) (*chainStore, ed25519.PublicKey) {
	t.Helper()
	raw, err := os.ReadFile("testdata/v1-log.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		PublicKey []byte `json:"public_key"`
		Records   []struct {
			Seq    int64  `json:"seq"`
			Tenant string `json:"tenant"`
			Hash   string `json:"hash"`
			Body   string `json:"body"`
		} `json:"records"`
		Checkpoints []store.AuditCheckpoint `json:"checkpoints"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	c := &chainStore{}
	for _, r := range f.Records {
		c.recs = append(c.recs, store.AuditRecord{Seq: r.Seq, TenantID: r.Tenant, Hash: r.Hash, Body: []byte(r.Body)})
	}
	c.cps = f.Checkpoints
	return c, f.PublicKey
}

// TestV1LogKeepsVerifyingAndContinuesAsV2: a log written by the v1 code
// verifies unchanged; new entries continue its chain as v2; a v1 entry
// after a v2 one is rejected.
func TestV1LogKeepsVerifyingAndContinuesAsV2(t *testing.T) {
	ctx := context.Background()
	c, pub := loadV1Fixture(t)
	rep, err := Verify(ctx, c, pub, 0)
	if err != nil || rep.Entries != 6 || rep.Checkpoints < 2 {
		t.Fatalf("v1 fixture: %+v, %v", rep, err)
	}
	if !strings.Contains(string(c.recs[4].Body), `\u003ca\u0026b\u003e \u2028\u2029 \b\f`) {
		t.Fatalf("fixture is not Go encoding/json output: %s", c.recs[4].Body)
	}
	priv, _ := fixedKey()
	l := New(c, keySigner{priv}, clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), quiet, Options{CheckpointInterval: time.Hour})
	if err := l.Append(ctx, Entry{Action: "create-key", Tenant: "ten_a", Result: ResultOK, Detail: "caf\u00e9\u2028"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	last := c.recs[len(c.recs)-1]
	e, err := Decode(last.Body)
	if err != nil || e.V != V2 || e.Prev != c.recs[5].Hash || last.Hash != HashOfVersion(V2, last.Body) {
		t.Fatalf("new entry %s: %+v %v", last.Body, e, err)
	}
	if rep, err := Verify(ctx, c, pub, 0); err != nil || rep.Entries != 7 {
		t.Fatalf("mixed chain: %+v, %v", rep, err)
	}
	// A forger who appends in the Go-specific v1 encoding after v2 is caught.
	old := Entry{V: V1, Seq: 8, Time: "2026-12-01T09:00:01Z", Action: "x", Result: ResultOK, Prev: last.Hash}
	body, _ := old.Encode()
	c.recs = append(c.recs, store.AuditRecord{Seq: 8, Hash: HashOf(body), Body: body})
	var p *Problem
	if _, err := Verify(ctx, c, pub, 0); !errors.As(err, &p) || p.Seq != 8 || !strings.Contains(p.Reason, "after an audit-v2") {
		t.Errorf("v1 after v2: %v", err)
	}
}

// TestUnencodableEntryIsAnError: an entry that cannot be encoded is refused,
// never stored with an empty or partial body.
func TestUnencodableEntryIsAnError(t *testing.T) {
	for _, e := range []Entry{
		{V: V2, Action: "x", Result: ResultOK, Detail: "bad \xff utf-8"},
		{V: V2, Action: "x", Result: ResultOK, Bytes: 1 << 60},
		{V: 9, Action: "x"},
	} {
		if b, err := e.Encode(); err == nil {
			t.Errorf("Encode(%+v) = %s, want an error", e, b)
		}
	}
	c := &chainStore{}
	priv, _ := fixedKey()
	l := New(c, keySigner{priv}, clock.System{}, quiet, Options{CheckpointInterval: time.Hour})
	defer l.Close()
	if err := l.Append(context.Background(), Entry{Action: "x", Result: ResultOK, Detail: "\xff"}); err == nil {
		t.Error("Append accepted an unencodable entry")
	}
	if len(c.recs) != 0 {
		t.Errorf("stored %d records", len(c.recs))
	}
}
