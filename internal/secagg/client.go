package secagg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"slices"

	"github.com/cloudflare/circl/group"
)

// Params are the session parameters every party must agree on. Clients sign
// them in round 0, so a server cannot give different clients different ones.
type Params struct {
	Session   [SessionLen]byte // fresh random id per session
	Threshold int              // t: shares needed to recover a secret, and the fewest clients in any set
	Bits      uint8            // the ring is Z_{2^Bits}, 1 ≤ Bits ≤ 64
	Length    int              // elements in every input vector
}

// Validate checks the parameters' ranges.
func (p Params) Validate() error {
	switch {
	case p.Threshold < 2 || p.Threshold > MaxClients:
		return fmt.Errorf("threshold %d: %w", p.Threshold, ErrMismatch)
	case p.Bits < 1 || p.Bits > 64:
		return fmt.Errorf("bits %d: %w", p.Bits, ErrMismatch)
	case p.Length < 1 || p.Length > MaxLength:
		return fmt.Errorf("length %d: %w", p.Length, ErrMismatch)
	}
	return nil
}

// stage is a party's position in the protocol.
type stage int

const (
	stageAdvertise stage = iota
	stageShareKeys
	stageMasked
	stageConsistency
	stageUnmask
	stageDone
)

// Client is one participant's side of a session. Its methods must be called
// in order, once each; any error leaves it unusable (abort, as the protocol
// requires).
type Client struct {
	p      Params
	index  uint32
	device ed25519.PrivateKey
	rand   io.Reader
	st     stage

	encKey  *ecdh.PrivateKey // c_u^SK
	maskKey *ecdh.PrivateKey // s_u^SK
	maskSc  group.Scalar     // the scalar s_u^SK is derived from (what is shared)
	seed    group.Scalar     // b_u

	keys   map[uint32]KeyEntry // U1 with their keys
	u2     []uint32            // peers whose shares reached us, plus us
	shares map[uint32][]byte   // ciphertexts addressed to us, by sender
	own    sharePlain          // our own share of our secrets
	u3     []uint32
}

// NewClient starts a client with index index (1-based, assigned by the
// server for this session) and the device's enrolled signing key. rnd nil
// means crypto/rand.
func NewClient(p Params, index uint32, device ed25519.PrivateKey, rnd io.Reader) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if index == 0 || len(device) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("client index or device key: %w", ErrMismatch)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Client{p: p, index: index, device: device, rand: rnd}, nil
}

func (c *Client) expect(s stage) error {
	if c.st != s {
		return fmt.Errorf("client at stage %d, called for %d: %w", c.st, s, ErrStage)
	}
	c.st = stageDone // until the step succeeds; a failed step aborts
	return nil
}

func (c *Client) envelope(t Type, body []byte) []byte {
	e := Envelope{Type: t, Session: c.p.Session, Sender: c.index, Body: body}
	e.sign(c.device)
	return e.Marshal()
}

// open parses a broadcast of type t for this session.
// receive checks that the client is at stage st, opens the server's
// message of type t and parses its list body, which must have at least
// the threshold of entries (what names the list in the error).
func receive[S ~[]E, E any](c *Client, st stage, msg []byte, t Type, parse func([]byte) (S, error), what string) (S, error) {
	if err := c.expect(st); err != nil {
		return nil, err
	}
	body, err := c.open(msg, t)
	if err != nil {
		return nil, err
	}
	l, err := parse(body)
	if err != nil {
		return nil, err
	}
	if len(l) < c.p.Threshold {
		return nil, fmt.Errorf("%s of %d: %w", what, len(l), ErrTooFew)
	}
	return l, nil
}

func (c *Client) open(msg []byte, t Type) ([]byte, error) {
	e, err := ParseEnvelope(msg)
	if err != nil {
		return nil, err
	}
	if e.Type != t {
		return nil, fmt.Errorf("got type %#x, want %#x: %w", e.Type, t, ErrStage)
	}
	if e.Session != c.p.Session {
		return nil, fmt.Errorf("session: %w", ErrReplay)
	}
	return e.Body, nil
}

// AdvertiseKeys (round 0) makes two fresh X25519 key pairs and returns the
// signed advertise message.
func (c *Client) AdvertiseKeys() ([]byte, error) {
	if err := c.expect(stageAdvertise); err != nil {
		return nil, err
	}
	var k [32]byte
	if _, err := io.ReadFull(c.rand, k[:]); err != nil {
		return nil, fmt.Errorf("read randomness: %w", err)
	}
	enc, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	ms, err := randomScalar(c.rand)
	if err != nil {
		return nil, err
	}
	mk, err := maskKeyFromScalar(ms)
	if err != nil {
		return nil, fmt.Errorf("mask key: %w", err)
	}
	seed, err := randomScalar(c.rand)
	if err != nil {
		return nil, err
	}
	c.encKey, c.maskKey, c.maskSc, c.seed = enc, mk, ms, seed
	a := c.advertise()
	c.st = stageShareKeys
	return c.envelope(TypeAdvertise, a.Marshal()), nil
}

