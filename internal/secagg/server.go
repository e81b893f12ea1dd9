package secagg

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
)

// Server is the aggregator's side of one session. It holds no secret: what
// it sees is exactly what a curious server records. Receive takes client
// messages of the current round; Close ends the round (at its deadline, or
// when every expected client answered) and fails with ErrTooFew when fewer
// than t clients answered, which aborts the session. Not safe for
// concurrent use: the caller serialises.
type Server struct {
	p       Params
	devices map[uint32]ed25519.PublicKey
	st      stage

	keys   map[uint32]KeyEntry            // U1
	cts    map[uint32][]Addressed         // U2: sender → its ciphertexts
	inbox  map[uint32][]Addressed         // recipient → ciphertexts (From in Peer)
	masked map[uint32][]uint64            // U3
	sigs   map[uint32][]byte              // U4
	reveal map[uint32]map[uint32]Revealed // U5: sender → owner → share
	u1, u2 []uint32
	u3, u4 []uint32
	sum    []uint64
}

// NewServer starts a session with the enrolled devices that may take part,
// by the index each was given for this session.
func NewServer(p Params, devices map[uint32]ed25519.PublicKey) (*Server, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(devices) < p.Threshold || len(devices) > MaxClients {
		return nil, fmt.Errorf("%d devices for threshold %d: %w", len(devices), p.Threshold, ErrTooFew)
	}
	for i, d := range devices {
		if i == 0 || len(d) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("device %d: %w", i, ErrMismatch)
		}
	}
	return &Server{p: p, devices: maps.Clone(devices), keys: map[uint32]KeyEntry{}, cts: map[uint32][]Addressed{},
		masked: map[uint32][]uint64{}, sigs: map[uint32][]byte{}, reveal: map[uint32]map[uint32]Revealed{}}, nil
}

// Params returns the session parameters.
func (s *Server) Params() Params { return s.p }

var stageType = map[stage]Type{
	stageAdvertise: TypeAdvertise, stageShareKeys: TypeShareKeys, stageMasked: TypeMasked,
	stageConsistency: TypeConsistency, stageUnmask: TypeUnmask,
}

// Receive verifies and records one client message of the current round:
// right version, session and type; an enrolled sender that took part in the
// previous round and has not sent this message yet; a valid device
// signature; a well-formed body consistent with the round.
func (s *Server) Receive(msg []byte) error {
	e, err := ParseEnvelope(msg)
	if err != nil {
		return err
	}
	if e.Session != s.p.Session {
		return fmt.Errorf("session: %w", ErrReplay)
	}
	dev, ok := s.devices[e.Sender]
	if !ok || !e.verify(dev) {
		return fmt.Errorf("sender %d: %w", e.Sender, ErrForged)
	}
	if want, ok := stageType[s.st]; !ok || e.Type != want {
		if e.Type < stageType[s.st] {
			return fmt.Errorf("type %d in round of %d: %w", e.Type, stageType[s.st], ErrReplay)
		}
		return fmt.Errorf("type %d in round of %d: %w", e.Type, stageType[s.st], ErrStage)
	}
	switch e.Type {
	case TypeAdvertise:
		return s.advertise(e)
	case TypeShareKeys:
		return s.shareKeys(e)
	case TypeMasked:
		return s.maskedInput(e)
	case TypeConsistency:
		return s.consistency(e)
	default:
		return s.unmask(e)
	}
}

// admit checks a client message of a round (what) against the round
// before it: the sender took part in it (set, named name) and has not sent
// this message yet (sent).
func admit(e Envelope, what, name string, set []uint32, sent bool) error {
	if !in(set, e.Sender) {
		return fmt.Errorf("%s from %d outside %s: %w", what, e.Sender, name, ErrMismatch)
	}
	if sent {
		return fmt.Errorf("%s from %d: %w", what, e.Sender, ErrReplay)
	}
	return nil
}

// has reports whether client i has an entry in m.
func has[V any](m map[uint32]V, i uint32) bool { _, ok := m[i]; return ok }

func in(set []uint32, i uint32) bool { _, ok := slices.BinarySearch(set, i); return ok }

