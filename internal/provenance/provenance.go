package provenance

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // verify accepts PNG conversions of generated images
	"log/slog"
	"slices"
	"time"

	"github.com/obscuraproject/obscura/internal/c2pa"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/watermark"
)

// Limits on what Verify and Stamp accept.
const (
	// MaxPixels bounds an image Verify decodes (checked from the header first).
	MaxPixels = 16_000_000
	// StampMaxPixels bounds a generated image Stamp accepts: the upload
	// limit (sanitize.DefaultLimits), since plugins return full-size photos.
	StampMaxPixels = 50_000_000
	// jpegQuality re-encodes a watermarked image.
	jpegQuality = 92
)

// ErrTooLarge: the image is over MaxPixels.
var ErrTooLarge = fault.New(fault.TooLarge, "image too large")

// ErrUnreadable: the bytes are not an image Verify can read.
var ErrUnreadable = fault.New(fault.Invalid, "not a readable JPEG or PNG image")

// Options configures the service.
type Options struct {
	// Version is Obscura's version, written as Obscura/<version>.
	Version string
}

// Service stamps and verifies generated images.
type Service struct {
	keys  keyService
	st    certStore
	clk   clock.Clock
	log   *slog.Logger
	opt   Options
	certs certs
}

// New returns the service. Call Init at start to create the CA.
func New(keys keyService, st certStore, clk clock.Clock, log *slog.Logger, opt Options) *Service {
	if opt.Version == "" {
		opt.Version = "dev"
	}
	return &Service{keys: keys, st: st, clk: clk, log: log.With("component", "provenance"), opt: opt}
}

var _ draft.Stamper = (*Service)(nil)

// watermarkKey derives a tenant's watermark key (version 1) from the key
// service's PRF: keyed per tenant, never stored.
func (s *Service) watermarkKey(tenant string) watermark.Key {
	return sha256.Sum256([]byte(s.keys.HashID("watermark-key/v1", tenant)))
}

// markHash is the stored form of a generation id.
func (s *Service) markHash(tenant string, id uint64) string {
	return s.keys.HashID("watermark-id", tenant+"/"+fmt.Sprintf("%016x", id))
}

// IngredientID is how a manifest names a source photo: a keyed hash, per
// tenant, of its asset id (C2PA ingredient instanceID).
func (s *Service) IngredientID(tenant, asset string) string {
	return "obscura:photo:" + s.keys.HashID("provenance-ingredient", tenant+"/"+asset)
}

// Stamp watermarks (unless the tenant turned it off) and signs a generated
// JPEG. The manifest says c2pa.opened (the source photo as parentOf
// ingredient) then c2pa.edited when there is a source photo, c2pa.created
// otherwise (docs/spec/provenance-v1.md says why).
func (s *Service) Stamp(ctx context.Context, in draft.StampInput) (draft.StampOutput, error) {
	if in.Tenant == "" || in.Generator.Feature == "" {
		return draft.StampOutput{}, fault.New(fault.Invalid, "tenant and generator required")
	}
	if err := checkSize(in.JPEG, StampMaxPixels); err != nil {
		return draft.StampOutput{}, err
	}
	out := draft.StampOutput{JPEG: in.JPEG}
	off, err := s.st.WatermarkOff(ctx, in.Tenant)
	if err != nil {
		return draft.StampOutput{}, err
	}
	// Images under 64×64 cannot carry the mark: they get the manifest only.
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(in.JPEG)); err == nil && (cfg.Width < 64 || cfg.Height < 64) {
		off = true
	}
	if !off {
		img, err := decodeMax(in.JPEG, StampMaxPixels)
		if err != nil {
			return draft.StampOutput{}, err
		}
		id, err := randomID()
		if err != nil {
			return draft.StampOutput{}, err
		}
		marked, err := watermark.Embed(img, s.watermarkKey(in.Tenant), id)
		if err != nil {
			return draft.StampOutput{}, fault.Wrap(fault.Invalid, "image too small to watermark", err)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, marked, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return draft.StampOutput{}, fmt.Errorf("encode: %w", err)
		}
		err = s.st.RecordProvenanceMark(ctx, store.ProvenanceMark{TenantID: in.Tenant, MarkHash: s.markHash(in.Tenant, id), CreatedAt: s.clk.Now()})
		if err != nil {
			return draft.StampOutput{}, err
		}
		out.JPEG, out.GenerationID = buf.Bytes(), fmt.Sprintf("%016x", id)
	}
	signer, err := s.tenantSigner(ctx, in.Tenant)
	if err != nil {
		return draft.StampOutput{}, err
	}
	signed, err := c2pa.Sign(ctx, out.JPEG, s.manifest(in), signer)
	if err != nil {
		return draft.StampOutput{}, fmt.Errorf("sign manifest: %w", err)
	}
	out.JPEG = signed
	return out, nil
}

