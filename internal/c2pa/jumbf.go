// Package c2pa writes and reads C2PA 2.x manifests in JPEG files: the JUMBF
// box tree (ISO/IEC 19566-5), its APP11 segmentation, the CBOR claim v2 and
// assertions, and the COSE_Sign1 claim signature with an X.509 chain in the
// protected header. No Go C2PA library exists; this package implements the
// subset Obscura emits, from the C2PA 2.1 specification (docs/spec/provenance-v1.md).
//
// Protects against: a manifest whose claim, assertions or image bytes were
// changed after signing (hashed URIs, the c2pa.hash.data hard binding and the
// claim signature are all checked by Verify); a signer not issued by a trusted
// anchor (Verify checks the chain and the end-entity profile); hostile input
// (every parser has size limits and a fuzz target).
//
// Does not protect against: stripping the manifest (an image without one is
// simply unsigned; the watermark answers that case); a compromised signing
// key before it is revoked; time claims (no TSA: created_at is what the
// signer says).
package c2pa

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed: bytes that do not parse as the format they claim to be.
var ErrMalformed = errors.New("c2pa: malformed")

// Box type codes (ISO/IEC 19566-5 and C2PA 2.1 §11.1).
const (
	typeJUMB = "jumb"
	typeJUMD = "jumd"
	typeCBOR = "cbor"
)

// JUMBF description box type UUIDs (C2PA 2.1 §11.1.4).
var (
	uuidStore     = c2paUUID("c2pa")
	uuidManifest  = c2paUUID("c2ma")
	uuidAssertion = c2paUUID("c2as")
	uuidClaim     = c2paUUID("c2cl")
	uuidSignature = c2paUUID("c2cs")
	uuidCBOR      = c2paUUID("cbor")
)

// c2paUUID builds the type UUID "<4cc>-0011-0010-8000-00AA00389B71".
func c2paUUID(fourcc string) [16]byte {
	var u [16]byte
	copy(u[:4], fourcc)
	copy(u[4:], []byte{0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	return u
}

// maxDepth bounds superbox nesting when parsing.
const maxDepth = 8

// Box is one JUMBF box. A superbox ("jumb") has a description (UUID, label)
// and children; a content box has Data.
type Box struct {
	Type     string   // four-character code
	UUID     [16]byte // superbox only: description box type
	Label    string   // superbox only
	Children []*Box   // superbox only
	Data     []byte   // content box only: payload after the 8-byte header

	body []byte // parsed boxes: the original payload, hashed as read
}

// Child returns the superbox child with the label, or nil.
func (b *Box) Child(label string) *Box {
	for _, c := range b.Children {
		if c.Type == typeJUMB && c.Label == label {
			return c
		}
	}
	return nil
}

// Content returns the first content box of the type, or nil.
func (b *Box) Content(typ string) *Box {
	for _, c := range b.Children {
		if c.Type == typ {
			return c
		}
	}
	return nil
}

// superbox makes a labelled superbox.
func superbox(uuid [16]byte, label string, children ...*Box) *Box {
	return &Box{Type: typeJUMB, UUID: uuid, Label: label, Children: children}
}

// Encode serializes the box with its header.
func (b *Box) Encode() []byte {
	var buf bytes.Buffer
	b.encodeTo(&buf)
	return buf.Bytes()
}

// payload is the box body without its own 8-byte header: for a superbox the
// description box followed by the children. C2PA hashes assertions over it.
func (b *Box) payload() []byte {
	if b.body != nil {
		return b.body
	}
	if b.Type != typeJUMB {
		return b.Data
	}
	var buf bytes.Buffer
	// Description box: UUID, toggles (requestable | label present), label NUL.
	d := make([]byte, 0, 17+len(b.Label)+1)
	d = append(d, b.UUID[:]...)
	d = append(d, 0x03)
	d = append(d, b.Label...)
	d = append(d, 0)
	writeHeader(&buf, typeJUMD, len(d))
	buf.Write(d)
	for _, c := range b.Children {
		c.encodeTo(&buf)
	}
	return buf.Bytes()
}

func (b *Box) encodeTo(buf *bytes.Buffer) {
	p := b.payload()
	writeHeader(buf, b.Type, len(p))
	buf.Write(p)
}

func writeHeader(buf *bytes.Buffer, typ string, n int) {
	var h [8]byte
	binary.BigEndian.PutUint32(h[:4], uint32(8+n))
	copy(h[4:], typ)
	buf.Write(h[:])
}

// ParseBox parses one JUMBF superbox occupying all of p.
func ParseBox(p []byte) (*Box, error) {
	b, n, err := parseBox(p, 0)
	if err != nil {
		return nil, err
	}
	if n != len(p) {
		return nil, fmt.Errorf("%w: %d trailing bytes after box", ErrMalformed, len(p)-n)
	}
	if b.Type != typeJUMB {
		return nil, fmt.Errorf("%w: top box is %q, not jumb", ErrMalformed, b.Type)
	}
	return b, nil
}

// parseBox parses the box at the start of p and returns it with its length.
func parseBox(p []byte, depth int) (*Box, int, error) {
	if len(p) < 8 {
		return nil, 0, fmt.Errorf("%w: short box header", ErrMalformed)
	}
	size := uint64(binary.BigEndian.Uint32(p))
	typ := string(p[4:8])
	hdr := uint64(8)
	switch size {
	case 0: // to the end
		size = uint64(len(p))
	case 1: // 64-bit XLBox
		if len(p) < 16 {
			return nil, 0, fmt.Errorf("%w: short XLBox", ErrMalformed)
		}
		size = binary.BigEndian.Uint64(p[8:])
		hdr = 16
	}
	if size < hdr || size > uint64(len(p)) {
		return nil, 0, fmt.Errorf("%w: box %q length %d out of range", ErrMalformed, typ, size)
	}
	body := p[hdr:size]
	b := &Box{Type: typ, body: body}
	if typ != typeJUMB {
		b.Data = body
		return b, int(size), nil
	}
	if depth >= maxDepth {
		return nil, 0, fmt.Errorf("%w: boxes nested deeper than %d", ErrMalformed, maxDepth)
	}
	d, n, err := parseBox(body, depth+1)
	if err != nil {
		return nil, 0, err
	}
	if d.Type != typeJUMD {
		return nil, 0, fmt.Errorf("%w: superbox starts with %q, not jumd", ErrMalformed, d.Type)
	}
	if err := b.parseDescription(d.Data); err != nil {
		return nil, 0, err
	}
	for rest := body[n:]; len(rest) > 0; {
		c, m, err := parseBox(rest, depth+1)
		if err != nil {
			return nil, 0, err
		}
		b.Children = append(b.Children, c)
		rest = rest[m:]
	}
	return b, int(size), nil
}

func (b *Box) parseDescription(d []byte) error {
	if len(d) < 17 {
		return fmt.Errorf("%w: short description box", ErrMalformed)
	}
	copy(b.UUID[:], d[:16])
	toggles := d[16]
	rest := d[17:]
	if toggles&0x02 != 0 {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return fmt.Errorf("%w: unterminated label", ErrMalformed)
		}
		b.Label = string(rest[:i])
	}
	// An ID (toggle 0x04), a hash (0x08) and a private box (0x10) may follow;
	// Obscura writes none and ignores them when reading.
	return nil
}
