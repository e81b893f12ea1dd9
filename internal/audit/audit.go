// Package audit is Obscura's tamper-evident audit log: every
// security-relevant action appends an entry of metadata only (action, actor
// key id, tenant, keyed hashes of subject and object ids, purpose, result,
// sizes, latency — never pixels, captions, embeddings, raw subject ids or
// secrets). Entries are hash-chained over a canonical encoding and the head
// is signed (Ed25519, key held by the key service) every N entries or T
// seconds (docs/spec/audit-v1.md).
//
// Appends are group-committed: concurrent callers share one SQLite write
// transaction, and each returns only after its entry is durable. A crash
// mid-append loses the uncommitted batch and never leaves a broken chain.
// Appends from several processes (server and CLI) serialize on the
// database's write lock, which is held while the tip is read.
//
// Detects: modified, deleted, inserted, reordered and truncated entries
// (truncation below the last signed checkpoint). Does not protect against:
// an attacker with the database and the signing key rewriting the whole
// chain; entries after the last checkpoint being cut off (keep T small and
// export checkpoints off the machine).
package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Entry is one audit record. Field order is the canonical encoding.
type Entry struct {
	V         int    `json:"v"`
	Seq       int64  `json:"seq"`
	Time      string `json:"time"`
	Action    string `json:"action"`
	Tenant    string `json:"tenant,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Subject   string `json:"subject_hash,omitempty"`
	Object    string `json:"object_hash,omitempty"`
	Purpose   string `json:"purpose,omitempty"`
	Result    string `json:"result"`
	Code      string `json:"code,omitempty"`
	Model     string `json:"model,omitempty"`
	Bytes     int64  `json:"bytes,omitempty"`
	LatencyUS int64  `json:"latency_us,omitempty"`
	Detail    string `json:"detail,omitempty"` // a fixed vocabulary word or number, never free text from a request
	Prev      string `json:"prev_hash"`
}

// Results.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultError  = "error"
)

// HashOf is the chain hash of an encoded audit-v1 entry.
func HashOf(encoded []byte) string { return HashOfVersion(V1, encoded) }

// HashOfVersion is the chain hash of an encoded entry of version v:
// hex(SHA-256("obscura-audit-v<v>\n" ‖ body)).
func HashOfVersion(v int, encoded []byte) string {
	h := sha256.New()
	h.Write([]byte(hashDomain(v)))
	h.Write(encoded)
	return hex.EncodeToString(h.Sum(nil))
}

// CheckpointMessage is what a checkpoint signature covers.
func CheckpointMessage(seq int64, hash, t string) []byte {
	return []byte("obscura-audit-checkpoint-v1\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n" + t)
}

type auditStore interface {
	AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
	AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error)
}

type signer interface {
	Sign(msg []byte) ([]byte, error)
}

// Options tunes checkpoints.
type Options struct {
	CheckpointEvery    int           // entries; default 1000
	CheckpointInterval time.Duration // default 60 s
}

type request struct {
	e    Entry
	done chan error
}

// Log is the audit log.
type Log struct {
	st    auditStore
	sign  signer
	clk   clock.Clock
	log   *slog.Logger
	every int64
	ivl   time.Duration

	reqs    chan request
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// New starts a Log. Close it to flush.
func New(st auditStore, sign signer, clk clock.Clock, log *slog.Logger, opt Options) *Log {
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = 1000
	}
	if opt.CheckpointInterval <= 0 {
		opt.CheckpointInterval = time.Minute
	}
	l := &Log{st: st, sign: sign, clk: clk, log: log.With("component", "audit"), every: int64(opt.CheckpointEvery),
		ivl: opt.CheckpointInterval, reqs: make(chan request, 1024), quit: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// ErrClosed: the log is closed.
var ErrClosed = fault.New(fault.Unavailable, "audit log closed")

// Append writes e durably and returns when it is committed. Seq, Time, Prev
// and V are filled in by the log.
func (l *Log) Append(ctx context.Context, e Entry) error {
	r := request{e: e, done: make(chan error, 1)}
	select {
	case l.reqs <- r:
	case <-l.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-l.stopped:
		select {
		case err := <-r.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes pending appends, writes a final checkpoint and stops.
func (l *Log) Close() error {
	l.once.Do(func() { close(l.quit) })
	<-l.stopped
	return nil
}

func (l *Log) run() {
	defer close(l.stopped)
	ticker := time.NewTicker(l.ivl)
	defer ticker.Stop()
	for {
		select {
		case r := <-l.reqs:
			batch := []request{r}
		drain:
			for len(batch) < 512 {
				select {
				case r := <-l.reqs:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			err := l.commit(batch, false)
			for _, r := range batch {
				r.done <- err
			}
		case <-ticker.C:
			if err := l.commit(nil, true); err != nil {
				l.log.Error("audit checkpoint failed", "err", err)
			}
		case <-l.quit:
			for {
				select {
				case r := <-l.reqs:
					r.done <- l.commit([]request{r}, false)
					continue
				default:
				}
				break
			}
			if err := l.commit(nil, true); err != nil {
				l.log.Error("final audit checkpoint failed", "err", err)
			}
			return
		}
	}
}

// commit appends a batch in one transaction; force writes a checkpoint at
// the tip if it has none yet.
func (l *Log) commit(batch []request, force bool) error {
	now := l.clk.Now().UTC()
	var lastCP int64 = -1
	if force {
		cps, err := l.st.AuditCheckpoints(context.Background())
		if err != nil {
			return err
		}
		lastCP = 0
		if len(cps) > 0 {
			lastCP = cps[len(cps)-1].Seq
		}
	}
	return l.st.AppendAudit(context.Background(), func(tip int64, prev string) ([]store.AuditRecord, *store.AuditCheckpoint, error) {
		recs := make([]store.AuditRecord, 0, len(batch))
		seq := tip
		for _, r := range batch {
			e := r.e
			seq++
			e.V, e.Seq, e.Time, e.Prev = V2, seq, now.Format(time.RFC3339Nano), prev
			body, err := e.Encode()
			if err != nil {
				return nil, nil, fault.Wrap(fault.Invalid, "audit entry cannot be encoded", err)
			}
			prev = HashOfVersion(V2, body)
			recs = append(recs, store.AuditRecord{Seq: seq, TenantID: e.Tenant, Hash: prev, Body: body})
		}
		needCP := (len(batch) > 0 && seq/l.every > tip/l.every) || (force && seq > lastCP && seq > 0)
		if !needCP {
			return recs, nil, nil
		}
		t := now.Format(time.RFC3339Nano)
		sig, err := l.sign.Sign(CheckpointMessage(seq, prev, t))
		if err != nil {
			return nil, nil, fault.Wrap(fault.Unavailable, "key service unavailable", err)
		}
		return recs, &store.AuditCheckpoint{Seq: seq, Hash: prev, Time: t, Signature: base64.StdEncoding.EncodeToString(sig)}, nil
	})
}

// Problem is a verification failure at a position.
type Problem struct {
	Seq    int64
	Reason string
}

func (p *Problem) Error() string { return fmt.Sprintf("audit entry %d: %s", p.Seq, p.Reason) }

// Is makes errors.Is(err, ErrTampered) true.
func (p *Problem) Is(target error) bool { return target == ErrTampered }

// ErrTampered is the class of every verification failure.
var ErrTampered = errors.New("audit chain does not verify")

// Report summarizes a successful verification.
type Report struct {
	Entries     int64 `json:"entries"`
	Checkpoints int   `json:"checkpoints"`
	From        int64 `json:"from"`
	Head        int64 `json:"head"`
}

// Verify checks the chain from the checkpoint at or below from (0: from the
// start): every entry's encoding, hash, sequence and link, and every
// checkpoint's signature and position. It names the first bad position.
func Verify(ctx context.Context, st auditStore, pub ed25519.PublicKey, from int64) (Report, error) {
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return Report{}, err
	}
	cpAt := map[int64]store.AuditCheckpoint{}
	var lastCP int64
	for _, c := range cps {
		sig, err := base64.StdEncoding.DecodeString(c.Signature)
		if err != nil || !ed25519.Verify(pub, CheckpointMessage(c.Seq, c.Hash, c.Time), sig) {
			return Report{}, &Problem{Seq: c.Seq, Reason: "checkpoint signature does not verify"}
		}
		cpAt[c.Seq] = c
		lastCP = max(lastCP, c.Seq)
	}
	rep := Report{Checkpoints: len(cps)}
	var seq int64
	prev := ""
	if from > 0 {
		var start *store.AuditCheckpoint
		for i := range cps {
			if cps[i].Seq <= from {
				start = &cps[i]
			}
		}
		if start == nil {
			return Report{}, fault.New(fault.NotFound, fmt.Sprintf("no checkpoint at or below %d", from))
		}
		seq, prev = start.Seq, start.Hash
	}
	rep.From = seq
	version := V1
	for {
		recs, err := st.AuditRange(ctx, "", seq, 1000)
		if err != nil {
			return Report{}, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			want := seq + 1
			if r.Seq != want {
				return rep, &Problem{Seq: want, Reason: fmt.Sprintf("missing (next stored entry is %d)", r.Seq)}
			}
			e, err := Decode(r.Body)
			if err != nil || e.Seq != r.Seq {
				return rep, &Problem{Seq: r.Seq, Reason: "malformed or non-canonical entry"}
			}
			// Versions never go back: once a v2 entry is in the chain, a v1
			// entry after it is a forgery (v1's encoding is Go-specific).
			if e.V < version {
				return rep, &Problem{Seq: r.Seq, Reason: fmt.Sprintf("audit-v%d entry after an audit-v%d entry", e.V, version)}
			}
			version = e.V
			if HashOfVersion(e.V, r.Body) != r.Hash {
				return rep, &Problem{Seq: r.Seq, Reason: "modified (content does not match its hash)"}
			}
			if e.Prev != prev {
				return rep, &Problem{Seq: r.Seq, Reason: "broken link (an entry before it was removed, inserted, reordered or modified)"}
			}
			if c, ok := cpAt[r.Seq]; ok && c.Hash != r.Hash {
				return rep, &Problem{Seq: r.Seq, Reason: "does not match its signed checkpoint"}
			}
			seq, prev = r.Seq, r.Hash
			rep.Entries++
		}
	}
	if seq < lastCP {
		return rep, &Problem{Seq: seq + 1, Reason: fmt.Sprintf("truncated: the log ends at %d but a signed checkpoint covers %d", seq, lastCP)}
	}
	rep.Head = seq
	return rep, nil
}

// rangeReader reads stored audit records.
type rangeReader interface {
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
}

// Walk calls fn for every stored entry of a tenant ("" = all) after a
// sequence number, in order, decoding each; it stops at fn's first error.
func Walk(ctx context.Context, st rangeReader, tenant string, after int64, fn func(r store.AuditRecord, e Entry) error) error {
	for {
		recs, err := st.AuditRange(ctx, tenant, after, 1000)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			var e Entry
			if err := json.Unmarshal(r.Body, &e); err != nil {
				return fmt.Errorf("audit entry %d: %w", r.Seq, err)
			}
			if err := fn(r, e); err != nil {
				return err
			}
			after = r.Seq
		}
	}
}

// Page returns audit entries of a tenant ("" = all) after a sequence number,
// and the sequence number to continue after (0 on the last page).
func Page(ctx context.Context, st rangeReader, tenant string, after int64, limit int) ([]Entry, int64, error) {
	recs, err := st.AuditRange(ctx, tenant, after, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, 0, len(recs))
	next := int64(0)
	for _, r := range recs {
		var e Entry
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return nil, 0, fmt.Errorf("audit entry %d: %w", r.Seq, err)
		}
		out = append(out, e)
		next = r.Seq
	}
	if len(recs) < limit {
		next = 0
	}
	return out, next, nil
}
