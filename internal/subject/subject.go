// Package subject implements a subject's rights over their data: export (a
// complete, machine-readable bundle of everything stored about them,
// docs/spec/export-bundle-v1.md, delivered once through a short-lived URL)
// and erase (everything, keys destroyed first).
//
// Protects against: erasure that leaves recoverable data (every scope key of
// the subject is crypto-shredded before any ciphertext or record is
// deleted); export bundles lingering (stored encrypted under the subject's
// own keys, deleted on first download, gone with an erase).
//
// Does not protect against: copies the app or the subject made of exports.
package subject

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

type records interface {
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error)
	DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error
	CreateDownload(ctx context.Context, d store.Download) error
	ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error)
	DeleteConsents(ctx context.Context, tenantID, subjectHash string) error
}

type objects interface {
	Put(ctx context.Context, ref sealed.Ref, r io.Reader) (int64, error)
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
	Delete(ctx context.Context, ref sealed.Ref) error
	Shred(ctx context.Context, tenant, subjectHash, purpose string) (int, error)
}

type consents interface {
	ListByHash(ctx context.Context, tenant, subjectHash string) ([]consent.State, []consent.Receipt, error)
}

type hasher interface {
	SubjectHash(subject string) string
}

// Service implements export and erase.
type Service struct {
	rec      records
	obj      objects
	consents consents
	hash     hasher
	tokens   *upload.Codec
	clk      clock.Clock
	ttl      time.Duration
}

// New returns a Service; export URLs live for ttl.
func New(rec records, obj objects, c consents, h hasher, tokens *upload.Codec, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{rec: rec, obj: obj, consents: c, hash: h, tokens: tokens, clk: clk, ttl: ttl}
}

// exportPurpose is the scope under which pending bundles are stored.
const exportPurpose = "export"

// MaxBundleBytes bounds a bundle kept in memory.
const MaxBundleBytes = 2 << 30

// Manifest is manifest.json of a bundle.
type Manifest struct {
	Format      string         `json:"format"`
	Tenant      string         `json:"tenant"`
	SubjectHash string         `json:"subject_hash"`
	CreatedAt   time.Time      `json:"created_at"`
	Files       []ManifestFile `json:"files"`
}

