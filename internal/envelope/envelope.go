// Package envelope implements Obscura's envelope ciphertext format v1
// (docs/spec/envelope-v1.md): every object gets its own random 256-bit data
// key (DEK); the DEK is wrapped by a scope key held by the key service, and
// the object is encrypted with Tink's streaming AES-256-GCM-HKDF (segmented,
// so objects of any size stream in constant memory and truncation or
// reordering of segments is detected).
//
// The associated data binds the format version, the owner (tenant, subject
// hash, purpose), the object id and the whole header, so a ciphertext moved
// to another object or owner, or with any header byte changed, does not
// decrypt. Decryption failures are typed (ErrNotEnvelope, ErrUnsupported,
// ErrMalformed, ErrAuth); a failed open never yields plaintext.
//
// Primitives come from Tink; this package only frames them.
package envelope

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	tinkstream "github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Format constants (docs/spec/envelope-v1.md).
const (
	Magic          = "OBSE"
	Version1       = 1
	MinSegLog2     = 12 // 4 KiB
	MaxSegLog2     = 24 // 16 MiB
	DefaultSegLog2 = 16 // 64 KiB: small buffers for small objects, 0.025% tag overhead
	MaxKeyIDLen    = 64
	MinWrappedLen  = 28
	MaxWrappedLen  = 512
	dekSize        = 32
	fixedHeaderLen = 4 + 1 + 1 + 1 // magic, version, seg_log2, key id length
)

// Sentinel errors; each is a fault kind so the API maps them.
var (
	ErrNotEnvelope = fault.New(fault.Invalid, "not an envelope")
	ErrUnsupported = fault.New(fault.Unsupported, "unsupported envelope version")
	ErrMalformed   = fault.New(fault.Invalid, "malformed envelope header")
	ErrAuth        = fault.New(fault.Invalid, "envelope does not authenticate")
)

// Binding is what a ciphertext is bound to. Subject is the keyed hash of the
// subject id, never the raw id.
type Binding struct {
	Tenant  string
	Subject string
	Purpose string
	Object  string
}

func (b Binding) context() []byte {
	var out []byte
	out = append(out, "obscura/envelope/v1"...)
	for _, s := range []string{b.Tenant, b.Subject, b.Purpose, b.Object} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(s)))
		out = append(out, s...)
	}
	return out
}

func (b Binding) wrapAAD() []byte { return append(b.context(), "/dek"...) }

func (b Binding) streamAAD(header []byte) []byte {
	return append(append(b.context(), "/stream"...), header...)
}

// Header is a parsed envelope header.
type Header struct {
	Version    byte
	SegLog2    byte
	KeyID      string
	WrappedDEK []byte
	raw        []byte
}

// Bytes returns the header's exact encoding.
func (h Header) Bytes() []byte { return bytes.Clone(h.raw) }

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func encodeHeader(segLog2 byte, keyID string, wrapped []byte) []byte {
	h := make([]byte, 0, fixedHeaderLen+len(keyID)+2+len(wrapped))
	h = append(h, Magic...)
	h = append(h, Version1, segLog2, byte(len(keyID)))
	h = append(h, keyID...)
	h = binary.BigEndian.AppendUint16(h, uint16(len(wrapped)))
	return append(h, wrapped...)
}

// ReadHeader reads and validates a header from r, consuming exactly its bytes.
func ReadHeader(r io.Reader) (Header, error) {
	fixed := make([]byte, fixedHeaderLen)
	if _, err := io.ReadFull(r, fixed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, fmt.Errorf("short header: %w", ErrNotEnvelope)
		}
		return Header{}, fmt.Errorf("read header: %w", err)
	}
	if string(fixed[:4]) != Magic {
		return Header{}, ErrNotEnvelope
	}
	h := Header{Version: fixed[4], SegLog2: fixed[5]}
	if h.Version != Version1 {
		return Header{}, fmt.Errorf("version %d: %w", h.Version, ErrUnsupported)
	}
	if h.SegLog2 < MinSegLog2 || h.SegLog2 > MaxSegLog2 {
		return Header{}, fmt.Errorf("segment size 2^%d: %w", h.SegLog2, ErrMalformed)
	}
	idLen := int(fixed[6])
	rest := make([]byte, idLen+2)
	if _, err := io.ReadFull(r, rest); err != nil {
		return Header{}, fmt.Errorf("truncated key id: %w", ErrMalformed)
	}
	h.KeyID = string(rest[:idLen])
	if !validKeyID(h.KeyID) {
		return Header{}, fmt.Errorf("key id: %w", ErrMalformed)
	}
	wl := int(binary.BigEndian.Uint16(rest[idLen:]))
	if wl < MinWrappedLen || wl > MaxWrappedLen {
		return Header{}, fmt.Errorf("wrapped key length %d: %w", wl, ErrMalformed)
	}
	h.WrappedDEK = make([]byte, wl)
	if _, err := io.ReadFull(r, h.WrappedDEK); err != nil {
		return Header{}, fmt.Errorf("truncated wrapped key: %w", ErrMalformed)
	}
	h.raw = encodeHeader(h.SegLog2, h.KeyID, h.WrappedDEK)
	return h, nil
}

