package c2pa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/veraison/go-cose"
)

// Signer signs claims. The private key stays with the implementation (the
// key service); Chain returns the DER certificates, end entity first.
type Signer interface {
	Algorithm() cose.Algorithm // cose.AlgorithmES256 or cose.AlgorithmEdDSA
	Chain() [][]byte
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Manifest is what a new manifest says. Sign adds the hard binding and,
// when Parent is set, a c2pa.opened action pointing at it before Actions.
type Manifest struct {
	// Label is the manifest's URN, "urn:c2pa:<uuid v4>"; empty picks one.
	Label string
	// InstanceID is the claim's instanceID, "xmp:iid:<uuid v4>"; empty picks one.
	InstanceID string
	Generator  GeneratorInfo
	Title      string
	Format     string // e.g. "image/jpeg"
	Parent     *Ingredient
	Actions    []Action
}

// sigSize is the raw signature size of ES256 (r||s) and Ed25519.
const sigSize = 64

// Sign embeds a signed manifest into a JPEG (any earlier C2PA store is
// removed first). The hard binding excludes exactly the APP11 segments
// that carry the store.
func Sign(ctx context.Context, jpeg []byte, m Manifest, s Signer) ([]byte, error) {
	base, err := StripStores(jpeg)
	if err != nil {
		return nil, err
	}
	at, err := insertionPoint(base)
	if err != nil {
		return nil, err
	}
	if m.Label == "" {
		m.Label = "urn:c2pa:" + newUUID()
	}
	if m.InstanceID == "" {
		m.InstanceID = "xmp:iid:" + newUUID()
	}
	if len(s.Chain()) == 0 {
		return nil, errors.New("c2pa: signer has no certificate")
	}
	// The data hash does not depend on the manifest's bytes, only on where
	// they go and how long they are: hash the file around the insertion point.
	sum := sha256.Sum256(base)
	dh := DataHash{Name: "jumbf manifest", Alg: "sha256", Hash: sum[:]}
	// Find the segment length L with segments(store(L)) == L: L only changes
	// the CBOR width of one integer, so this settles in two or three rounds.
	length := 0
	var store []byte
	for range 8 {
		dh.Exclusions = []Exclusion{{Start: at, Length: length}}
		store, err = buildStore(ctx, m, dh, s, true)
		if err != nil {
			return nil, err
		}
		segLen := len(app11Segments(store, 1))
		if segLen == length {
			break
		}
		length = segLen
	}
	store, err = buildStore(ctx, m, dh, s, false)
	if err != nil {
		return nil, err
	}
	segs := app11Segments(store, 1)
	if len(segs) != length {
		return nil, fmt.Errorf("c2pa: manifest layout did not settle (%d != %d)", len(segs), length)
	}
	out := make([]byte, 0, len(base)+len(segs))
	out = append(out, base[:at]...)
	out = append(out, segs...)
	out = append(out, base[at:]...)
	return out, nil
}

// buildStore encodes the manifest store; dry uses a zero signature of the
// right size so the layout can be measured without signing.
func buildStore(ctx context.Context, m Manifest, dh DataHash, s Signer, dry bool) ([]byte, error) {
	var assertions []*Box
	var refs []HashedURI
	add := func(label string, v any) (HashedURI, error) {
		p, err := encMode.Marshal(v)
		if err != nil {
			return HashedURI{}, fmt.Errorf("encode %s: %w", label, err)
		}
		b := superbox(uuidCBOR, label, &Box{Type: typeCBOR, Data: p})
		h := sha256.Sum256(b.payload())
		ref := HashedURI{URL: assertionURL(label), Hash: h[:]}
		assertions = append(assertions, b)
		refs = append(refs, ref)
		return ref, nil
	}
	actions := m.Actions
	if m.Parent != nil {
		ref, err := add(LabelIngredient, m.Parent)
		if err != nil {
			return nil, err
		}
		opened := Action{Action: ActionOpened, Parameters: &ActionParams{Ingredients: []HashedURI{ref}}}
		actions = append([]Action{opened}, actions...)
	}
	if _, err := add(LabelActions, Actions{Actions: actions}); err != nil {
		return nil, err
	}
	if _, err := add(LabelDataHash, dh); err != nil {
		return nil, err
	}
	claim := Claim{
		InstanceID:         m.InstanceID,
		ClaimGeneratorInfo: m.Generator,
		Signature:          "self#jumbf=" + LabelSignature,
		CreatedAssertions:  refs,
		Title:              m.Title,
		Alg:                "sha256",
	}
	cb, err := encMode.Marshal(claim)
	if err != nil {
		return nil, fmt.Errorf("encode claim: %w", err)
	}
	sig, err := signClaim(ctx, cb, s, dry)
	if err != nil {
		return nil, err
	}
	manifest := superbox(uuidManifest, m.Label,
		superbox(uuidAssertion, LabelAssertions, assertions...),
		superbox(uuidClaim, LabelClaim, &Box{Type: typeCBOR, Data: cb}),
		superbox(uuidSignature, LabelSignature, &Box{Type: typeCBOR, Data: sig}),
	)
	return superbox(uuidStore, LabelStore, manifest).Encode(), nil
}

// signClaim makes the COSE_Sign1 over the claim with a detached payload and
// the certificate chain in the protected header (C2PA 2.1 §14.5).
func signClaim(ctx context.Context, claim []byte, s Signer, dry bool) ([]byte, error) {
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(s.Algorithm())
	chain := s.Chain()
	if len(chain) == 1 {
		msg.Headers.Protected[cose.HeaderLabelX5Chain] = chain[0]
	} else {
		msg.Headers.Protected[cose.HeaderLabelX5Chain] = chain
	}
	msg.Payload = claim
	if dry {
		msg.Signature = make([]byte, sigSize)
	} else if err := msg.Sign(rand.Reader, nil, coseSigner{ctx, s}); err != nil {
		return nil, fmt.Errorf("sign claim: %w", err)
	}
	if len(msg.Signature) != sigSize {
		return nil, fmt.Errorf("c2pa: signature is %d bytes, want %d", len(msg.Signature), sigSize)
	}
	msg.Payload = nil // detached: the claim box holds it
	return msg.MarshalCBOR()
}

// coseSigner adapts Signer to go-cose.
type coseSigner struct {
	ctx context.Context
	s   Signer
}

func (c coseSigner) Algorithm() cose.Algorithm { return c.s.Algorithm() }
func (c coseSigner) Sign(_ io.Reader, content []byte) ([]byte, error) {
	return c.s.Sign(c.ctx, content)
}

func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b bytes.Buffer
	fmt.Fprintf(&b, "%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return b.String()
}
