package consent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Receipt is a signed, hash-chained record of one consent grant or
// revocation (docs/spec/consent-receipt-v1.md; fields after Kantara Consent
// Receipt v1.1 and ISO/IEC TS 27560). It names the subject only by its keyed
// hash. Field order is the canonical encoding: never reorder.
type Receipt struct {
	Version   int    `json:"v"`
	ID        string `json:"receipt_id"`
	Tenant    string `json:"tenant"`
	Subject   string `json:"subject_hash"`
	Purpose   string `json:"purpose"`
	Notice    string `json:"notice_version"`
	Action    string `json:"action"`
	Method    string `json:"method"`
	Time      string `json:"time"`
	Expires   string `json:"expires,omitempty"`
	PrevHash  string `json:"prev_hash"`
	Signature string `json:"signature,omitempty"`
}

// Actions.
const (
	ActionGrant  = "grant"
	ActionRevoke = "revoke"
)

const signingPrefix = "obscura-consent-receipt-v1\n"

// SigningBytes is what the signature covers: a prefix and the canonical JSON
// of the receipt without its signature.
func (r Receipt) SigningBytes() []byte {
	r.Signature = ""
	b, _ := json.Marshal(r) // a struct of strings and an int always marshals
	return append([]byte(signingPrefix), b...)
}

// Hash is the chain link to this receipt: hex SHA-256 of the signing bytes
// followed by the raw signature, so the chain also commits to signatures.
func (r Receipt) Hash() string {
	sig, _ := base64.StdEncoding.DecodeString(r.Signature)
	h := sha256.New()
	h.Write(r.SigningBytes())
	h.Write(sig)
	return hex.EncodeToString(h.Sum(nil))
}

// Verification errors.
var (
	ErrBadSignature = errors.New("signature does not verify")
	ErrBrokenChain  = errors.New("prev_hash does not match the previous receipt")
	ErrMalformed    = fault.New(fault.Invalid, "malformed receipts")
)

// ChainError names the first bad receipt.
type ChainError struct {
	Index     int
	ReceiptID string
	Err       error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("receipt %d (%s): %v", e.Index, e.ReceiptID, e.Err)
}

// Unwrap returns the reason.
func (e *ChainError) Unwrap() error { return e.Err }

// Verify checks every signature and link of one subject's receipts, oldest
// first, and returns a *ChainError naming the first bad one.
func Verify(rs []Receipt, pub ed25519.PublicKey) error {
	prev := ""
	for i, r := range rs {
		bad := func(err error) error { return &ChainError{Index: i, ReceiptID: r.ID, Err: err} }
		if r.Version != 1 || (r.Action != ActionGrant && r.Action != ActionRevoke) {
			return bad(ErrMalformed)
		}
		if i > 0 && (r.Subject != rs[0].Subject || r.Tenant != rs[0].Tenant) {
			return bad(fmt.Errorf("receipt of another subject or tenant: %w", ErrBrokenChain))
		}
		sig, err := base64.StdEncoding.DecodeString(r.Signature)
		if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, r.SigningBytes(), sig) {
			return bad(ErrBadSignature)
		}
		if r.PrevHash != prev {
			return bad(ErrBrokenChain)
		}
		prev = r.Hash()
	}
	return nil
}

// MaxReceiptsBytes bounds what ParseReceipts reads.
const MaxReceiptsBytes = 16 << 20

// ParseReceipts reads a receipts file: either a JSON array of receipts, or an
// object with a "receipts" array (the GET …/consents response as served).
// Unknown fields are rejected.
func ParseReceipts(data []byte) ([]Receipt, error) {
	if len(data) > MaxReceiptsBytes {
		return nil, fmt.Errorf("receipts file over %d bytes: %w", MaxReceiptsBytes, ErrMalformed)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var wrapper struct {
			Receipts json.RawMessage `json:"receipts"`
		}
		// The response as served: "consents" beside "receipts", names exact.
		if err := exactMembers(data, map[string]bool{"receipts": true, "consents": true}); err != nil {
			return nil, fmt.Errorf("receipts file: %v: %w", err, ErrMalformed)
		}
		if err := json.Unmarshal(data, &wrapper); err != nil || wrapper.Receipts == nil {
			return nil, fmt.Errorf("no receipts array: %w", ErrMalformed)
		}
		data = wrapper.Receipts
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raws []json.RawMessage
	if err := dec.Decode(&raws); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data: %w", ErrMalformed)
	}
	rs := make([]Receipt, 0, len(raws))
	for i, raw := range raws {
		// encoding/json matches member names case-insensitively and keeps
		// the last of duplicates; the spec allows neither.
		if err := exactMembers(raw, receiptMembers); err != nil {
			return nil, fmt.Errorf("receipt %d: %v: %w", i, err, ErrMalformed)
		}
		var r Receipt
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("receipt %d: %v: %w", i, err, ErrMalformed)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// receiptMembers are the member names a receipt may have, exactly.
var receiptMembers = map[string]bool{"v": true, "receipt_id": true, "tenant": true, "subject_hash": true, "purpose": true,
	"notice_version": true, "action": true, "method": true, "time": true, "expires": true, "prev_hash": true, "signature": true}

// exactMembers checks that raw is a JSON object whose member names are all
// in allowed, spelled exactly, each at most once.
func exactMembers(raw []byte, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not an object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		if !allowed[name] {
			return fmt.Errorf("unknown member %q", name)
		}
		if seen[name] {
			return fmt.Errorf("duplicate member %q", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// PublicKeyDoc is the tenant's receipt-signing key as served by
// GET /v1/tenant/consent-key.
type PublicKeyDoc struct {
	Alg       string `json:"alg"`
	PublicKey string `json:"public_key"`
}

// ParsePublicKey reads a PublicKeyDoc.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	var d PublicKeyDoc
	if len(data) > 4096 || json.Unmarshal(data, &d) != nil || d.Alg != "Ed25519" {
		return nil, fault.New(fault.Invalid, `public key file must be {"alg":"Ed25519","public_key":"<base64>"}`)
	}
	k, err := base64.StdEncoding.DecodeString(d.PublicKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fault.New(fault.Invalid, "public key is not a base64 32-byte Ed25519 key")
	}
	return ed25519.PublicKey(k), nil
}