func streamCipher(dek []byte, segLog2 byte) (*tinkstream.AESGCMHKDF, error) {
	return tinkstream.NewAESGCMHKDF(dek, "SHA256", dekSize, 1<<segLog2, 0)
}

// Seal returns a writer that encrypts everything written to it into w as one
// envelope. keyID names the scope key; wrap is that key's AEAD. The caller
// must Close the writer to finish the last segment; an envelope that was not
// closed does not decrypt.
func Seal(w io.Writer, b Binding, keyID string, wrap tink.AEAD) (io.WriteCloser, error) {
	return SealSegmented(w, b, keyID, wrap, DefaultSegLog2)
}

// SealSegmented is Seal with an explicit segment size of 2^segLog2 bytes.
func SealSegmented(w io.Writer, b Binding, keyID string, wrap tink.AEAD, segLog2 byte) (io.WriteCloser, error) {
	if !validKeyID(keyID) {
		return nil, fmt.Errorf("seal: key id: %w", ErrMalformed)
	}
	if segLog2 < MinSegLog2 || segLog2 > MaxSegLog2 {
		return nil, fmt.Errorf("seal: segment size: %w", ErrMalformed)
	}
	dek := make([]byte, dekSize)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	defer clear(dek)
	wrapped, err := wrap.Encrypt(dek, b.wrapAAD())
	if err != nil {
		return nil, fmt.Errorf("seal: wrap data key: %w", err)
	}
	if len(wrapped) < MinWrappedLen || len(wrapped) > MaxWrappedLen {
		return nil, fmt.Errorf("seal: wrapped key is %d bytes: %w", len(wrapped), ErrMalformed)
	}
	header := encodeHeader(segLog2, keyID, wrapped)
	sc, err := streamCipher(dek, segLog2)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(header); err != nil {
		return nil, fmt.Errorf("seal: write header: %w", err)
	}
	return sc.NewEncryptingWriter(w, b.streamAAD(header))
}

// Open reads an envelope from r. keyFor returns the AEAD of the scope key
// named in the header (or an error, e.g. the key was destroyed). The returned
// reader yields plaintext and reports ErrAuth as soon as a segment fails to
// authenticate, including a truncated or extended stream; callers must read
// to EOF before trusting what they read.
func Open(r io.Reader, b Binding, keyFor func(keyID string) (tink.AEAD, error)) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, err
	}
	wrap, err := keyFor(h.KeyID)
	if err != nil {
		return nil, err
	}
	dek, err := wrap.Decrypt(h.WrappedDEK, b.wrapAAD())
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", ErrAuth)
	}
	defer clear(dek)
	if len(dek) != dekSize {
		return nil, fmt.Errorf("data key size %d: %w", len(dek), ErrAuth)
	}
	sc, err := streamCipher(dek, h.SegLog2)
	if err != nil {
		return nil, err
	}
	pr, err := sc.NewDecryptingReader(br, b.streamAAD(h.raw))
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", ErrAuth)
	}
	return &authReader{r: pr}, nil
}

// authReader maps Tink's untyped stream errors to ErrAuth.
type authReader struct{ r io.Reader }

func (a *authReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return n, err
}

// OpenAll opens and reads a whole envelope of at most limit plaintext bytes,
// returning the plaintext only if every segment authenticated: on any error
// it returns nil, never a prefix. sizeHint, if positive, is the ciphertext
// size (an upper bound of the plaintext size) and saves reallocations.
func OpenAll(r io.Reader, b Binding, keyFor func(keyID string) (tink.AEAD, error), limit, sizeHint int64) ([]byte, error) {
	pr, err := Open(r, b, keyFor)
	if err != nil {
		return nil, err
	}
	c := int64(512)
	if sizeHint > 0 {
		c = min(sizeHint, limit+1)
	}
	pt := make([]byte, 0, c)
	for {
		if len(pt) == cap(pt) {
			pt = append(pt, 0)[:len(pt)]
		}
		n, err := pr.Read(pt[len(pt):cap(pt)])
		pt = pt[:len(pt)+n]
		if int64(len(pt)) > limit {
			clear(pt)
			return nil, fault.New(fault.TooLarge, "object larger than the read limit")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			clear(pt)
			return nil, err
		}
	}
	return pt, nil
}
