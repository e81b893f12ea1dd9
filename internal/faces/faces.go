// Package faces suggests face tags from a subject's own gallery of people
// (purpose face_recognition, biometric), and keeps that gallery.
//
// A suggestion is a draft: the faces found in a photo, each with up to
// three candidate people from the subject's gallery whose best similarity
// reaches the calibrated suggest threshold (SuggestThreshold, docs/faces.md).
// The face's embedding waits sealed under the subject's face_recognition
// scope key until the subject accepts (the embedding joins that person's
// gallery and the tag persists), rejects, or the draft's TTL passes (the
// embedding and everything about the face are deleted).
//
// Galleries are per subject: the code has no index across subjects or
// tenants, and Match only ever searches the requesting subject's gallery.
// Embeddings never leave the package except into sealed storage; the API
// sees boxes, person ids, names and rounded scores.
package faces

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/faces/gallery"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/pipeline"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Person is one named person of a subject's gallery (package gallery).
type Person = gallery.Person

// Operating points of the face embedder (package arcface, whose doc gives
// their provenance): a face-tag suggestion names a person whose best
// template reaches SuggestThreshold; `faces compare` answers "match" at
// CompareThreshold and "unsure" from UnsureThreshold up to it.
const (
	SuggestThreshold = arcface.SuggestThreshold
	CompareThreshold = arcface.CompareThreshold
	UnsureThreshold  = arcface.UnsureThreshold
)

// Purpose is the consent purpose face-tag suggestions need.
const Purpose = "face_recognition"

// Defaults.
const (
	DefaultTTL    = time.Hour
	MaxCandidates = 3
	// MaxFaces bounds the suggestions made for one photo.
	MaxFaces = 20
	maxPhoto = 100 << 20
)

// Errors.
var (
	ErrNoPerson = fault.New(fault.NotFound, "no such person in the subject's gallery")
	ErrName     = fault.New(fault.Invalid, "a person's name is 1 to 200 bytes of text")
	ErrFull     = fault.New(fault.Invalid, "the gallery is full")
)

type engine interface {
	Decode(data []byte) (*picture.Picture, error)
	Embeddings(ctx context.Context, p *picture.Picture) ([]vision.Embedding, error)
	FaceProbe(p *picture.Picture, f blazeface.Face) vision.FaceProbe
}

type assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type objects interface {
	Put(ctx context.Context, ref sealed.Ref, r io.Reader) (int64, error)
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
	Delete(ctx context.Context, ref sealed.Ref) error
}

type gate interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

