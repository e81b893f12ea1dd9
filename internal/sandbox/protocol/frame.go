package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The worker protocol's frame (docs/spec/worker-v1.md): a 16-byte header,
// a JSON meta object and an opaque blob (image bytes, pixels or nothing).
//
//	offset size field
//	0      4    magic "OBW" and version 0x01
//	4      1    op
//	5      1    status (replies: 0 ok, 1 error; requests: 0)
//	6      2    reserved, zero
//	8      4    meta length M, big-endian, ≤ MaxMeta
//	12     4    blob length B, big-endian, ≤ the reader's blob limit
//	16     M    meta: one JSON object (may be "{}")
//	16+M   B    blob
const (
	headerSize = 16
	// MaxMeta bounds a frame's JSON part.
	MaxMeta = 1 << 20
)

// magic is "OBW" and the format version.
var magic = [4]byte{'O', 'B', 'W', 1}

// Op is a request kind. Values are append-only.
type Op uint8

// Ops.
const (
	OpHello    Op = 1 // worker → server once, when ready: meta {"pid":…}
	OpDecode   Op = 2 // image bytes → picture
	OpAnalyze  Op = 3 // picture + features → hardened result
	OpEmbed    Op = 4 // picture → faces with identity embeddings
	OpProbe    Op = 5 // face region pixels → guard embedding (FaceRes)
	OpSanitize Op = 6 // upload bytes → sanitized bytes
	OpDrop     Op = 7 // kept picture ids → nothing (the request ended)
	// OpTest is reserved for test builds' hooks (crash, hang,
	// containment probes); a production worker answers it with an error.
	OpTest Op = 100
)

// Status of a reply.
const (
	StatusOK  = 0
	StatusErr = 1
)

// Frame is one message.
type Frame struct {
	Op     Op
	Status uint8
	Meta   []byte
	Blob   []byte
}

// Frame errors.
var (
	ErrFrame     = errors.New("malformed worker frame")
	ErrFrameSize = errors.New("worker frame over its size limit")
)

// WriteFrame writes f to w in one call.
func WriteFrame(w io.Writer, f Frame) error {
	meta := f.Meta
	if len(meta) == 0 {
		meta = []byte("{}")
	}
	if len(meta) > MaxMeta || uint64(len(f.Blob)) > 1<<32-1 {
		return ErrFrameSize
	}
	buf := make([]byte, headerSize, headerSize+len(meta))
	copy(buf, magic[:])
	buf[4], buf[5] = byte(f.Op), f.Status
	binary.BigEndian.PutUint32(buf[8:], uint32(len(meta)))
	binary.BigEndian.PutUint32(buf[12:], uint32(len(f.Blob)))
	buf = append(buf, meta...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(f.Blob) > 0 {
		_, err := w.Write(f.Blob)
		return err
	}
	return nil
}

// ReadFrame reads one frame from r, refusing a blob over maxBlob bytes
// before reading it. Every failure but a clean EOF before the first byte
// wraps ErrFrame or ErrFrameSize.
func ReadFrame(r io.Reader, maxBlob int64) (Frame, error) {
	return ReadFrameInto(r, maxBlob, nil)
}

// ReadFrameInto is ReadFrame reading the body into *buf when it is large
// enough (and growing *buf when not): the frame's Meta and Blob then alias
// *buf and are valid only until the next call with the same buf. A worker
// reads every request this way, so the megabytes of pixels an analysis
// request carries land in memory already faulted in by the previous one.
func ReadFrameInto(r io.Reader, maxBlob int64, buf *[]byte) (Frame, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("header: %v: %w", err, ErrFrame)
	}
	f, m, b, err := parseHeader(h[:], maxBlob)
	if err != nil {
		return Frame{}, err
	}
	var body []byte
	switch {
	case buf == nil:
		body = make([]byte, m+b)
	case int64(cap(*buf)) >= m+b:
		body = (*buf)[:m+b]
	default:
		*buf = make([]byte, m+b)
		body = *buf
	}
	if _, err := io.ReadFull(r, body); err != nil {
		return Frame{}, fmt.Errorf("body: %v: %w", err, ErrFrame)
	}
	f.Meta, f.Blob = body[:m:m], body[m:]
	if err := checkMeta(f.Meta); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// ParseFrame parses exactly one frame held in data.
func ParseFrame(data []byte, maxBlob int64) (Frame, error) {
	if len(data) < headerSize {
		return Frame{}, fmt.Errorf("short header: %w", ErrFrame)
	}
	f, m, b, err := parseHeader(data[:headerSize], maxBlob)
	if err != nil {
		return Frame{}, err
	}
	if int64(len(data)-headerSize) != m+b {
		return Frame{}, fmt.Errorf("length %d, header says %d: %w", len(data)-headerSize, m+b, ErrFrame)
	}
	f.Meta = data[headerSize : headerSize+m : headerSize+m]
	f.Blob = data[headerSize+m:]
	if err := checkMeta(f.Meta); err != nil {
		return Frame{}, err
	}
	return f, nil
}

func parseHeader(h []byte, maxBlob int64) (Frame, int64, int64, error) {
	if [4]byte(h[:4]) != magic {
		return Frame{}, 0, 0, fmt.Errorf("bad magic or version %x: %w", h[:4], ErrFrame)
	}
	if h[6] != 0 || h[7] != 0 {
		return Frame{}, 0, 0, fmt.Errorf("reserved bytes set: %w", ErrFrame)
	}
	if h[5] > StatusErr {
		return Frame{}, 0, 0, fmt.Errorf("status %d: %w", h[5], ErrFrame)
	}
	m := int64(binary.BigEndian.Uint32(h[8:]))
	b := int64(binary.BigEndian.Uint32(h[12:]))
	if m < 2 {
		return Frame{}, 0, 0, fmt.Errorf("meta length %d: %w", m, ErrFrame)
	}
	if m > MaxMeta || b > maxBlob {
		return Frame{}, 0, 0, fmt.Errorf("meta %d, blob %d bytes: %w", m, b, ErrFrameSize)
	}
	return Frame{Op: Op(h[4]), Status: h[5]}, m, b, nil
}

// checkMeta requires a JSON object (the parse into a typed struct comes
// later; this refuses anything that is not even shaped like one).
func checkMeta(m []byte) error {
	if len(m) < 2 || m[0] != '{' || m[len(m)-1] != '}' {
		return fmt.Errorf("meta is not a JSON object: %w", ErrFrame)
	}
	return nil
}