func (s *Server) advertise(e Envelope) error {
	if _, dup := s.keys[e.Sender]; dup {
		return fmt.Errorf("advertise from %d: %w", e.Sender, ErrReplay)
	}
	a, err := ParseAdvertise(e.Body)
	if err != nil {
		return err
	}
	if a.Threshold != uint32(s.p.Threshold) || a.Bits != s.p.Bits || a.Length != uint32(s.p.Length) {
		return fmt.Errorf("advertised parameters: %w", ErrMismatch)
	}
	for _, k := range s.keys {
		if k.Advertise.EncPub == a.EncPub || k.Advertise.MaskPub == a.MaskPub || a.EncPub == a.MaskPub {
			return fmt.Errorf("advertised key reused: %w", ErrMismatch)
		}
	}
	s.keys[e.Sender] = KeyEntry{Index: e.Sender, Device: s.devices[e.Sender], Advertise: a, Sig: bytes.Clone(e.Sig)}
	return nil
}

func (s *Server) shareKeys(e Envelope) error {
	if err := admit(e, "share keys", "U1", s.u1, has(s.cts, e.Sender)); err != nil {
		return err
	}
	l, err := ParseAddressed(e.Body)
	if err != nil {
		return err
	}
	if len(l) != len(s.u1)-1 {
		return fmt.Errorf("%d ciphertexts for %d peers: %w", len(l), len(s.u1)-1, ErrMismatch)
	}
	for _, a := range l {
		if a.Peer == e.Sender || !in(s.u1, a.Peer) {
			return fmt.Errorf("ciphertext for %d: %w", a.Peer, ErrMismatch)
		}
	}
	s.cts[e.Sender] = l
	return nil
}

func (s *Server) maskedInput(e Envelope) error {
	if err := admit(e, "masked input", "U2", s.u2, has(s.masked, e.Sender)); err != nil {
		return err
	}
	y, err := ParseVector(e.Body, s.p.Bits)
	if err != nil {
		return err
	}
	if len(y) != s.p.Length {
		return fmt.Errorf("vector of %d: %w", len(y), ErrMismatch)
	}
	s.masked[e.Sender] = y
	return nil
}

func (s *Server) consistency(e Envelope) error {
	if err := admit(e, "consistency", "U3", s.u3, has(s.sigs, e.Sender)); err != nil {
		return err
	}
	if !bytes.Equal(e.Body, MarshalIndexes(s.u3)) {
		return fmt.Errorf("consistency from %d signs another set: %w", e.Sender, ErrMismatch)
	}
	s.sigs[e.Sender] = bytes.Clone(e.Sig)
	return nil
}

func (s *Server) unmask(e Envelope) error {
	if err := admit(e, "unmask", "U4", s.u4, has(s.reveal, e.Sender)); err != nil {
		return err
	}
	l, err := ParseRevealed(e.Body)
	if err != nil {
		return err
	}
	if len(l) != len(s.u2) {
		return fmt.Errorf("%d shares for %d owners: %w", len(l), len(s.u2), ErrMismatch)
	}
	got := make(map[uint32]Revealed, len(l))
	for i, r := range l {
		want := ShareMaskKey
		if in(s.u3, r.Owner) {
			want = ShareSeed
		}
		if r.Owner != s.u2[i] || r.Kind != want {
			return fmt.Errorf("share of %d: %w", r.Owner, ErrMismatch)
		}
		got[r.Owner] = r
	}
	s.reveal[e.Sender] = got
	return nil
}

// Close ends the current round. It fails with ErrTooFew (the session is
// then over) when fewer than t clients answered; after the last round it
// computes the sum.
func (s *Server) Close() error {
	var n int
	switch s.st {
	case stageAdvertise:
		s.u1 = slices.Sorted(maps.Keys(s.keys))
		n = len(s.u1)
		if 2*s.p.Threshold <= n {
			return fmt.Errorf("threshold %d is not more than half of %d clients: %w", s.p.Threshold, n, ErrTooFew)
		}
	case stageShareKeys:
		s.u2 = slices.Sorted(maps.Keys(s.cts))
		n = len(s.u2)
		s.inbox = map[uint32][]Addressed{}
		for _, from := range s.u2 {
			for _, a := range s.cts[from] {
				s.inbox[a.Peer] = append(s.inbox[a.Peer], Addressed{Peer: from, Cipher: a.Cipher})
			}
		}
	case stageMasked:
		s.u3 = slices.Sorted(maps.Keys(s.masked))
		n = len(s.u3)
	case stageConsistency:
		s.u4 = slices.Sorted(maps.Keys(s.sigs))
		n = len(s.u4)
	case stageUnmask:
		n = len(s.reveal)
	default:
		return fmt.Errorf("session over: %w", ErrStage)
	}
	if n < s.p.Threshold {
		s.st = stageDone
		return fmt.Errorf("%d clients in round %d, threshold %d: %w", n, s.st, s.p.Threshold, ErrTooFew)
	}
	if s.st == stageUnmask {
		s.st = stageDone
		return s.unmaskSum()
	}
	s.st++
	return nil
}

