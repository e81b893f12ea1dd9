package secagg

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Version is the only message version this package reads and writes.
const Version = 1

// Type is a message type (docs/spec/secagg-v1.md). Values are append-only.
type Type uint8

// Client→server messages (signed) and server→client broadcasts (unsigned).
const (
	TypeAdvertise   Type = 1    // round 0: a client's two X25519 public keys
	TypeShareKeys   Type = 2    // round 1: encrypted key shares, one per peer
	TypeMasked      Type = 3    // round 2: the masked input vector
	TypeConsistency Type = 4    // round 3: the survivor set, signed
	TypeUnmask      Type = 5    // round 4: the shares the server may have
	TypeKeyList     Type = 0x81 // server: every advertised key with its signature
	TypeCiphertexts Type = 0x82 // server: the share ciphertexts addressed to one client
	TypeSurvivors   Type = 0x83 // server: who sent a masked input
	TypeSignatures  Type = 0x84 // server: the consistency signatures
)

// Limits on what a parser accepts; larger inputs are refused before any
// allocation proportional to a claimed count.
const (
	MaxClients = 4096    // participants in one session
	MaxLength  = 1 << 22 // elements of one vector
	SessionLen = 16      // bytes of a session id
	keyLen     = 32      // X25519 public key, ristretto255 scalar
	sigLen     = ed25519.SignatureSize
	headerLen  = 1 + 1 + SessionLen + 4 + 4
	// advertiseLen is the advertise body: threshold, bits, length, two keys.
	advertiseLen = 4 + 1 + 4 + keyLen + keyLen
	// sharePlainLen is a decrypted key share: from, to, mask-key share, seed share.
	sharePlainLen = 4 + 4 + keyLen + keyLen
	nonceLen      = 12
	// shareCipherLen is nonce ‖ ChaCha20-Poly1305(sharePlain).
	shareCipherLen = nonceLen + sharePlainLen + 16
)

// Errors. Each wraps a fault kind so the HTTP layer maps it without text.
var (
	// ErrMalformed: the bytes do not parse as a version-1 message of the expected type.
	ErrMalformed = fault.New(fault.Invalid, "malformed secure-aggregation message")
	// ErrForged: a signature, a key or a ciphertext does not verify.
	ErrForged = fault.New(fault.Permission, "secure-aggregation message does not verify")
	// ErrReplay: the message was already received in this session.
	ErrReplay = fault.New(fault.Conflict, "secure-aggregation message replayed")
	// ErrStage: the message does not belong to the current round of the session.
	ErrStage = fault.New(fault.Conflict, "secure-aggregation message out of order")
	// ErrTooFew: fewer than the threshold of clients are left; the session aborts.
	ErrTooFew = fault.New(fault.Unavailable, "too few secure-aggregation clients left")
	// ErrMismatch: a set or parameter a peer or the server sent is inconsistent.
	ErrMismatch = fault.New(fault.Invalid, "secure-aggregation state inconsistent")
)

func malformed(what string) error { return fmt.Errorf("%s: %w", what, ErrMalformed) }

// Envelope is a parsed message: a header, a body and, for client messages,
// the Ed25519 signature of the sender's device key over signedPrefix ‖
// header ‖ body.
type Envelope struct {
	Type    Type
	Session [SessionLen]byte
	Sender  uint32 // client index (1-based); 0 for server broadcasts
	Body    []byte
	Sig     []byte // nil for server broadcasts
}

// signedPrefix separates secagg signatures from every other use of a device key.
const signedPrefix = "obscura/secagg/v1\x00"

func (t Type) fromClient() bool { return t >= TypeAdvertise && t <= TypeUnmask }

func (t Type) known() bool {
	return t.fromClient() || (t >= TypeKeyList && t <= TypeSignatures)
}

