package incident

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Bundle is a forensic export (docs/spec/forensic-bundle-v1.md): a
// contiguous, signed segment of the audit chain for a time range, the
// checkpoints that cover it, the kill switches in force and a digest of the
// configuration. Metadata only: no content, no raw ids, no secrets.
//
// A tenant's bundle (Tenant set) holds that tenant's entries in full and
// every other entry of the segment as a redacted link (its seq and hash
// only), so the chain still links from end to end without showing another
// tenant's activity.
type Bundle struct {
	Format       string                  `json:"format"`
	Tenant       string                  `json:"tenant,omitempty"`
	CreatedAt    string                  `json:"created_at"`
	From         string                  `json:"from"`
	To           string                  `json:"to"`
	ConfigDigest string                  `json:"config_sha256"`
	KillSwitches []string                `json:"kill_switches"`
	Anchor       string                  `json:"anchor_prev_hash"`
	Entries      []json.RawMessage       `json:"entries"`
	Checkpoints  []store.AuditCheckpoint `json:"checkpoints"`
	PublicKey    string                  `json:"public_key"`
	Signature    string                  `json:"signature,omitempty"`
}

// BundleFormat is the format marker.
const BundleFormat = "obscura-forensic-v1"

// signingBytes is what the bundle signature covers.
func (b Bundle) signingBytes() []byte {
	b.Signature = ""
	out, _ := json.Marshal(b)
	return append([]byte("obscura-forensic-bundle-v1\n"), out...)
}

type forensicStore interface {
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
	AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error)
	KillSwitches(ctx context.Context) ([]string, error)
}

type bundleSigner interface {
	Sign(msg []byte) ([]byte, error)
	PublicKey() ed25519.PublicKey
}

// RedactedLink stands in a tenant's bundle for another tenant's entry: the
// entry's seq and chain hash, nothing else.
type RedactedLink struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Export builds and signs a bundle of audit entries with from ≤ time < to.
func Export(ctx context.Context, st forensicStore, s bundleSigner, from, to, now time.Time, configJSON []byte) (Bundle, error) {
	return export(ctx, st, s, "", from, to, now, configJSON)
}

// ExportTenant builds and signs a tenant's bundle: the tenant's entries
// with from ≤ time < to, other entries of that segment as redacted links,
// and only the kill switches that apply to the tenant.
func ExportTenant(ctx context.Context, st forensicStore, s bundleSigner, tenant string, from, to, now time.Time, configJSON []byte) (Bundle, error) {
	if tenant == "" {
		return Bundle{}, fault.New(fault.Invalid, "a tenant bundle needs a tenant")
	}
	return export(ctx, st, s, tenant, from, to, now, configJSON)
}

// AppliesTo reports whether a kill-switch scope concerns the tenant.
func AppliesTo(scope, tenant string) bool {
	return scope == "global" || strings.HasPrefix(scope, "feature:") || scope == "tenant:"+tenant || strings.HasPrefix(scope, "tenant:"+tenant+"/")
}

func export(ctx context.Context, st forensicStore, s bundleSigner, tenant string, from, to, now time.Time, configJSON []byte) (Bundle, error) {
	if !from.Before(to) {
		return Bundle{}, fault.New(fault.Invalid, "from must be before to")
	}
	sum := sha256.Sum256(configJSON)
	b := Bundle{Format: BundleFormat, Tenant: tenant, CreatedAt: now.UTC().Format(time.RFC3339Nano), From: from.UTC().Format(time.RFC3339Nano),
		To: to.UTC().Format(time.RFC3339Nano), ConfigDigest: hex.EncodeToString(sum[:]), Entries: []json.RawMessage{},
		PublicKey: base64.StdEncoding.EncodeToString(s.PublicKey())}
	var first, last int64
	prev := ""
	err := audit.Walk(ctx, st, "", 0, func(r store.AuditRecord, e audit.Entry) error {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			return fmt.Errorf("audit entry %d time: %w", r.Seq, err)
		}
		if !t.Before(from) && t.Before(to) {
			if first == 0 {
				first, b.Anchor = r.Seq, prev
			}
			if tenant == "" || e.Tenant == tenant {
				b.Entries = append(b.Entries, json.RawMessage(bytes.Clone(r.Body)))
			} else {
				link, _ := json.Marshal(RedactedLink{Seq: r.Seq, Hash: r.Hash})
				b.Entries = append(b.Entries, link)
			}
			last = r.Seq
		}
		prev = r.Hash
		return nil
	})
	if err != nil {
		return Bundle{}, err
	}
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return Bundle{}, err
	}
	b.Checkpoints = []store.AuditCheckpoint{}
	for _, c := range cps {
		if c.Seq >= first && c.Seq <= last && first > 0 {
			b.Checkpoints = append(b.Checkpoints, c)
		}
	}
	switches, err := st.KillSwitches(ctx)
	if err != nil {
		return Bundle{}, err
	}
	b.KillSwitches = []string{}
	for _, sc := range switches {
		if tenant == "" || AppliesTo(sc, tenant) {
			b.KillSwitches = append(b.KillSwitches, sc)
		}
	}
	sig, err := s.Sign(b.signingBytes())
	if err != nil {
		return Bundle{}, fault.Wrap(fault.Unavailable, "key service unavailable", err)
	}
	b.Signature = base64.StdEncoding.EncodeToString(sig)
	return b, nil
}