func (c *Client) advertise() Advertise {
	a := Advertise{Threshold: uint32(c.p.Threshold), Bits: c.p.Bits, Length: uint32(c.p.Length)}
	copy(a.EncPub[:], c.encKey.PublicKey().Bytes())
	copy(a.MaskPub[:], c.maskKey.PublicKey().Bytes())
	return a
}

// verifyAdvertise checks one key-list entry's signature against the
// parameters this client holds.
func verifyAdvertise(p Params, e KeyEntry) bool {
	if e.Advertise.Threshold != uint32(p.Threshold) || e.Advertise.Bits != p.Bits || e.Advertise.Length != uint32(p.Length) {
		return false
	}
	env := Envelope{Type: TypeAdvertise, Session: p.Session, Sender: e.Index, Body: e.Advertise.Marshal(), Sig: e.Sig}
	return env.verify(e.Device)
}

// ShareKeys (round 1) checks the key list (every entry signed by its device
// for this session and these parameters, at least t entries, more than half
// of them needed, keys distinct, ours included unchanged), Shamir-shares the
// mask key and the self-mask seed and returns the encrypted shares.
func (c *Client) ShareKeys(keyList []byte) ([]byte, error) {
	l, err := receive(c, stageShareKeys, keyList, TypeKeyList, ParseKeyList, "key list")
	if err != nil {
		return nil, err
	}
	if 2*c.p.Threshold <= len(l) {
		return nil, fmt.Errorf("threshold %d is not more than half of %d clients: %w", c.p.Threshold, len(l), ErrMismatch)
	}
	seen := map[string]bool{}
	c.keys = make(map[uint32]KeyEntry, len(l))
	mine := c.advertise()
	ids := make([]uint32, 0, len(l))
	for _, e := range l {
		if !verifyAdvertise(c.p, e) {
			return nil, fmt.Errorf("key list entry %d: %w", e.Index, ErrForged)
		}
		for _, k := range [][]byte{e.Device, e.Advertise.EncPub[:], e.Advertise.MaskPub[:]} {
			if seen[string(k)] {
				return nil, fmt.Errorf("key list repeats a key: %w", ErrMismatch)
			}
			seen[string(k)] = true
		}
		if e.Index == c.index && (e.Advertise != mine || !bytes.Equal(e.Device, c.device.Public().(ed25519.PublicKey))) {
			return nil, fmt.Errorf("key list changed our keys: %w", ErrForged)
		}
		c.keys[e.Index] = e
		ids = append(ids, e.Index)
	}
	if _, ok := c.keys[c.index]; !ok {
		return nil, fmt.Errorf("key list without us: %w", ErrMismatch)
	}
	skShares := split(c.rand, c.maskSc, c.p.Threshold, ids)
	bShares := split(c.rand, c.seed, c.p.Threshold, ids)
	c.own = sharePlain{From: c.index, To: c.index, MaskKey: skShares[c.index], Seed: bShares[c.index]}
	out := make([]Addressed, 0, len(ids)-1)
	for _, v := range ids {
		if v == c.index {
			continue
		}
		aead, err := shareAEAD(c.encKey, c.keys[v].Advertise.EncPub, c.p.Session)
		if err != nil {
			return nil, err
		}
		pt := sharePlain{From: c.index, To: v, MaskKey: skShares[v], Seed: bShares[v]}
		nonce := make([]byte, nonceLen, shareCipherLen)
		if _, err := io.ReadFull(c.rand, nonce); err != nil {
			return nil, fmt.Errorf("read randomness: %w", err)
		}
		out = append(out, Addressed{Peer: v, Cipher: aead.Seal(nonce, nonce, pt.marshal(), shareAD(c.p.Session, c.index, v))})
	}
	c.st = stageMasked
	return c.envelope(TypeShareKeys, MarshalAddressed(out)), nil
}