// manifest is what a stamped image says; see docs/spec/provenance-v1.md.
func (s *Service) manifest(in draft.StampInput) c2pa.Manifest {
	g := in.Generator
	agent := &c2pa.GeneratorInfo{Name: "Obscura/" + s.opt.Version + " " + g.Feature + " " + g.Name, Version: g.Version}
	when := s.clk.Now().UTC().Format(time.RFC3339)
	m := c2pa.Manifest{
		Generator: c2pa.GeneratorInfo{Name: "Obscura", Version: s.opt.Version},
		Title:     "Obscura " + g.Feature,
		Format:    "image/jpeg",
	}
	if in.SourceAsset != "" {
		// A meme or plugin output is an edit of a real photo: the photo is
		// opened as the parent, and the overlay is a composite (IPTC
		// "composite": elements that may or may not be generative AI —
		// true of templates and of plugins, whose insides Obscura cannot
		// vouch for).
		m.Parent = &c2pa.Ingredient{
			Title: "source photo", Format: "image/jpeg", Relationship: "parentOf",
			InstanceID: s.IngredientID(in.Tenant, in.SourceAsset),
		}
		m.Actions = []c2pa.Action{{
			Action: c2pa.ActionEdited, SoftwareAgent: agent, DigitalSourceType: c2pa.SourceComposite,
			Description: g.Feature + " " + g.Name + " " + g.Version, When: when,
		}}
		return m
	}
	// No source photo: the image is made by an algorithm from nothing
	// sampled (IPTC "algorithmicMedia").
	m.Actions = []c2pa.Action{{
		Action: c2pa.ActionCreated, SoftwareAgent: agent, DigitalSourceType: SourceAlgorithmic,
		Description: g.Feature + " " + g.Name + " " + g.Version, When: when,
	}}
	return m
}

// SourceAlgorithmic is IPTC "algorithmicMedia": made purely by an algorithm
// not based on sampled training data.
const SourceAlgorithmic = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"

// SetWatermark turns a tenant's watermark on or off (a tenant setting; on
// by default). Images already made keep their mark.
func (s *Service) SetWatermark(ctx context.Context, tenant string, on bool) error {
	return s.st.SetWatermarkOff(ctx, tenant, !on)
}

func randomID() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// checkSize reads the image header: a JPEG or PNG of at most max pixels.
func checkSize(b []byte, max int) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > max {
		return ErrTooLarge
	}
	return nil
}

// decodeBounded decodes a JPEG or PNG of at most MaxPixels.
func decodeBounded(b []byte) (image.Image, error) { return decodeMax(b, MaxPixels) }

// decodeMax decodes a JPEG or PNG after checking its size from the header.
func decodeMax(b []byte, max int) (image.Image, error) {
	if err := checkSize(b, max); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return img, nil
}

// Verification is what Verify found (the API's response body).
type Verification struct {
	C2PA      C2PAResult      `json:"c2pa"`
	Watermark WatermarkResult `json:"watermark"`
}