// header returns the bytes before the body.
func (e *Envelope) header() []byte {
	b := make([]byte, headerLen, headerLen+len(e.Body)+sigLen)
	b[0] = Version
	b[1] = byte(e.Type)
	copy(b[2:], e.Session[:])
	binary.BigEndian.PutUint32(b[18:], e.Sender)
	binary.BigEndian.PutUint32(b[22:], uint32(len(e.Body)))
	return b
}

// signedBytes returns what the sender's device key signs.
func (e *Envelope) signedBytes() []byte {
	h := e.header()
	m := make([]byte, 0, len(signedPrefix)+len(h)+len(e.Body))
	m = append(m, signedPrefix...)
	m = append(m, h...)
	return append(m, e.Body...)
}

// Marshal encodes the envelope.
func (e *Envelope) Marshal() []byte {
	b := append(e.header(), e.Body...)
	if e.Type.fromClient() {
		b = append(b, e.Sig...)
	}
	return b
}

// sign fills Sig with the device key's signature.
func (e *Envelope) sign(key ed25519.PrivateKey) {
	e.Sig = ed25519.Sign(key, e.signedBytes())
}

// verify reports whether Sig is pub's signature of the envelope.
func (e *Envelope) verify(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(e.Sig) == sigLen && ed25519.Verify(pub, e.signedBytes(), e.Sig)
}

// ParseEnvelope parses one message. It checks the version, the type, the
// lengths and that client messages carry a sender and a signature; it does
// not verify the signature or parse the body.
func ParseEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if len(b) < headerLen {
		return e, malformed("short header")
	}
	if b[0] != Version {
		return e, fmt.Errorf("version %d: %w", b[0], fault.New(fault.Unsupported, "unsupported secure-aggregation version"))
	}
	e.Type = Type(b[1])
	if !e.Type.known() {
		return e, malformed("unknown type")
	}
	copy(e.Session[:], b[2:18])
	e.Sender = binary.BigEndian.Uint32(b[18:])
	n := binary.BigEndian.Uint32(b[22:])
	rest := b[headerLen:]
	want := uint64(n)
	if e.Type.fromClient() {
		want += sigLen
		if e.Sender == 0 {
			return e, malformed("client message without sender")
		}
	} else if e.Sender != 0 {
		return e, malformed("broadcast with sender")
	}
	if uint64(len(rest)) != want {
		return e, malformed("length")
	}
	e.Body = rest[:n:n]
	if e.Type.fromClient() {
		e.Sig = rest[n:]
	}
	return e, nil
}