type hasher interface {
	HashID(domain, id string) string
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Deps are the Service's collaborators.
type Deps struct {
	Engine    engine
	Assets    assets
	Objects   objects
	Consent   gate
	Store     store.Faces
	Hash      hasher
	Audit     auditLog
	Clock     clock.Clock
	Log       *slog.Logger
	TTL       time.Duration
	Threshold float64
	// Guard, when set, checks and watches each API key's queries for
	// model extraction; Thumbnail is the query representation it compares.
	Guard interface {
		Check(tenant, key string) error
		Observe(ctx context.Context, tenant, key string, thumb []float32, class string) string
	}
	Thumbnail func(*image.RGBA) []float32
	// GalleryLock, when set, is the gallery write lock every node shares
	// (store.SharedState); nil: galleries are written by this process only.
	GalleryLock interface {
		LockGallery(ctx context.Context, tenant, subjectHash string) (func(), error)
	}
	// Squeezer, when set, screens every face for adversarial perturbation
	// (feature squeezing) before anything is stored: a flagged face gets
	// no suggestion (its embedding is neither stored nor matched) and is
	// reported to OnAdversarial; the photo's other faces are suggested.
	Squeezer interface {
		Check(ctx context.Context, probe squeeze.FaceProbe, emb []float32) (squeeze.Verdict, error)
	}
	OnAdversarial func(ctx context.Context, tenant, key string, score float64)
	// Usage, when set, hears each suggestion run, for differentially
	// private analytics (internal/analytics records it only with the
	// subject's analytics consent).
	Usage interface {
		UsedOn(ctx context.Context, tenant, assetID, feature string)
	}
}

// Service runs suggestions and keeps galleries.
type Service struct {
	d     Deps
	run   *pipeline.Runner
	log   *slog.Logger
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New returns a Service.
func New(d Deps) *Service {
	if d.TTL == 0 {
		d.TTL = DefaultTTL
	}
	if d.Threshold == 0 {
		d.Threshold = SuggestThreshold
	}
	pd := pipeline.Deps{Decoder: d.Engine, Assets: d.Assets, Photos: d.Objects, Consent: d.Consent, Clock: d.Clock,
		Thumbnail: d.Thumbnail, OnSuspicious: d.OnAdversarial}
	if d.Audit != nil {
		pd.Audit = d.Audit
	}
	if d.Guard != nil {
		pd.Guard = d.Guard
	}
	s := &Service{d: d, log: d.Log.With("component", "faces"), locks: map[string]*sync.Mutex{}}
	pd.Screen = func(ctx context.Context, p *picture.Picture, f blazeface.Face, emb []float32) (bool, float64, error) {
		if s.d.Squeezer == nil {
			return false, 0, nil
		}
		// nil: the probe reads the guard's model (FaceRes), not the
		// identity embedder's (arcface since issue 15), so the squeezer
		// computes the unsqueezed embedding itself.
		v, err := s.d.Squeezer.Check(ctx, s.d.Engine.FaceProbe(p, f), nil)
		return v.Suspicious, v.Score, err
	}
	s.run = pipeline.New(pd)
	return s
}

// lock serialises gallery updates of one subject: in this process, and
// across nodes through GalleryLock when set.
func (s *Service) lock(ctx context.Context, tenant, subjectHash string) (func(), error) {
	s.mu.Lock()
	k := tenant + "/" + subjectHash
	m, ok := s.locks[k]
	if !ok {
		m = &sync.Mutex{}
		s.locks[k] = m
	}
	s.mu.Unlock()
	m.Lock()
	if s.d.GalleryLock == nil {
		return m.Unlock, nil
	}
	// Other nodes write galleries too: the database lock (taken after this
	// process's, so one node holds one connection per gallery at most).
	unlock, err := s.d.GalleryLock.LockGallery(ctx, tenant, subjectHash)
	if err != nil {
		m.Unlock()
		return nil, fault.Wrap(fault.Unavailable, "gallery lock", err)
	}
	return func() { unlock(); m.Unlock() }, nil
}

func galleryRef(tenant, subjectHash string) sealed.Ref {
	return sealed.Ref{Tenant: tenant, Subject: subjectHash, Purpose: Purpose, Object: "gallery"}
}

func draftRef(g store.Suggestion) sealed.Ref {
	return sealed.Ref{Tenant: g.TenantID, Subject: g.SubjectHash, Purpose: Purpose, Object: g.ID}
}

// load reads the subject's gallery (empty if none yet).
func (s *Service) load(ctx context.Context, tenant, subjectHash string) (*gallery.Gallery, error) {
	b, err := s.d.Objects.ReadAll(ctx, galleryRef(tenant, subjectHash), 1<<30)
	if errors.Is(err, fault.NotFound) {
		return &gallery.Gallery{Dim: faceres.Dim}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read gallery: %w", err)
	}
	g, err := gallery.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("gallery of subject: %w", err)
	}
	return g, nil
}

func (s *Service) save(ctx context.Context, tenant, subjectHash string, g *gallery.Gallery) error {
	if _, err := s.d.Objects.Put(ctx, galleryRef(tenant, subjectHash), bytes.NewReader(g.Marshal())); err != nil {
		return fmt.Errorf("write gallery: %w", err)
	}
	return nil
}

// FaceSuggestion is one face found, with its candidates.
type FaceSuggestion struct {
	SuggestionID string              `json:"suggestion_id"`
	Box          store.Box           `json:"box"`
	Candidates   []gallery.Candidate `json:"candidates"`
	ExpiresAt    time.Time           `json:"expires_at"`
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func (s *Service) record(ctx context.Context, action, tenant, subjectHash, object string) {
	if s.d.Audit == nil {
		return
	}
	e := audit.Entry{Action: action, Tenant: tenant, Subject: subjectHash, Purpose: Purpose, Result: "ok"}
	if object != "" {
		e.Object = s.d.Hash.HashID("face", object)
	}
	if err := s.d.Audit.Append(ctx, e); err != nil {
		s.log.Error("audit append failed", "action", action, "err", err)
	}
}

// Suggest finds the faces of the tenant's asset and proposes, for each, up
// to MaxCandidates people of the photo subject's own gallery.
func (s *Service) Suggest(ctx context.Context, tenant, assetID string) ([]FaceSuggestion, error) {
	return s.SuggestAs(ctx, tenant, "", assetID)
}

// SuggestAs is Suggest on behalf of an API key, checked and watched by the
// extraction guard ("" skips it). It is a consented run (package
// pipeline) for face_recognition: a face the adversarial-input guard
// calls suspicious is neither stored nor matched (no suggestion for it),
// and the guard's alert is raised; the other faces are suggested.
func (s *Service) SuggestAs(ctx context.Context, tenant, key, assetID string) ([]FaceSuggestion, error) {
	out, err := s.run.Run(ctx, pipeline.Request{Tenant: tenant, Key: key, AssetID: assetID}, suggestGen{s})
	if err != nil {
		return nil, err
	}
	if s.d.Usage != nil {
		s.d.Usage.UsedOn(ctx, tenant, assetID, "suggest")
	}
	return out.(*suggestion).out, nil
}

// suggestGen is face-tag suggestion as a user of the consented run.
type suggestGen struct{ s *Service }

func (suggestGen) Purposes() []string { return []string{Purpose} }

func (g suggestGen) Infer(ctx context.Context, a store.Asset, p *picture.Picture) (pipeline.Output, error) {
	embs, err := g.s.d.Engine.Embeddings(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(embs) > MaxFaces {
		embs = embs[:MaxFaces]
	}
	return &suggestion{s: g.s, embs: embs, withheld: make([]bool, len(embs))}, nil
}

// suggestion is one photo's faces, until stored as drafts.
type suggestion struct {
	s        *Service
	embs     []vision.Embedding
	withheld []bool
	out      []FaceSuggestion
	drafts   []store.Suggestion
}

func (o *suggestion) Class() string { return "faces" }

func (o *suggestion) Faces() []pipeline.Face {
	fs := make([]pipeline.Face, len(o.embs))
	for i, e := range o.embs {
		fs[i] = pipeline.Face{Face: e.Face, Vector: e.Vector}
	}
	return fs
}

func (o *suggestion) Withhold(i int) { o.withheld[i] = true }

func (o *suggestion) Store(ctx context.Context, a store.Asset, now time.Time) ([]pipeline.Stored, error) {
	s := o.s
	o.out = []FaceSuggestion{}
	undo := func(ctx context.Context) error {
		var errs []error
		for _, sg := range o.drafts {
			errs = append(errs, s.discard(ctx, sg))
		}
		return errors.Join(errs...)
	}
	// Templates of an older model are re-embedded from their photos, a
	// bounded number per call (Reembed); until then they are not matched.
	if _, err := s.Reembed(ctx, a.TenantID, a.SubjectHash, ReembedPerCall); err != nil {
		s.log.Warn("re-embedding older face templates failed", "err", err)
	}
	g, err := s.load(ctx, a.TenantID, a.SubjectHash)
	if err != nil {
		return nil, err
	}
	for i, e := range o.embs {
		if o.withheld[i] {
			continue // suspicious: analysed, not stored, not matched
		}
		b := e.Face.Box.Round()
		sg := store.Suggestion{ID: ident.New("sug_"), TenantID: a.TenantID, SubjectHash: a.SubjectHash, AssetID: a.ID,
			Box:       store.Box{X: int(b.X), Y: int(b.Y), W: int(b.W), H: int(b.H)},
			CreatedAt: now, ExpiresAt: now.Add(s.d.TTL).UTC().Truncate(time.Second)}
		// The draft embedding first, then its record: a crash between
		// leaves a sealed orphan under the purpose key, never a record
		// without its embedding.
		if _, err := s.d.Objects.Put(ctx, draftRef(sg), bytes.NewReader(vectorBytes(e.Vector))); err != nil {
			_ = undo(ctx)
			return nil, fmt.Errorf("store draft: %w", err)
		}
		if err := s.d.Store.CreateSuggestion(ctx, sg); err != nil {
			_ = s.d.Objects.Delete(ctx, draftRef(sg))
			_ = undo(ctx)
			return nil, err
		}
		cands := g.Match(e.Vector, s.d.Threshold, MaxCandidates)
		for i := range cands {
			cands[i].Score = round2(cands[i].Score)
		}
		if cands == nil {
			cands = []gallery.Candidate{}
		}
		o.out = append(o.out, FaceSuggestion{SuggestionID: sg.ID, Box: sg.Box, Candidates: cands, ExpiresAt: sg.ExpiresAt})
		o.drafts = append(o.drafts, sg)
	}
	return []pipeline.Stored{{Purpose: Purpose, Undo: undo}}, nil
}

func (o *suggestion) Audit(store.Asset) []audit.Entry {
	es := make([]audit.Entry, 0, len(o.drafts))
	for _, sg := range o.drafts {
		es = append(es, audit.Entry{Action: "faces.suggest", Purpose: Purpose, Result: "ok", Object: o.s.d.Hash.HashID("face", sg.ID)})
	}
	return es
}

func vectorBytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func bytesVector(b []byte) ([]float32, error) {
	// A draft is the current model's (arcface) or, made before the
	// upgrade, FaceRes's; the gallery keeps each template's model.
	if len(b) != 4*faceres.Dim && len(b) != 4*arcface.Dim {
		return nil, fmt.Errorf("%w: draft embedding of %d bytes", gallery.ErrMalformed, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func validName(n string) bool {
	n = strings.TrimSpace(n)
	return n != "" && len(n) <= gallery.MaxNameBytes && utf8.ValidString(n) && !strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// Accepted is the result of accepting a suggestion.
type Accepted struct {
	Person Person `json:"person"`
	TagID  string `json:"tag_id"`
}

// Accept confirms a suggestion as person (an id of the gallery, or a name:
// an existing person's, else a new person). The embedding joins that
// person's gallery and the tag persists.
func (s *Service) Accept(ctx context.Context, tenant, suggestionID, person string) (Accepted, error) {
	sg, err := s.d.Store.Suggestion(ctx, tenant, suggestionID)
	if err != nil {
		return Accepted{}, err
	}
	if !s.d.Clock.Now().Before(sg.ExpiresAt) {
		return Accepted{}, fault.New(fault.NotFound, "suggestion expired")
	}
	if err := s.d.Consent.Require(ctx, tenant, sg.SubjectHash, Purpose); err != nil {
		return Accepted{}, err
	}
	raw, err := s.d.Objects.ReadAll(ctx, draftRef(sg), 1<<16)
	if err != nil {
		return Accepted{}, fmt.Errorf("read draft: %w", err)
	}
	vec, err := bytesVector(raw)
	if err != nil {
		return Accepted{}, err
	}
	unlock, err := s.lock(ctx, tenant, sg.SubjectHash)
	if err != nil {
		return Accepted{}, err
	}
	defer unlock()
	g, err := s.load(ctx, tenant, sg.SubjectHash)
	if err != nil {
		return Accepted{}, err
	}
	p, ok := g.Person(person)
	if !ok {
		if strings.HasPrefix(person, "per_") {
			return Accepted{}, ErrNoPerson
		}
		if !validName(person) {
			return Accepted{}, ErrName
		}
		if len(g.People) >= gallery.MaxPeople {
			return Accepted{}, ErrFull
		}
		p = Person{ID: ident.New("per_"), Name: strings.TrimSpace(person)}
		g.People = append(g.People, p)
	}
	if len(g.Templates) >= gallery.MaxTemplates {
		return Accepted{}, ErrFull
	}
	// Claim the suggestion first: of two concurrent accepts, one wins.
	if err := s.d.Store.DeleteSuggestion(ctx, tenant, sg.ID); err != nil {
		return Accepted{}, err
	}
	// The template takes the tag's id, so deleting the photo finds the
	// template its face added (ForgetAsset).
	tag := store.FaceTag{ID: ident.New("tag_"), TenantID: tenant, SubjectHash: sg.SubjectHash, AssetID: sg.AssetID, PersonID: p.ID, Box: sg.Box, CreatedAt: s.d.Clock.Now()}
	g.Templates = append(g.Templates, gallery.Template{ID: tag.ID, Person: p.ID, Vector: vec})
	if err := s.save(ctx, tenant, sg.SubjectHash, g); err != nil {
		return Accepted{}, err
	}
	if err := s.d.Store.CreateFaceTag(ctx, tag); err != nil {
		return Accepted{}, err
	}
	if err := s.d.Objects.Delete(ctx, draftRef(sg)); err != nil && !errors.Is(err, fault.NotFound) {
		s.log.Warn("accepted draft not deleted", "err", err)
	}
	// As in Suggest: a revocation during this call must not leave a
	// gallery written after its purge.
	if err := s.d.Consent.Require(ctx, tenant, sg.SubjectHash, Purpose); err != nil {
		_ = s.d.Objects.Delete(ctx, galleryRef(tenant, sg.SubjectHash))
		_ = s.d.Store.DeleteSubjectFaces(ctx, tenant, sg.SubjectHash)
		return Accepted{}, err
	}
	s.record(ctx, "faces.accept", tenant, sg.SubjectHash, sg.ID)
	return Accepted{Person: p, TagID: tag.ID}, nil
}

// Reject discards a suggestion: its embedding and record are deleted.
func (s *Service) Reject(ctx context.Context, tenant, suggestionID string) error {
	sg, err := s.d.Store.Suggestion(ctx, tenant, suggestionID)
	if err != nil {
		return err
	}
	if err := s.discard(ctx, sg); err != nil {
		return err
	}
	s.record(ctx, "faces.reject", tenant, sg.SubjectHash, sg.ID)
	return nil
}

func (s *Service) discard(ctx context.Context, sg store.Suggestion) error {
	if err := s.d.Objects.Delete(ctx, draftRef(sg)); err != nil && !errors.Is(err, fault.NotFound) {
		return fmt.Errorf("delete draft: %w", err)
	}
	if err := s.d.Store.DeleteSuggestion(ctx, sg.TenantID, sg.ID); err != nil && !errors.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

// Sweep deletes suggestions whose TTL passed (embedding and record), at
// most limit per call, each with an audit entry.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	gs, err := s.d.Store.ExpiredSuggestions(ctx, s.d.Clock.Now(), limit)
	if err != nil {
		return 0, err
	}
	for i, sg := range gs {
		if err := s.discard(ctx, sg); err != nil {
			return i, err
		}
		s.record(ctx, "retention.delete", sg.TenantID, sg.SubjectHash, sg.ID)
	}
	return len(gs), nil
}

// PersonInfo is a person of a gallery as the API lists it.
type PersonInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Faces int    `json:"faces"`
}

// People lists a subject's people.
func (s *Service) People(ctx context.Context, tenant, subjectHash string) ([]PersonInfo, error) {
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil {
		return nil, err
	}
	out := []PersonInfo{}
	for _, p := range g.People {
		out = append(out, PersonInfo{ID: p.ID, Name: p.Name, Faces: g.Count(p.ID)})
	}
	return out, nil
}

// Rename renames a person.
func (s *Service) Rename(ctx context.Context, tenant, subjectHash, personID, name string) (Person, error) {
	if !validName(name) {
		return Person{}, ErrName
	}
	unlock, err := s.lock(ctx, tenant, subjectHash)
	if err != nil {
		return Person{}, err
	}
	defer unlock()
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil {
		return Person{}, err
	}
	for i := range g.People {
		if g.People[i].ID == personID {
			g.People[i].Name = strings.TrimSpace(name)
			if err := s.save(ctx, tenant, subjectHash, g); err != nil {
				return Person{}, err
			}
			s.record(ctx, "faces.rename", tenant, subjectHash, personID)
			return g.People[i], nil
		}
	}
	return Person{}, ErrNoPerson
}

// Merge moves every template and tag of person from into person into, and
// removes from.
func (s *Service) Merge(ctx context.Context, tenant, subjectHash, from, into string) (Person, error) {
	if from == into {
		return Person{}, fault.New(fault.Invalid, "cannot merge a person into itself")
	}
	unlock, err := s.lock(ctx, tenant, subjectHash)
	if err != nil {
		return Person{}, err
	}
	defer unlock()
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil {
		return Person{}, err
	}
	target, ok := g.Person(into)
	if _, ok2 := g.Person(from); !ok || !ok2 || target.ID != into {
		return Person{}, ErrNoPerson
	}
	for i := range g.Templates {
		if g.Templates[i].Person == from {
			g.Templates[i].Person = into
		}
	}
	g.People = deletePerson(g.People, from)
	if err := s.save(ctx, tenant, subjectHash, g); err != nil {
		return Person{}, err
	}
	if err := s.d.Store.RetagPerson(ctx, tenant, subjectHash, from, into); err != nil {
		return Person{}, err
	}
	s.record(ctx, "faces.merge", tenant, subjectHash, from)
	return target, nil
}

func deletePerson(ps []Person, id string) []Person {
	out := ps[:0]
	for _, p := range ps {
		if p.ID != id {
			out = append(out, p)
		}
	}
	return out
}

// ForgetAsset deletes what face tagging holds about one photo: its pending
// suggestions (draft embeddings and records), its tags, and the gallery
// templates those tags added. The people stay, with their other templates.
// It is idempotent; a failure leaves the records, so a retry finds them.
func (s *Service) ForgetAsset(ctx context.Context, tenant, assetID string) error {
	gs, ts, err := s.d.Store.AssetFaces(ctx, tenant, assetID)
	if err != nil {
		return err
	}
	if len(gs)+len(ts) == 0 {
		return nil
	}
	for _, sg := range gs {
		if err := s.d.Objects.Delete(ctx, draftRef(sg)); err != nil && !errors.Is(err, fault.NotFound) {
			return fmt.Errorf("delete draft: %w", err)
		}
	}
	bySubject := map[string]map[string]bool{}
	for _, t := range ts {
		if bySubject[t.SubjectHash] == nil {
			bySubject[t.SubjectHash] = map[string]bool{}
		}
		bySubject[t.SubjectHash][t.ID] = true
	}
	for h, ids := range bySubject {
		if err := s.dropTemplates(ctx, tenant, h, ids); err != nil {
			return err
		}
	}
	if err := s.d.Store.DeleteAssetFaces(ctx, tenant, assetID); err != nil {
		return err
	}
	subjectHash := ""
	if len(gs) > 0 {
		subjectHash = gs[0].SubjectHash
	} else {
		subjectHash = ts[0].SubjectHash
	}
	s.record(ctx, "faces.forget_asset", tenant, subjectHash, assetID)
	return nil
}

// dropTemplates removes the templates with the given ids from a gallery.
func (s *Service) dropTemplates(ctx context.Context, tenant, subjectHash string, ids map[string]bool) error {
	unlock, err := s.lock(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	defer unlock()
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	kept := g.Templates[:0]
	for _, t := range g.Templates {
		if !ids[t.ID] {
			kept = append(kept, t)
		}
	}
	if len(kept) == len(g.Templates) {
		return nil
	}
	g.Templates = kept
	return s.save(ctx, tenant, subjectHash, g)
}

// DeletePerson removes a person, their embeddings and their tags.
func (s *Service) DeletePerson(ctx context.Context, tenant, subjectHash, personID string) error {
	unlock, err := s.lock(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	defer unlock()
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	if p, ok := g.Person(personID); !ok || p.ID != personID {
		return ErrNoPerson
	}
	g.People = deletePerson(g.People, personID)
	kept := g.Templates[:0]
	for _, t := range g.Templates {
		if t.Person != personID {
			kept = append(kept, t)
		}
	}
	g.Templates = kept
	if err := s.save(ctx, tenant, subjectHash, g); err != nil {
		return err
	}
	if err := s.d.Store.DeletePersonTags(ctx, tenant, subjectHash, personID); err != nil {
		return err
	}
	s.record(ctx, "faces.delete_person", tenant, subjectHash, personID)
	return nil
}

var _ derived.Kind = (*Service)(nil)

// Name implements derived.Kind.
func (s *Service) Name() string { return "faces" }

// ForgetPurpose implements derived.Kind: revoking face_recognition
// forgets the subject's gallery, drafts and tags (their sealed objects'
// key is already destroyed); other purposes hold nothing here.
func (s *Service) ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error {
	if purpose != Purpose {
		return nil
	}
	return s.ForgetSubject(ctx, tenant, subjectHash)
}

// ForgetSubject implements derived.Kind: the gallery (people and
// templates), every pending draft with its embedding, and every tag.
func (s *Service) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	gs, err := s.d.Store.Suggestions(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	for _, sg := range gs {
		if err := s.d.Objects.Delete(ctx, draftRef(sg)); err != nil && !errors.Is(err, fault.NotFound) {
			return fmt.Errorf("delete draft: %w", err)
		}
	}
	if err := s.d.Objects.Delete(ctx, galleryRef(tenant, subjectHash)); err != nil && !errors.Is(err, fault.NotFound) {
		return fmt.Errorf("delete gallery: %w", err)
	}
	return s.d.Store.DeleteSubjectFaces(ctx, tenant, subjectHash)
}

// ExportedGallery is faces/gallery.json of an export bundle: the
// subject's people with their face counts, accepted tags and pending
// suggestions. Embeddings are biometric templates that no interface
// returns; the bundle says how many each person has.
type ExportedGallery struct {
	People      []PersonInfo    `json:"people"`
	Tags        []ExportedTag   `json:"tags"`
	Suggestions []ExportedDraft `json:"suggestions"`
}

// ExportedTag is one accepted face tag.
type ExportedTag struct {
	ID        string    `json:"id"`
	AssetID   string    `json:"asset_id"`
	PersonID  string    `json:"person_id"`
	Box       store.Box `json:"box"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportedDraft is one pending suggestion.
type ExportedDraft struct {
	ID        string    `json:"id"`
	AssetID   string    `json:"asset_id"`
	Box       store.Box `json:"box"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Export implements derived.Kind: faces/gallery.json.
func (s *Service) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	people, err := s.People(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	tags, err := s.d.Store.FaceTags(ctx, tenant, subjectHash, "")
	if err != nil {
		return err
	}
	gs, err := s.d.Store.Suggestions(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	if len(people)+len(tags)+len(gs) == 0 {
		return nil
	}
	eg := ExportedGallery{People: people, Tags: []ExportedTag{}, Suggestions: []ExportedDraft{}}
	for _, t := range tags {
		eg.Tags = append(eg.Tags, ExportedTag{ID: t.ID, AssetID: t.AssetID, PersonID: t.PersonID, Box: t.Box, CreatedAt: t.CreatedAt.UTC()})
	}
	for _, sg := range gs {
		eg.Suggestions = append(eg.Suggestions, ExportedDraft{ID: sg.ID, AssetID: sg.AssetID, Box: sg.Box, ExpiresAt: sg.ExpiresAt.UTC()})
	}
	doc, err := json.MarshalIndent(eg, "", "  ")
	if err != nil {
		return err
	}
	return b.Add("faces/gallery.json", doc)
}

// Held implements derived.Kind: people and templates of the gallery,
// pending drafts and tags.
func (s *Service) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	g, err := s.load(ctx, tenant, subjectHash)
	if errors.Is(err, fault.NotFound) {
		g, err = &gallery.Gallery{}, nil
	}
	if err != nil {
		return 0, err
	}
	gs, err := s.d.Store.Suggestions(ctx, tenant, subjectHash)
	if err != nil {
		return 0, err
	}
	ts, err := s.d.Store.FaceTags(ctx, tenant, subjectHash, "")
	if err != nil {
		return 0, err
	}
	return len(g.People) + len(g.Templates) + len(gs) + len(ts), nil
}
