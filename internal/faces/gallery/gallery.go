// Package gallery is a subject's gallery of people and their face
// templates: its sealed on-disk encoding (docs/spec/gallery-v2.md, which
// reads version 1 too) and matching a face's embedding against it. It is
// biometric data: package faces keeps it sealed under the subject's
// face_recognition scope key and decrypts it only in memory.
package gallery

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
)

// ErrMalformed reports a gallery encoding this package cannot read.
var ErrMalformed = errors.New("faces: malformed gallery")

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

// Template is one accepted face embedding of a person, with the model that
// computed it: embeddings of different models are never compared.
type Template struct {
	ID     string
	Person string
	// Model is the embedder's model id ("" means ModelOf(Vector)).
	Model  string
	Vector []float32
}

// ModelOf is the model id of an embedding from its length, for embeddings
// that do not carry one (drafts, version-1 galleries): 512 values are the
// current embedder's (arcface.ModelID), 1024 FaceRes's (faceres.ModelID,
// the only model of version-1 galleries); any other length names itself.
func ModelOf(v []float32) string {
	switch len(v) {
	case arcface.Dim:
		return arcface.ModelID
	case faceres.Dim:
		return faceres.ModelID
	}
	return "dim" + strconv.Itoa(len(v))
}

// CurrentModel is the model new templates come from (the engine's face
// embedder). Templates of another model are not matched; they are
// re-embedded from their sealed photos or dropped (faces.Service.Reembed).
const CurrentModel = arcface.ModelID

// ModelID is the template's model id (Model, or ModelOf its vector).
func (t Template) ModelID() string {
	if t.Model != "" {
		return t.Model
	}
	return ModelOf(t.Vector)
}

// Gallery is a subject's people and their face templates. It is biometric
// data: it exists only decrypted in memory, sealed at rest under the
// subject's face_recognition scope key.
type Gallery struct {
	// Dim is the embedding length of a version-1 gallery (where every
	// template had it); version 2 records each template's own length and
	// model, and ignores Dim.
	Dim       int
	People    []Person
	Templates []Template
}

// Stale counts the templates of a model other than CurrentModel.
func (g *Gallery) Stale() int {
	n := 0
	for _, t := range g.Templates {
		if t.ModelID() != CurrentModel {
			n++
		}
	}
	return n
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

// Marshal encodes the gallery, always as version 2
// (docs/spec/gallery-v2.md).
func (g *Gallery) Marshal() []byte {
	b := append([]byte{}, galleryMagic[:]...)
	b = append(b, 2)
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
		b = appendStr8(b, t.ModelID())
		b = binary.LittleEndian.AppendUint16(b, uint16(len(t.Vector)))
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
		r.err = fmt.Errorf("%w: truncated", ErrMalformed)
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
		r.err = fmt.Errorf("%w: id length %d", ErrMalformed, n)
	}
	return string(r.take(n))
}

// maxDim bounds an embedding's length.
const maxDim = 4096

// Unmarshal decodes and validates a gallery of version 1 (FaceRes
// templates; docs/spec/gallery-v1.md) or 2 (each template with its model;
// docs/spec/gallery-v2.md): known version, bounded counts, unique ids,
// every template of a listed person, a model id of printable ASCII, finite
// unit-ish vectors of the declared dimension, no trailing bytes.
func Unmarshal(b []byte) (*Gallery, error) {
	r := &reader{b: b}
	if m := r.take(4); r.err != nil || [4]byte(m) != galleryMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	}
	version := r.u8()
	if r.err == nil && version != 1 && version != 2 {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, version)
	}
	g := &Gallery{}
	if version == 1 {
		g.Dim = r.u16()
		if r.err == nil && (g.Dim == 0 || g.Dim > maxDim) {
			return nil, fmt.Errorf("%w: dimension %d", ErrMalformed, g.Dim)
		}
	}
	np := r.u32()
	if np > MaxPeople {
		return nil, fmt.Errorf("%w: %d people", ErrMalformed, np)
	}
	seen := map[string]bool{} // person ids
	for range np {
		p := Person{ID: r.id()}
		p.Name = string(r.take(r.u16()))
		if r.err != nil {
			return nil, r.err
		}
		if seen[p.ID] || len(p.Name) == 0 || len(p.Name) > MaxNameBytes || !utf8.ValidString(p.Name) {
			return nil, fmt.Errorf("%w: person %d", ErrMalformed, len(g.People))
		}
		seen[p.ID] = true
		g.People = append(g.People, p)
	}
	nt := r.u32()
	// Each template takes at least 4 bytes of ids (v1: plus its vector;
	// v2: plus 4 for model and dimension and 4 per value).
	minT := g.Dim*4 + 4
	if version == 2 {
		minT = 12
	}
	if nt > MaxTemplates || (r.err == nil && nt*minT > len(r.b)) {
		return nil, fmt.Errorf("%w: %d templates", ErrMalformed, nt)
	}
	seenT := map[string]bool{} // template ids: a namespace of their own
	for range nt {
		t := Template{ID: r.id(), Person: r.id()}
		dim := g.Dim
		if version == 2 {
			t.Model = r.id()
			dim = r.u16()
			if r.err == nil && (dim == 0 || dim > maxDim || !printable(t.Model)) {
				return nil, fmt.Errorf("%w: template %d model or dimension", ErrMalformed, len(g.Templates))
			}
		}
		raw := r.take(4 * dim)
		if r.err != nil {
			return nil, r.err
		}
		if !seen[t.Person] || seenT[t.ID] {
			return nil, fmt.Errorf("%w: template %d", ErrMalformed, len(g.Templates))
		}
		seenT[t.ID] = true
		t.Vector = make([]float32, dim)
		for i := range t.Vector {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v > 1 || v < -1 {
				return nil, fmt.Errorf("%w: template %d value out of range", ErrMalformed, len(g.Templates))
			}
			t.Vector[i] = v
		}
		if version == 1 {
			t.Model = ModelOf(t.Vector)
		}
		g.Templates = append(g.Templates, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	return g, nil
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Candidate is a person a face may be, with the best similarity of the
// face to that person's templates.
type Candidate struct {
	Person Person  `json:"person"`
	Score  float64 `json:"score"`
}

// Match ranks the gallery's people for a unit embedding: each person's
// best cosine similarity, those at or above threshold, best first, at most
// k. Only templates of the query's model (ModelOf(v)) are compared: a
// similarity across two models' embedding spaces means nothing. Only this
// gallery is searched: there is no cross-subject index.
func (g *Gallery) Match(v []float32, threshold float64, k int) []Candidate {
	return g.MatchModel(ModelOf(v), v, threshold, k)
}

// MatchModel is Match for an embedding of the named model.
func (g *Gallery) MatchModel(model string, v []float32, threshold float64, k int) []Candidate {
	best := map[string]float64{}
	for _, t := range g.Templates {
		if t.ModelID() != model || len(t.Vector) != len(v) {
			continue
		}
		var s float32
		for i, x := range t.Vector {
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
	slices.SortStableFunc(out, func(a, b Candidate) int { return cmp.Compare(b.Score, a.Score) }) // best first
	if len(out) > k {
		out = out[:k]
	}
	return out
}