// ManifestFile lists one file of the bundle with its digest.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// PhotoMeta is photos/<id>.json.
type PhotoMeta struct {
	AssetID   string    `json:"asset_id"`
	Format    string    `json:"format"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	CreatedAt time.Time `json:"created_at"`
}

var ext = map[string]string{"jpeg": "jpg", "png": "png", "webp": "webp"}

// Bundle builds the export bundle for a subject (already hashed).
func (s *Service) Bundle(ctx context.Context, tenant, h string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := Manifest{Format: "obscura-export-v1", Tenant: tenant, SubjectHash: h, CreatedAt: s.clk.Now().UTC()}
	add := func(path string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		m.Files = append(m.Files, ManifestFile{Path: path, Size: len(data), SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	states, receipts, err := s.consents.ListByHash(ctx, tenant, h)
	if err != nil {
		return nil, err
	}
	if receipts == nil {
		receipts = []consent.Receipt{}
	}
	cj, _ := json.MarshalIndent(map[string]any{"consents": states, "receipts": receipts}, "", "  ")
	if err := add("consents.json", cj); err != nil {
		return nil, err
	}
	assets, err := s.rec.SubjectAssets(ctx, tenant, h)
	if err != nil {
		return nil, err
	}
	for _, a := range assets {
		data, err := s.obj.ReadAll(ctx, sealed.Ref{Tenant: tenant, Subject: h, Object: a.ID}, MaxBundleBytes)
		if err != nil {
			return nil, fmt.Errorf("export photo: %w", err)
		}
		meta, _ := json.MarshalIndent(PhotoMeta{AssetID: a.ID, Format: a.Format, Width: a.Width, Height: a.Height, CreatedAt: a.CreatedAt}, "", "  ")
		if err := add("photos/"+a.ID+"."+ext[a.Format], data); err != nil {
			return nil, err
		}
		clear(data)
		if err := add("photos/"+a.ID+".json", meta); err != nil {
			return nil, err
		}
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	w, err := zw.Create("manifest.json")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(mj); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Export builds the bundle, stores it encrypted under the subject's keys and
// returns a single-use download token.
func (s *Service) Export(ctx context.Context, tenant, subject string) (string, time.Time, error) {
	if err := upload.ValidSubject(subject); err != nil {
		return "", time.Time{}, err
	}
	h := s.hash.SubjectHash(subject)
	bundle, err := s.Bundle(ctx, tenant, h)
	if err != nil {
		return "", time.Time{}, err
	}
	defer clear(bundle)
	id := ident.New("exp_")
	if _, err := s.obj.Put(ctx, sealed.Ref{Tenant: tenant, Subject: h, Purpose: exportPurpose, Object: id}, bytes.NewReader(bundle)); err != nil {
		return "", time.Time{}, err
	}
	now := s.clk.Now()
	exp := now.Add(s.ttl)
	// The download record's asset id carries the subject hash so redeeming
	// needs nothing but the token.
	if err := s.rec.CreateDownload(ctx, store.Download{ID: id, TenantID: tenant, AssetID: h, ExpiresAt: exp}); err != nil {
		return "", time.Time{}, err
	}
	tok, err := s.tokens.Seal(upload.KindExport, upload.Claims{Tenant: tenant, Subject: h, ID: id, Expires: exp.Unix(), Issued: now.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, time.Unix(exp.Unix(), 0).UTC(), nil
}

// Download redeems an export token once; the stored bundle is deleted.
func (s *Service) Download(ctx context.Context, token string) ([]byte, error) {
	cl, err := s.tokens.Open(upload.KindExport, token, s.clk.Now())
	if err != nil {
		return nil, err
	}
	if _, err := s.rec.ConsumeDownload(ctx, cl.Tenant, cl.ID, s.clk.Now()); err != nil {
		switch {
		case errors.Is(err, fault.Conflict):
			return nil, upload.ErrTokenUsed
		case errors.Is(err, fault.NotFound):
			return nil, upload.ErrTokenInvalid
		}
		return nil, err
	}
	ref := sealed.Ref{Tenant: cl.Tenant, Subject: cl.Subject, Purpose: exportPurpose, Object: cl.ID}
	data, err := s.obj.ReadAll(ctx, ref, MaxBundleBytes)
	if err != nil {
		return nil, err
	}
	if err := s.obj.Delete(ctx, ref); err != nil {
		return nil, err
	}
	return data, nil
}

// TokenTenant returns the tenant an export download token was issued for
// (for the audit entry of the download), without using the token.
func (s *Service) TokenTenant(token string) (string, error) {
	cl, err := s.tokens.Open(upload.KindExport, token, s.clk.Now())
	return cl.Tenant, err
}

// Erased reports what an erase removed.
type Erased struct {
	ObjectsDeleted int `json:"objects_deleted"`
}

// Erase removes everything about the subject: every scope key is destroyed
// first (from then on nothing of theirs decrypts), then ciphertext, then
// records. Receipts stay (they hold only the keyed hash), as the proof of
// what was consented and when. Idempotent.
func (s *Service) Erase(ctx context.Context, tenant, subject string) (Erased, error) {
	if err := upload.ValidSubject(subject); err != nil {
		return Erased{}, err
	}
	return s.EraseHash(ctx, tenant, s.hash.SubjectHash(subject))
}

// EraseHash is Erase for a subject known only by its keyed hash (operator purges).
func (s *Service) EraseHash(ctx context.Context, tenant, h string) (Erased, error) {
	n, err := s.obj.Shred(ctx, tenant, h, "*")
	if err != nil {
		return Erased{}, fmt.Errorf("erase (run again to finish): %w", err)
	}
	if err := s.rec.DeleteSubjectAssets(ctx, tenant, h); err != nil {
		return Erased{}, err
	}
	if err := s.rec.DeleteConsents(ctx, tenant, h); err != nil {
		return Erased{}, err
	}
	return Erased{ObjectsDeleted: n}, nil
}