// MaxBundleBytes bounds ParseBundle.
const MaxBundleBytes = 256 << 20

// ParseBundle reads a bundle strictly (unknown fields are an error).
func ParseBundle(data []byte) (Bundle, error) {
	if len(data) > MaxBundleBytes {
		return Bundle{}, fault.New(fault.TooLarge, "bundle too large")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return Bundle{}, fault.Wrap(fault.Invalid, "malformed forensic bundle", err)
	}
	if dec.More() || b.Format != BundleFormat {
		return Bundle{}, fault.New(fault.Invalid, "not an "+BundleFormat+" bundle")
	}
	return b, nil
}

// redacted reports whether a compacted entry is a redacted link: exactly
// {"seq":N,"hash":"<64 hex>"}.
func redacted(raw []byte) (RedactedLink, bool) {
	var l RedactedLink
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&l) != nil || l.Seq < 1 || len(l.Hash) != 64 {
		return RedactedLink{}, false
	}
	canon, _ := json.Marshal(l)
	if string(canon) != string(raw) {
		return RedactedLink{}, false
	}
	if _, err := hex.DecodeString(l.Hash); err != nil {
		return RedactedLink{}, false
	}
	return l, true
}

// VerifyBundle checks the bundle signature (against pin if given, else the
// embedded key, whose fingerprint the caller should compare out of band),
// every entry's link within the segment, and every checkpoint. It returns
// the key's fingerprint.
func VerifyBundle(b Bundle, pin ed25519.PublicKey) (string, error) {
	pk, err := base64.StdEncoding.DecodeString(b.PublicKey)
	if err != nil || len(pk) != ed25519.PublicKeySize {
		return "", fault.New(fault.Invalid, "bundle public key malformed")
	}
	if pin != nil && !bytes.Equal(pin, pk) {
		return "", fault.New(fault.Permission, "bundle signed by another key than the pinned one")
	}
	sig, err := base64.StdEncoding.DecodeString(b.Signature)
	if err != nil || !ed25519.Verify(pk, b.signingBytes(), sig) {
		return "", fault.New(fault.Permission, "bundle signature does not verify")
	}
	fp := sha256.Sum256(pk)
	prev := b.Anchor
	hashes := map[int64]string{}
	var last int64
	for i, indented := range b.Entries {
		var buf bytes.Buffer
		if err := json.Compact(&buf, indented); err != nil {
			return "", fault.New(fault.Invalid, fmt.Sprintf("entry %d of the bundle is malformed", i))
		}
		raw := buf.Bytes()
		if link, ok := redacted(raw); ok {
			if b.Tenant == "" || (i > 0 && link.Seq != last+1) {
				return "", fault.New(fault.Invalid, fmt.Sprintf("entry %d of the bundle is a redacted link out of place", i))
			}
			prev, last = link.Hash, link.Seq
			hashes[link.Seq] = prev
			continue
		}
		e, canon, err := audit.DecodeEmbedded(raw)
		if err != nil {
			return "", fault.New(fault.Invalid, fmt.Sprintf("entry %d of the bundle is malformed", i))
		}
		if b.Tenant != "" && e.Tenant != b.Tenant {
			return "", fault.New(fault.Invalid, fmt.Sprintf("audit entry %d belongs to another tenant than the bundle's", e.Seq))
		}
		if e.Prev != prev || (i > 0 && e.Seq != last+1) {
			return "", fault.New(fault.Invalid, fmt.Sprintf("audit entry %d: broken link inside the bundle", e.Seq))
		}
		prev, last = audit.HashOfVersion(e.V, canon), e.Seq
		hashes[e.Seq] = prev
	}
	for _, c := range b.Checkpoints {
		csig, err := base64.StdEncoding.DecodeString(c.Signature)
		if err != nil || !ed25519.Verify(pk, audit.CheckpointMessage(c.Seq, c.Hash, c.Time), csig) || hashes[c.Seq] != c.Hash {
			return "", fault.New(fault.Invalid, fmt.Sprintf("checkpoint %d does not match the bundle", c.Seq))
		}
	}
	return hex.EncodeToString(fp[:8]), nil
}