// C2PAResult summarises the manifest check.
type C2PAResult struct {
	Present   bool       `json:"present"`
	Valid     bool       `json:"valid"`
	Signer    string     `json:"signer,omitempty"`
	Actions   []string   `json:"actions"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	Failures  []string   `json:"failures,omitempty"`
}

// WatermarkResult says whether this tenant's watermark is in the image and,
// when the generated image became an asset of this tenant, which.
type WatermarkResult struct {
	Found   bool   `json:"found"`
	AssetID string `json:"asset_id,omitempty"`
}

// Verify checks a file for this installation's manifest and this tenant's
// watermark. A manifest is valid only when it chains to an unrevoked CA
// version and its signing certificate is not revoked.
func (s *Service) Verify(ctx context.Context, tenant string, file []byte) (Verification, error) {
	var v Verification
	v.C2PA.Actions = []string{}
	roots, err := s.Roots(ctx)
	if err != nil {
		return v, err
	}
	list, err := s.loadCerts(ctx)
	if err != nil {
		return v, err
	}
	if isJPEG(file) {
		r, err := c2pa.Verify(file, roots, s.clk.Now())
		if err != nil {
			return v, err
		}
		if r.Valid && revokedSerial(list, r.Serial) {
			r.Valid = false
			r.Failures = append(r.Failures, "signingCredential.revoked")
		}
		v.C2PA = Summarise(r)
	}
	img, err := decodeBounded(file)
	if err != nil {
		if v.C2PA.Present {
			return v, nil
		}
		return v, err
	}
	id, ok := watermark.Detect(img, s.watermarkKey(tenant))
	if !ok {
		return v, nil
	}
	// Found only if this tenant issued the id (a second check after the
	// keyed CRC); the asset only if a draft carrying it was accepted and
	// the asset still exists.
	if _, err := s.st.ProvenanceMark(ctx, tenant, s.markHash(tenant, id)); err != nil {
		if errors.Is(err, fault.NotFound) {
			return v, nil
		}
		return v, err
	}
	v.Watermark.Found = true
	asset, err := s.st.GeneratedAssetByGenerationID(ctx, tenant, fmt.Sprintf("%016x", id))
	switch {
	case err == nil:
		v.Watermark.AssetID = asset
	case !errors.Is(err, fault.NotFound):
		return v, err
	}
	return v, nil
}

// Summarise turns a c2pa.Verify result into the API's form.
func Summarise(r *c2pa.Result) C2PAResult {
	out := C2PAResult{Present: r.Present, Valid: r.Valid, Signer: r.Signer, Actions: []string{}, Failures: r.Failures}
	for _, a := range r.Actions {
		if !slices.Contains(out.Actions, a.Action) {
			out.Actions = append(out.Actions, a.Action)
		}
	}
	if !r.CreatedAt.IsZero() {
		t := r.CreatedAt
		out.CreatedAt = &t
	}
	return out
}

func isJPEG(b []byte) bool { return len(b) > 2 && b[0] == 0xFF && b[1] == 0xD8 }

// InspectMaxPixels bounds the uploads InspectUpload decodes to look for
// a watermark (generated images are far smaller; a 12 MP camera photo is
// not decoded a second time).
const InspectMaxPixels = 4_000_000

// InspectUpload records what an upload carried before ingest stripped it:
// a manifest valid under this installation's CA, and this tenant's
// watermark. It is best effort after the photo is stored: a failure here
// never fails the upload, it only leaves the flags unrecorded.
func (s *Service) InspectUpload(ctx context.Context, tenant, assetID string, original []byte) {
	var p store.AssetProvenance
	if isJPEG(original) {
		if loc, err := c2pa.FindStore(original); err == nil && loc != nil {
			roots, err := s.Roots(ctx)
			list, lerr := s.loadCerts(ctx)
			if err == nil && lerr == nil {
				if r, err := c2pa.Verify(original, roots, s.clk.Now()); err == nil && r.Valid && !revokedSerial(list, r.Serial) {
					p.Manifest = true
				}
			}
		}
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(original)); err == nil && cfg.Width*cfg.Height <= InspectMaxPixels {
		if img, err := decodeBounded(original); err == nil {
			if id, ok := watermark.Detect(img, s.watermarkKey(tenant)); ok {
				_, err := s.st.ProvenanceMark(ctx, tenant, s.markHash(tenant, id))
				p.Watermark = err == nil
			}
		}
	}
	if !p.Manifest && !p.Watermark {
		return
	}
	p.TenantID, p.AssetID = tenant, assetID
	if err := s.st.SetAssetProvenance(ctx, p); err != nil {
		s.log.WarnContext(ctx, "record upload provenance", "err", err)
	}
}

// AssetProvenance returns what an upload carried (both false when nothing
// was recorded).
func (s *Service) AssetProvenance(ctx context.Context, tenant, assetID string) (store.AssetProvenance, error) {
	p, err := s.st.AssetProvenance(ctx, tenant, assetID)
	if errors.Is(err, fault.NotFound) {
		return store.AssetProvenance{TenantID: tenant, AssetID: assetID}, nil
	}
	return p, err
}
