package c2pa

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// JPEG markers.
const (
	markerSOI   = 0xD8
	markerSOS   = 0xDA
	markerEOI   = 0xD9
	markerAPP0  = 0xE0
	markerAPP11 = 0xEB
)

// maxSegmentData is what one APP11 segment carries after its fixed fields:
// Lp (2) counts itself, CI (2), En (2) and Z (4): 65535 - 10.
const maxSegmentData = 65535 - 10

// MaxStore bounds a manifest store read from a file.
const MaxStore = 16 << 20

// app11Segments splits a JUMBF superbox into APP11 segments (ISO/IEC
// 19566-5 Annex B): each carries CI "JP", the box instance En, the
// sequence number Z from 1, and the box's LBox/TBox repeated in every
// segment after the first.
func app11Segments(box []byte, en uint16) []byte {
	var out bytes.Buffer
	header := box[:8]
	rest := box[8:]
	for z := uint32(1); ; z++ {
		n := min(len(rest), maxSegmentData-8)
		var seg [12]byte
		seg[0], seg[1] = 0xFF, markerAPP11
		binary.BigEndian.PutUint16(seg[2:], uint16(2+2+2+4+8+n))
		seg[4], seg[5] = 'J', 'P'
		binary.BigEndian.PutUint16(seg[6:], en)
		binary.BigEndian.PutUint32(seg[8:], z)
		out.Write(seg[:])
		out.Write(header)
		out.Write(rest[:n])
		rest = rest[n:]
		if len(rest) == 0 {
			return out.Bytes()
		}
	}
}

// segment is one marker segment of a JPEG header.
type segment struct {
	marker     byte
	start, end int // offsets of the 0xFF and one past the segment
}

// scanHeader lists the marker segments between SOI and SOS.
func scanHeader(jpeg []byte) ([]segment, error) {
	if len(jpeg) < 4 || jpeg[0] != 0xFF || jpeg[1] != markerSOI {
		return nil, fmt.Errorf("%w: not a JPEG (no SOI)", ErrMalformed)
	}
	var segs []segment
	for i := 2; ; {
		if i+4 > len(jpeg) {
			return nil, fmt.Errorf("%w: JPEG header truncated", ErrMalformed)
		}
		if jpeg[i] != 0xFF {
			return nil, fmt.Errorf("%w: expected a marker at %d", ErrMalformed, i)
		}
		m := jpeg[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == markerEOI || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			return nil, fmt.Errorf("%w: marker %#x before SOS", ErrMalformed, m)
		}
		n := int(binary.BigEndian.Uint16(jpeg[i+2:]))
		if n < 2 || i+2+n > len(jpeg) {
			return nil, fmt.Errorf("%w: segment %#x length %d out of range", ErrMalformed, m, n)
		}
		segs = append(segs, segment{marker: m, start: i, end: i + 2 + n})
		if m == markerSOS {
			return segs, nil
		}
		i += 2 + n
	}
}

// jumbfPart is one APP11 JUMBF segment's fields.
type jumbfPart struct {
	en      uint16
	z       uint32
	lbox    []byte // LBox+TBox (8 bytes)
	payload []byte
	seg     segment
}

func parseApp11(jpeg []byte, s segment) (jumbfPart, bool) {
	b := jpeg[s.start+4 : s.end]
	if len(b) < 16 || b[0] != 'J' || b[1] != 'P' {
		return jumbfPart{}, false
	}
	return jumbfPart{
		en:      binary.BigEndian.Uint16(b[2:]),
		z:       binary.BigEndian.Uint32(b[4:]),
		lbox:    b[8:16],
		payload: b[16:],
		seg:     s,
	}, true
}

// Located is a manifest store found in a JPEG: the reassembled superbox and
// the byte range its APP11 segments occupy (the hard binding's exclusion).
type Located struct {
	Store         []byte
	Start, Length int
}

// FindStore reassembles the C2PA manifest store from a JPEG's APP11
// segments. It returns (nil, nil) when the file has none.
func FindStore(jpeg []byte) (*Located, error) {
	segs, err := scanHeader(jpeg)
	if err != nil {
		return nil, err
	}
	byEn := map[uint16][]jumbfPart{}
	for _, s := range segs {
		if s.marker != markerAPP11 {
			continue
		}
		p, ok := parseApp11(jpeg, s)
		if !ok || string(p.lbox[4:]) != typeJUMB {
			continue
		}
		byEn[p.en] = append(byEn[p.en], p)
	}
	ens := make([]int, 0, len(byEn))
	for en := range byEn {
		ens = append(ens, int(en))
	}
	sort.Ints(ens)
	for _, en := range ens {
		parts := byEn[uint16(en)]
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].z < parts[j].z })
		var box bytes.Buffer
		for i, p := range parts {
			if p.z != uint32(i+1) {
				return nil, fmt.Errorf("%w: APP11 box %d: segment %d where %d expected", ErrMalformed, en, p.z, i+1)
			}
			if !bytes.Equal(p.lbox, parts[0].lbox) {
				return nil, fmt.Errorf("%w: APP11 box %d: box header differs between segments", ErrMalformed, en)
			}
			if box.Len()+len(p.payload) > MaxStore {
				return nil, fmt.Errorf("%w: manifest store over %d bytes", ErrMalformed, MaxStore)
			}
			if i == 0 {
				box.Write(p.lbox)
			}
			box.Write(p.payload)
		}
		raw := box.Bytes()
		b, _, err := parseBox(raw, 0)
		if err != nil {
			return nil, fmt.Errorf("APP11 box %d: %w", en, err)
		}
		if b.Type != typeJUMB || b.UUID != uuidStore {
			continue // another JUMBF box, not a C2PA store
		}
		if len(raw) != int(binary.BigEndian.Uint32(raw)) {
			return nil, fmt.Errorf("%w: manifest store length does not match its segments", ErrMalformed)
		}
		first, last := parts[0].seg, parts[len(parts)-1].seg
		for i := 1; i < len(parts); i++ {
			if parts[i].seg.start != parts[i-1].seg.end {
				return nil, fmt.Errorf("%w: manifest store segments are not contiguous", ErrMalformed)
			}
		}
		return &Located{Store: raw, Start: first.start, Length: last.end - first.start}, nil
	}
	return nil, nil
}

// insertionPoint is where a new store goes: after SOI and any APP0 (JFIF
// wants its APP0 first).
func insertionPoint(jpeg []byte) (int, error) {
	segs, err := scanHeader(jpeg)
	if err != nil {
		return 0, err
	}
	at := 2
	for _, s := range segs {
		if s.marker != markerAPP0 {
			break
		}
		at = s.end
	}
	return at, nil
}

// StripStores returns the JPEG without any C2PA APP11 segments.
func StripStores(jpeg []byte) ([]byte, error) {
	segs, err := scanHeader(jpeg)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(jpeg[:2])
	prev := 2
	for _, s := range segs {
		if s.marker == markerAPP11 {
			if p, ok := parseApp11(jpeg, s); ok && string(p.lbox[4:]) == typeJUMB {
				out.Write(jpeg[prev:s.start])
				prev = s.end
			}
		}
	}
	out.Write(jpeg[prev:])
	return out.Bytes(), nil
}