func (s *Server) broadcast(t Type, body []byte) []byte {
	e := Envelope{Type: t, Session: s.p.Session, Body: body}
	return e.Marshal()
}

// KeyList is the round-0 broadcast (after the first Close).
func (s *Server) KeyList() ([]byte, error) {
	if s.u1 == nil {
		return nil, fmt.Errorf("key list before round 0 closed: %w", ErrStage)
	}
	l := make(KeyList, 0, len(s.u1))
	for _, i := range s.u1 {
		l = append(l, s.keys[i])
	}
	return s.broadcast(TypeKeyList, l.Marshal()), nil
}

// Ciphertexts is the round-1 broadcast to client to (after the second Close).
func (s *Server) Ciphertexts(to uint32) ([]byte, error) {
	if s.inbox == nil || !in(s.u2, to) {
		return nil, fmt.Errorf("ciphertexts for %d: %w", to, ErrStage)
	}
	return s.broadcast(TypeCiphertexts, MarshalAddressed(s.inbox[to])), nil
}

// Survivors is the round-2 broadcast (after the third Close).
func (s *Server) Survivors() ([]byte, error) {
	if s.u3 == nil {
		return nil, fmt.Errorf("survivors before round 2 closed: %w", ErrStage)
	}
	return s.broadcast(TypeSurvivors, MarshalIndexes(s.u3)), nil
}

// Signatures is the round-3 broadcast (after the fourth Close).
func (s *Server) Signatures() ([]byte, error) {
	if s.u4 == nil {
		return nil, fmt.Errorf("signatures before round 3 closed: %w", ErrStage)
	}
	l := make([]Signed, 0, len(s.u4))
	for _, i := range s.u4 {
		l = append(l, Signed{Index: i, Sig: s.sigs[i]})
	}
	return s.broadcast(TypeSignatures, MarshalSignatures(l)), nil
}

// Survived returns U3, the clients whose inputs are in the sum.
func (s *Server) Survived() []uint32 { return slices.Clone(s.u3) }

// Sum returns Σ_{u∈U3} x_u mod 2^Bits once the last round closed.
func (s *Server) Sum() ([]uint64, error) {
	if s.sum == nil {
		return nil, fmt.Errorf("sum before round 4 closed: %w", ErrStage)
	}
	return slices.Clone(s.sum), nil
}

// unmaskSum reconstructs every needed secret from the revealed shares and
// removes the masks.
func (s *Server) unmaskSum() error {
	z := make([]uint64, s.p.Length)
	m := ringMask(s.p.Bits)
	for _, u := range s.u3 {
		for i, y := range s.masked[u] {
			z[i] = (z[i] + y) & m
		}
	}
	for _, v := range s.u2 {
		shares := map[uint32][keyLen]byte{}
		for from, rs := range s.reveal {
			shares[from] = rs[v].Value
		}
		secret, err := recoverSecret(s.p.Threshold, shares)
		if err != nil {
			return fmt.Errorf("recover secret of %d: %w", v, err)
		}
		if in(s.u3, v) {
			addPRG(z, selfMaskKey(secret), s.p.Bits, -1)
			continue
		}
		// v dropped after sharing: remove the pairwise masks the survivors added for it.
		priv, err := maskKeyFromScalar(secret)
		if err != nil {
			return fmt.Errorf("mask key of %d: %w", v, err)
		}
		if [keyLen]byte(priv.PublicKey().Bytes()) != s.keys[v].Advertise.MaskPub {
			return fmt.Errorf("recovered mask key of %d does not match its advertised key: %w", v, ErrForged)
		}
		for _, u := range s.u3 {
			k, err := pairKey(priv, s.keys[u].Advertise.MaskPub, s.p.Session)
			if err != nil {
				return err
			}
			sign := -1 // u added +PRG when v > u: subtract it
			if v < u {
				sign = 1
			}
			addPRG(z, k, s.p.Bits, sign)
		}
	}
	s.sum = z
	return nil
}
