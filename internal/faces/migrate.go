package faces

import (
	"context"
	"errors"
	"fmt"

	"github.com/obscuraproject/obscura/internal/faces/gallery"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/vision/geom"
)

// ReembedPerCall bounds the templates one Suggest re-embeds (about 0.1 s
// each: decode, detect, embed), so an upgraded gallery migrates over a few
// suggestions instead of stalling one.
const ReembedPerCall = 20

// minReembedIoU is the overlap a detected face needs with a tag's stored
// box to be that tag's face. Tags made before the detector was letterboxed
// (issue 15) have boxes with the photo's aspect ratio around the same
// face: IoU about 0.6–0.75 with the new square box.
const minReembedIoU = 0.4

// Migration is what one Reembed call did.
type Migration struct {
	Reembedded int `json:"reembedded"`
	// Dropped templates had no photo left to re-embed from (a template
	// from before tags named templates, a deleted photo, or no face at the
	// tag's box): the person keeps their other templates.
	Dropped int `json:"dropped"`
	// Remaining templates of an older model wait for a later call.
	Remaining int `json:"remaining"`
}

// Reembed migrates up to limit templates of the subject's gallery that an
// older model computed (Gallery.Stale) to CurrentModel. The photos are kept
// sealed, so each template is re-embedded from its own photo: its id is
// the face tag that added it, the tag names the photo and the face's box,
// and the face detected there (best overlap ≥ minReembedIoU) gets a new
// embedding. Templates without a tag, photo or face are dropped; the
// audit log records the migration (faces.reembed) with its counts only in
// the result. Nothing is compared across models meanwhile (Match).
//
// It needs the subject's face_recognition consent, like everything that
// reads the gallery.
func (s *Service) Reembed(ctx context.Context, tenant, subjectHash string, limit int) (Migration, error) {
	var m Migration
	g, err := s.load(ctx, tenant, subjectHash)
	if err != nil || g.Stale() == 0 {
		return m, err
	}
	if err := s.d.Consent.Require(ctx, tenant, subjectHash, Purpose); err != nil {
		return m, err
	}
	unlock, err := s.lock(ctx, tenant, subjectHash)
	if err != nil {
		return m, err
	}
	defer unlock()
	if g, err = s.load(ctx, tenant, subjectHash); err != nil {
		return m, err
	}
	tags, err := s.d.Store.FaceTags(ctx, tenant, subjectHash, "")
	if err != nil {
		return m, err
	}
	byID := map[string]int{}
	for i, t := range tags {
		byID[t.ID] = i
	}
	kept := g.Templates[:0]
	for _, t := range g.Templates {
		if t.ModelID() == gallery.CurrentModel || m.Reembedded+m.Dropped >= limit {
			if t.ModelID() != gallery.CurrentModel {
				m.Remaining++
			}
			kept = append(kept, t)
			continue
		}
		i, ok := byID[t.ID]
		if !ok {
			m.Dropped++
			continue
		}
		v, err := s.embedTag(ctx, tenant, subjectHash, tags[i].AssetID, tags[i].Box.X, tags[i].Box.Y, tags[i].Box.W, tags[i].Box.H)
		if errors.Is(err, errNoTagFace) || errors.Is(err, fault.NotFound) {
			m.Dropped++
			continue
		}
		if err != nil {
			return m, err
		}
		t.Vector, t.Model = v, gallery.ModelOf(v)
		kept = append(kept, t)
		m.Reembedded++
	}
	g.Templates = kept
	if err := s.save(ctx, tenant, subjectHash, g); err != nil {
		return m, err
	}
	s.record(ctx, "faces.reembed", tenant, subjectHash, "")
	return m, nil
}

var errNoTagFace = errors.New("faces: no face at the tag's box")

// embedTag embeds the face of a stored photo that best overlaps a box.
func (s *Service) embedTag(ctx context.Context, tenant, subjectHash, assetID string, x, y, w, h int) ([]float32, error) {
	data, err := s.d.Objects.ReadAll(ctx, sealed.Ref{Tenant: tenant, Subject: subjectHash, Object: assetID}, maxPhoto)
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	p, err := s.d.Engine.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode stored photo: %w", err)
	}
	embs, err := s.d.Engine.Embeddings(ctx, p)
	if err != nil {
		return nil, err
	}
	box := geom.Rect{X: float64(x), Y: float64(y), W: float64(w), H: float64(h)}
	best, bestIoU := -1, minReembedIoU
	for i, e := range embs {
		if o := e.Face.Box.IoU(box); o >= bestIoU {
			best, bestIoU = i, o
		}
	}
	if best < 0 {
		return nil, errNoTagFace
	}
	return embs[best].Vector, nil
}
