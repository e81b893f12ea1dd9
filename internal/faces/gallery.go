package faces

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// ErrGallery reports a gallery encoding this package cannot read.
var ErrGallery = errors.New("faces: malformed gallery")

// Limits of one gallery (docs/spec/gallery-v1.md).
const (
	MaxPeople    = 10000
	MaxTemplates = 200000
	MaxNameBytes = 200
	maxIDBytes   = 64
)

var galleryMagic = [4]byte{'O', 'B', 'G', 'L'}

// Person is one named person of a subject's gallery.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Template is one accepted face embedding of a person.
type Template struct {
	ID     string
	Person string
	Vector []float32
}

// Gallery is a subject's people and their face templates. It is biometric
// data: it exists only decrypted in memory, sealed at rest under the
// subject's face_recognition scope key.
type Gallery struct {
	Dim       int
	People    []Person
	Templates []Template
}

// Person returns the person with id or name (ids first), or false.
func (g *Gallery) Person(ref string) (Person, bool) {
	for _, p := range g.People {
		if p.ID == ref {
			return p, true
		}
	}
	for _, p := range g.People {
		if p.Name == ref {
			return p, true
		}
	}
	return Person{}, false
}

// Count is how many templates a person has.
func (g *Gallery) Count(personID string) int {
	n := 0
	for _, t := range g.Templates {
		if t.Person == personID {
			n++
		}
	}
	return n
}

// Marshal encodes the gallery (docs/spec/gallery-v1.md).
func (g *Gallery) Marshal() []byte {
	b := append([]byte{}, galleryMagic[:]...)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(g.Dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(g.People)))
	for _, p := range g.People {
		b = appendStr8(b, p.ID)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Name)))
		b = append(b, p.Name...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(g.Templates)))
	for _, t := range g.Templates {
		b = appendStr8(b, t.ID)
		b = appendStr8(b, t.Person)
		for _, v := range t.Vector {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

func appendStr8(b []byte, s string) []byte {
	return append(append(b, byte(len(s))), s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", ErrGallery)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() int {
	if b := r.take(1); b != nil {
		return int(b[0])
	}
	return 0
}

func (r *reader) u16() int {
	if b := r.take(2); b != nil {
		return int(binary.LittleEndian.Uint16(b))
	}
	return 0
}

func (r *reader) u32() int {
	if b := r.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

func (r *reader) id() string {
	n := r.u8()
	if r.err == nil && (n == 0 || n > maxIDBytes) {
		r.err = fmt.Errorf("%w: id length %d", ErrGallery, n)
	}
	return string(r.take(n))
}

// UnmarshalGallery decodes and validates a gallery: known version, bounded
// counts, unique ids, every template of a listed person, finite unit-ish
// vectors of the declared dimension, no trailing bytes.
func UnmarshalGallery(b []byte) (*Gallery, error) {
	r := &reader{b: b}
	if m := r.take(4); r.err != nil || [4]byte(m) != galleryMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrGallery)
	}
	if v := r.u8(); v != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrGallery, v)
	}
	g := &Gallery{Dim: r.u16()}
	if r.err == nil && (g.Dim == 0 || g.Dim > 4096) {
		return nil, fmt.Errorf("%w: dimension %d", ErrGallery, g.Dim)
	}
	np := r.u32()
	if np > MaxPeople {
		return nil, fmt.Errorf("%w: %d people", ErrGallery, np)
	}
	seen := map[string]bool{} // person ids
	for range np {
		p := Person{ID: r.id()}
		p.Name = string(r.take(r.u16()))
		if r.err != nil {
			return nil, r.err
		}
		if seen[p.ID] || len(p.Name) == 0 || len(p.Name) > MaxNameBytes || !utf8.ValidString(p.Name) {
			return nil, fmt.Errorf("%w: person %d", ErrGallery, len(g.People))
		}
		seen[p.ID] = true
		g.People = append(g.People, p)
	}
	nt := r.u32()
	if nt > MaxTemplates || (r.err == nil && nt*(g.Dim*4+4) > len(r.b)) {
		return nil, fmt.Errorf("%w: %d templates", ErrGallery, nt)
	}
	seenT := map[string]bool{} // template ids: a namespace of their own
	for range nt {
		t := Template{ID: r.id(), Person: r.id()}
		raw := r.take(4 * g.Dim)
		if r.err != nil {
			return nil, r.err
		}
		if !seen[t.Person] || seenT[t.ID] {
			return nil, fmt.Errorf("%w: template %d", ErrGallery, len(g.Templates))
		}
		seenT[t.ID] = true
		t.Vector = make([]float32, g.Dim)
		for i := range t.Vector {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v > 1 || v < -1 {
				return nil, fmt.Errorf("%w: template %d value out of range", ErrGallery, len(g.Templates))
			}
			t.Vector[i] = v
		}
		g.Templates = append(g.Templates, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrGallery, len(r.b))
	}
	return g, nil
}

// Candidate is a person a face may be, with the best similarity of the
// face to that person's templates.
type Candidate struct {
	Person Person  `json:"person"`
	Score  float64 `json:"score"`
}

// Match ranks the gallery's people for a unit embedding: each person's
// best cosine similarity, those at or above threshold, best first, at most
// k. Only this gallery is searched: there is no cross-subject index.
func (g *Gallery) Match(v []float32, threshold float64, k int) []Candidate {
	best := map[string]float64{}
	for _, t := range g.Templates {
		var s float32
		for i, x := range t.Vector[:min(len(t.Vector), len(v))] {
			s += x * v[i]
		}
		if sc := float64(s); sc >= threshold && sc > best[t.Person] {
			best[t.Person] = sc
		}
	}
	var out []Candidate
	for _, p := range g.People {
		if sc, ok := best[p.ID]; ok {
			out = append(out, Candidate{Person: p, Score: sc})
		}
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}