// reader consumes a body; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = malformed("truncated body")
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func (r *reader) u8() uint8 {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

// count reads a count and checks it against max and against the bytes left
// (each item at least per bytes), so a claimed count never drives allocation.
func (r *reader) count(max, per int) int {
	n := r.u32()
	if r.err == nil && (uint64(n) > uint64(max) || uint64(n)*uint64(per) > uint64(len(r.b))) {
		r.err = malformed("count")
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = malformed("trailing bytes")
	}
	return r.err
}

func putU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// Advertise is the round-0 body: the session parameters the client agreed
// to and its two fresh X25519 public keys.
type Advertise struct {
	Threshold uint32
	Bits      uint8
	Length    uint32
	EncPub    [keyLen]byte // c_u^PK: share encryption
	MaskPub   [keyLen]byte // s_u^PK: pairwise masks
}

// Marshal encodes the body.
func (a *Advertise) Marshal() []byte {
	b := make([]byte, 0, advertiseLen)
	b = putU32(b, a.Threshold)
	b = append(b, a.Bits)
	b = putU32(b, a.Length)
	b = append(b, a.EncPub[:]...)
	return append(b, a.MaskPub[:]...)
}

// ParseAdvertise parses a round-0 body.
func ParseAdvertise(b []byte) (Advertise, error) {
	var a Advertise
	r := reader{b: b}
	a.Threshold = r.u32()
	a.Bits = r.u8()
	a.Length = r.u32()
	copy(a.EncPub[:], r.take(keyLen))
	copy(a.MaskPub[:], r.take(keyLen))
	return a, r.end()
}

// KeyEntry is one client's line in the key list: its index, its enrolled
// device key, its advertise body and the signature of its advertise message.
type KeyEntry struct {
	Index     uint32
	Device    ed25519.PublicKey
	Advertise Advertise
	Sig       []byte
}

// KeyList is the round-0 broadcast, sorted by index.
type KeyList []KeyEntry

// Marshal encodes the body.
func (l KeyList) Marshal() []byte {
	return marshalList(l, func(b []byte, e KeyEntry) []byte {
		b = append(putU32(b, e.Index), e.Device...)
		return append(append(b, e.Advertise.Marshal()...), e.Sig...)
	})
}

// ParseKeyList parses a key-list body; indexes must be strictly ascending.
func ParseKeyList(b []byte) (KeyList, error) {
	return parseList(b, ed25519.PublicKeySize+advertiseLen+sigLen, "key list order", func(r *reader, i uint32) KeyEntry {
		e := KeyEntry{Index: i, Device: ed25519.PublicKey(r.take(ed25519.PublicKeySize))}
		adv := r.take(advertiseLen)
		e.Sig = r.take(sigLen)
		if r.err == nil {
			e.Advertise, r.err = ParseAdvertise(adv)
		}
		return e
	})
}

// marshalList encodes a list body: the count, then each item (which
// starts with its client index).
func marshalList[T any](l []T, item func(b []byte, t T) []byte) []byte {
	b := putU32(nil, uint32(len(l)))
	for _, t := range l {
		b = item(b, t)
	}
	return b
}

// parseList parses a list body: the count (at most MaxClients, bounded by
// the bytes left), then per item a client index, nonzero and strictly
// ascending (else the error names order), and rest more bytes that item
// reads.
func parseList[T any](b []byte, rest int, order string, item func(r *reader, index uint32) T) ([]T, error) {
	r := reader{b: b}
	n := r.count(MaxClients, 4+rest)
	l := make([]T, 0, n)
	var last uint32
	for i := 0; i < n && r.err == nil; i++ {
		x := r.u32()
		t := item(&r, x)
		if r.err == nil && (x == 0 || i > 0 && x <= last) {
			r.err = malformed(order)
		}
		last = x
		l = append(l, t)
	}
	return l, r.end()
}

// Addressed is an encrypted key share between two clients: To in a
// ShareKeys message, From in a Ciphertexts broadcast.
type Addressed struct {
	Peer   uint32
	Cipher []byte // shareCipherLen bytes
}

// MarshalAddressed encodes a ShareKeys or Ciphertexts body.
func MarshalAddressed(l []Addressed) []byte {
	return marshalList(l, func(b []byte, a Addressed) []byte { return append(putU32(b, a.Peer), a.Cipher...) })
}

// ParseAddressed parses a ShareKeys or Ciphertexts body; peers strictly ascending.
func ParseAddressed(b []byte) ([]Addressed, error) {
	return parseList(b, shareCipherLen, "peer order", func(r *reader, i uint32) Addressed {
		return Addressed{Peer: i, Cipher: r.take(shareCipherLen)}
	})
}

// elemBytes is the bytes one ring element takes on the wire.
func elemBytes(bits uint8) int { return (int(bits) + 7) / 8 }

// MarshalVector encodes a masked-input body: the length, then each element
// big-endian in ceil(bits/8) bytes.
func MarshalVector(v []uint64, bits uint8) []byte {
	w := elemBytes(bits)
	b := make([]byte, 4, 4+len(v)*w)
	binary.BigEndian.PutUint32(b, uint32(len(v)))
	var tmp [8]byte
	for _, x := range v {
		binary.BigEndian.PutUint64(tmp[:], x)
		b = append(b, tmp[8-w:]...)
	}
	return b
}

// ParseVector parses a masked-input body for a ring of 2^bits elements; an
// element at or above 2^bits is refused.
func ParseVector(b []byte, bits uint8) ([]uint64, error) {
	if bits == 0 || bits > 64 {
		return nil, malformed("bits")
	}
	w := elemBytes(bits)
	r := reader{b: b}
	n := r.count(MaxLength, w)
	if r.err != nil {
		return nil, r.err
	}
	v := make([]uint64, n)
	var tmp [8]byte
	for i := range v {
		copy(tmp[8-w:], r.take(w))
		x := binary.BigEndian.Uint64(tmp[:])
		if x&^ringMask(bits) != 0 {
			return nil, malformed("element out of ring")
		}
		v[i] = x
	}
	return v, r.end()
}

// MarshalIndexes encodes a Survivors or Consistency body.
func MarshalIndexes(s []uint32) []byte {
	return marshalList(s, putU32)
}

// ParseIndexes parses a Survivors or Consistency body; strictly ascending, nonzero.
func ParseIndexes(b []byte) ([]uint32, error) {
	return parseList(b, 0, "index order", func(_ *reader, i uint32) uint32 { return i })
}

// Signed is one survivor's consistency signature.
type Signed struct {
	Index uint32
	Sig   []byte
}

// MarshalSignatures encodes a Signatures body.
func MarshalSignatures(l []Signed) []byte {
	return marshalList(l, func(b []byte, s Signed) []byte { return append(putU32(b, s.Index), s.Sig...) })
}

// ParseSignatures parses a Signatures body; indexes strictly ascending.
func ParseSignatures(b []byte) ([]Signed, error) {
	return parseList(b, sigLen, "signature order", func(r *reader, i uint32) Signed {
		return Signed{Index: i, Sig: r.take(sigLen)}
	})
}

// ShareKind says which secret a revealed share belongs to.
type ShareKind uint8

// Share kinds.
const (
	ShareSeed    ShareKind = 1 // b_v: the self-mask seed of a survivor
	ShareMaskKey ShareKind = 2 // s_v^SK: the mask key of a client that dropped
)

// Revealed is one share a client reveals in round 4: its share of Owner's secret.
type Revealed struct {
	Owner uint32
	Kind  ShareKind
	Value [keyLen]byte // ristretto255 scalar, canonical encoding
}

// MarshalRevealed encodes an Unmask body.
func MarshalRevealed(l []Revealed) []byte {
	return marshalList(l, func(b []byte, s Revealed) []byte {
		return append(append(putU32(b, s.Owner), byte(s.Kind)), s.Value[:]...)
	})
}

// ParseRevealed parses an Unmask body; owners strictly ascending, kinds known.
func ParseRevealed(b []byte) ([]Revealed, error) {
	return parseList(b, 1+keyLen, "owner order", func(r *reader, i uint32) Revealed {
		s := Revealed{Owner: i, Kind: ShareKind(r.u8())}
		copy(s.Value[:], r.take(keyLen))
		if r.err == nil && s.Kind != ShareSeed && s.Kind != ShareMaskKey {
			r.err = malformed("share kind")
		}
		return s
	})
}

// sharePlain is a decrypted key share.
type sharePlain struct {
	From, To uint32
	MaskKey  [keyLen]byte
	Seed     [keyLen]byte
}

func (p *sharePlain) marshal() []byte {
	b := make([]byte, 0, sharePlainLen)
	b = putU32(b, p.From)
	b = putU32(b, p.To)
	b = append(b, p.MaskKey[:]...)
	return append(b, p.Seed[:]...)
}

func parseSharePlain(b []byte) (sharePlain, error) {
	var p sharePlain
	r := reader{b: b}
	p.From = r.u32()
	p.To = r.u32()
	copy(p.MaskKey[:], r.take(keyLen))
	copy(p.Seed[:], r.take(keyLen))
	return p, r.end()
}