// MaskedInput (round 2) takes the ciphertexts addressed to this client (their
// senders and this client are U2) and the input x (each element < 2^Bits) and
// returns y = x + PRG(b_u) + Σ_{v∈U2, v≠u} ±PRG(s_{u,v}) mod 2^Bits, with +
// for v > u and − for v < u.
func (c *Client) MaskedInput(ciphertexts []byte, x []uint64) ([]byte, error) {
	if err := c.expect(stageMasked); err != nil {
		return nil, err
	}
	if len(x) != c.p.Length {
		return nil, fmt.Errorf("input length %d, want %d: %w", len(x), c.p.Length, ErrMismatch)
	}
	m := ringMask(c.p.Bits)
	for _, v := range x {
		if v&^m != 0 {
			return nil, fmt.Errorf("input element outside the ring: %w", ErrMismatch)
		}
	}
	body, err := c.open(ciphertexts, TypeCiphertexts)
	if err != nil {
		return nil, err
	}
	l, err := ParseAddressed(body)
	if err != nil {
		return nil, err
	}
	c.shares = make(map[uint32][]byte, len(l))
	c.u2 = []uint32{c.index}
	for _, a := range l {
		if _, ok := c.keys[a.Peer]; !ok || a.Peer == c.index {
			return nil, fmt.Errorf("ciphertext from %d outside U1: %w", a.Peer, ErrMismatch)
		}
		c.shares[a.Peer] = a.Cipher
		c.u2 = append(c.u2, a.Peer)
	}
	slices.Sort(c.u2)
	if len(c.u2) < c.p.Threshold {
		return nil, fmt.Errorf("U2 of %d: %w", len(c.u2), ErrTooFew)
	}
	y := slices.Clone(x)
	addPRG(y, selfMaskKey(c.seed), c.p.Bits, 1)
	for _, v := range c.u2 {
		if v == c.index {
			continue
		}
		k, err := pairKey(c.maskKey, c.keys[v].Advertise.MaskPub, c.p.Session)
		if err != nil {
			return nil, err
		}
		sign := 1
		if v < c.index {
			sign = -1
		}
		addPRG(y, k, c.p.Bits, sign)
	}
	c.st = stageConsistency
	return c.envelope(TypeMasked, MarshalVector(y, c.p.Bits)), nil
}

// ConsistencyCheck (round 3) checks the survivor set U3 (a subset of U2 with
// at least t members, us included) and returns our signature over it.
func (c *Client) ConsistencyCheck(survivors []byte) ([]byte, error) {
	u3, err := receive(c, stageConsistency, survivors, TypeSurvivors, ParseIndexes, "U3")
	if err != nil {
		return nil, err
	}
	for _, v := range u3 {
		if _, ok := slices.BinarySearch(c.u2, v); !ok {
			return nil, fmt.Errorf("survivor %d outside U2: %w", v, ErrMismatch)
		}
	}
	if _, ok := slices.BinarySearch(u3, c.index); !ok {
		return nil, fmt.Errorf("U3 without us: %w", ErrMismatch)
	}
	c.u3 = u3
	c.st = stageUnmask
	return c.envelope(TypeConsistency, MarshalIndexes(u3)), nil
}

// Unmask (round 4) checks that at least t survivors signed the same U3 we
// signed, then reveals, for every v in U2, our share of b_v if v survived
// and our share of s_v^SK if it dropped — never both for one v.
func (c *Client) Unmask(signatures []byte) ([]byte, error) {
	l, err := receive(c, stageUnmask, signatures, TypeSignatures, ParseSignatures, "U4")
	if err != nil {
		return nil, err
	}
	u3body := MarshalIndexes(c.u3)
	for _, s := range l {
		if _, ok := slices.BinarySearch(c.u3, s.Index); !ok {
			return nil, fmt.Errorf("signer %d outside U3: %w", s.Index, ErrMismatch)
		}
		env := Envelope{Type: TypeConsistency, Session: c.p.Session, Sender: s.Index, Body: u3body, Sig: s.Sig}
		if !env.verify(c.keys[s.Index].Device) {
			return nil, fmt.Errorf("consistency signature of %d: %w", s.Index, ErrForged)
		}
	}
	out := make([]Revealed, 0, len(c.u2))
	for _, v := range c.u2 {
		sh := c.own
		if v != c.index {
			aead, err := shareAEAD(c.encKey, c.keys[v].Advertise.EncPub, c.p.Session)
			if err != nil {
				return nil, err
			}
			ct := c.shares[v]
			pt, err := aead.Open(nil, ct[:nonceLen], ct[nonceLen:], shareAD(c.p.Session, v, c.index))
			if err != nil {
				return nil, fmt.Errorf("share from %d: %w", v, ErrForged)
			}
			if sh, err = parseSharePlain(pt); err != nil {
				return nil, err
			}
			if sh.From != v || sh.To != c.index {
				return nil, fmt.Errorf("share from %d misaddressed: %w", v, ErrForged)
			}
		}
		r := Revealed{Owner: v, Kind: ShareMaskKey, Value: sh.MaskKey}
		if _, ok := slices.BinarySearch(c.u3, v); ok {
			r = Revealed{Owner: v, Kind: ShareSeed, Value: sh.Seed}
		}
		out = append(out, r)
	}
	c.st = stageDone
	return c.envelope(TypeUnmask, MarshalRevealed(out)), nil
}
