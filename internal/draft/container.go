package draft

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/fault"
)

// The sealed object of a draft is one container (docs/spec/draft-v1.md):
//
//	magic "OBDRAFT1" | uint32 big-endian length n | n bytes of JSON Meta | JPEG
//
// It is the plaintext sealed under the purpose's scope key; nothing of it
// is stored anywhere else.

// Magic starts every draft container (its version marker).
const Magic = "OBDRAFT1"

// MaxMeta bounds the metadata of a container.
const MaxMeta = 64 << 10

// ErrContainer reports bytes that are not a draft-v1 container.
var ErrContainer = fault.New(fault.Invalid, "not a draft-v1 container")

// Meta is the sealed metadata of a draft: what made it and its caption.
type Meta struct {
	V            int       `json:"v"`
	Generator    Generator `json:"generator"`
	Caption      *Caption  `json:"caption,omitempty"`
	GenerationID string    `json:"generation_id,omitempty"`
}

// Encode returns the container of m and jpeg.
func Encode(m Meta, jpeg []byte) ([]byte, error) {
	m.V = 1
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(meta) > MaxMeta {
		return nil, fmt.Errorf("draft metadata of %d bytes: %w", len(meta), ErrContainer)
	}
	out := make([]byte, 0, len(Magic)+4+len(meta)+len(jpeg))
	out = append(out, Magic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	return append(out, jpeg...), nil
}

// Decode parses a container. It rejects a wrong magic, a metadata length
// beyond MaxMeta or the data, metadata that is not a version-1 Meta
// object (unknown fields included), and an image that does not start
// with a JPEG SOI marker. The returned image aliases b.
func Decode(b []byte) (Meta, []byte, error) {
	if len(b) < len(Magic)+4 || string(b[:len(Magic)]) != Magic {
		return Meta{}, nil, ErrContainer
	}
	n := binary.BigEndian.Uint32(b[len(Magic):])
	rest := b[len(Magic)+4:]
	if n > MaxMeta || int64(n) > int64(len(rest)) {
		return Meta{}, nil, ErrContainer
	}
	var m Meta
	dec := json.NewDecoder(bytes.NewReader(rest[:n]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || dec.More() || m.V != 1 {
		return Meta{}, nil, ErrContainer
	}
	img := rest[n:]
	if len(img) < 2 || img[0] != 0xFF || img[1] != 0xD8 {
		return Meta{}, nil, ErrContainer
	}
	return m, img, nil
}
