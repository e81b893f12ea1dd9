package fl

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/fl/scene"
	"github.com/obscuraproject/obscura/internal/store"
)

// Record is a version's training record.
type Record struct {
	Round          int     `json:"round"`               // the round that produced it (0: the seed model)
	Survivors      int     `json:"survivors,omitempty"` // clients whose updates are in it
	Rho            float64 `json:"rho,omitempty"`       // zCDP ρ of this round's release
	RhoTotal       float64 `json:"rho_total,omitempty"` // ρ of the task so far
	Epsilon        float64 `json:"epsilon,omitempty"`   // (ε, δ) of the task so far
	Delta          float64 `json:"delta,omitempty"`     //
	CanaryAccuracy float64 `json:"canary_accuracy"`     // on the server's canary set
	Note           string  `json:"note,omitempty"`      //
}

// Artefact is a published model version (docs/spec/secagg-v1.md, "Model
// artefact"): magic "OFLM1\n", the body length (uint32 BE), the body (JSON
// of this struct) and the installation's Ed25519 signature over magic ‖
// length ‖ body. Its SHA-256 over all bytes pins it.
type Artefact struct {
	Format  string      `json:"format"` // "obscura-fl-model-v1"
	Task    string      `json:"task"`
	Version int         `json:"version"`
	Shape   scene.Shape `json:"shape"`
	Classes []string    `json:"classes"`
	Weights []float64   `json:"weights"`
	Record  Record      `json:"record"`
}

const artefactMagic = "OFLM1\n"

// maxArtefact bounds what OpenArtefact reads.
const maxArtefact = 64 << 20

// ErrArtefact: the artefact's hash, signature or layout does not verify.
var ErrArtefact = fault.New(fault.Permission, "model artefact does not verify")

// version builds and signs version number of a task.
func (c *Coordinator) version(tenant, task string, number int, h *scene.Head, rec Record) (*store.FLVersion, error) {
	raw, sum, err := SealArtefact(Artefact{Format: "obscura-fl-model-v1", Task: task, Version: number, Shape: h.Shape, Classes: scene.Classes,
		Weights: h.W, Record: rec}, c.d.Signer)
	if err != nil {
		return nil, err
	}
	return &store.FLVersion{Tenant: tenant, Task: task, Number: number, SHA256: sum, Artefact: raw, CreatedAt: c.d.Clock.Now()}, nil
}

// SealArtefact encodes and signs a; it returns the bytes and their hex SHA-256.
func SealArtefact(a Artefact, s Signer) ([]byte, string, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return nil, "", fmt.Errorf("artefact: %w", err)
	}
	b := append([]byte(artefactMagic), binary.BigEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	sig, err := s.Sign(b)
	if err != nil {
		return nil, "", fmt.Errorf("sign artefact: %w", err)
	}
	b = append(b, sig...)
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:]), nil
}

// OpenArtefact checks b against its pinned SHA-256 (hex) and the
// installation's public key and returns its content.
func OpenArtefact(b []byte, sum string, pub ed25519.PublicKey) (Artefact, error) {
	var a Artefact
	h := sha256.Sum256(b)
	if hex.EncodeToString(h[:]) != sum {
		return a, fmt.Errorf("hash: %w", ErrArtefact)
	}
	m := len(artefactMagic)
	if len(b) > maxArtefact || len(b) < m+4+ed25519.SignatureSize || !bytes.HasPrefix(b, []byte(artefactMagic)) {
		return a, fmt.Errorf("layout: %w", ErrArtefact)
	}
	n := int(binary.BigEndian.Uint32(b[m:]))
	if n != len(b)-m-4-ed25519.SignatureSize {
		return a, fmt.Errorf("length: %w", ErrArtefact)
	}
	signed, sig := b[:m+4+n], b[m+4+n:]
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signed, sig) {
		return a, fmt.Errorf("signature: %w", ErrArtefact)
	}
	if err := json.Unmarshal(b[m+4:m+4+n], &a); err != nil {
		return a, fmt.Errorf("body: %w", ErrArtefact)
	}
	if a.Format != "obscura-fl-model-v1" || !a.Shape.Valid() || len(a.Weights) != a.Shape.Len() {
		return a, fmt.Errorf("content: %w", ErrArtefact)
	}
	return a, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
