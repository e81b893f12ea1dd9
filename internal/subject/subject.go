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
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

type records interface {
	CreateDownload(ctx context.Context, d store.Download) error
	ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error)
}

type objects interface {
	Put(ctx context.Context, ref sealed.Ref, r io.Reader) (int64, error)
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
	Delete(ctx context.Context, ref sealed.Ref) error
}

// registry is the derived-data registry: every kind of data kept about a
// subject (package derived).
type registry interface {
	ForgetSubject(ctx context.Context, tenant, subjectHash string) error
	Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error
	Held(ctx context.Context, tenant, subjectHash string) (map[string]int, error)
}

type hasher interface {
	SubjectHash(subject string) string
}

// Service implements export and erase.
type Service struct {
	rec    records
	obj    objects
	reg    registry
	hash   hasher
	tokens *upload.Codec
	clk    clock.Clock
	ttl    time.Duration
}

// New returns a Service over the derived-data registry; export URLs live
// for ttl.
func New(rec records, obj objects, reg registry, h hasher, tokens *upload.Codec, clk clock.Clock, ttl time.Duration) *Service {
	return &Service{rec: rec, obj: obj, reg: reg, hash: h, tokens: tokens, clk: clk, ttl: ttl}
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
type PhotoMeta = upload.PhotoMeta

// zipBundle writes files into a zip, dated when the bundle was made, and
// lists each in the manifest.
type zipBundle struct {
	zw *zip.Writer
	m  *Manifest
}

func (z zipBundle) header(path string) *zip.FileHeader {
	return &zip.FileHeader{Name: path, Method: zip.Deflate, Modified: z.m.CreatedAt}
}

// Add implements derived.Bundle.
func (z zipBundle) Add(path string, data []byte) error {
	for _, f := range z.m.Files {
		if f.Path == path {
			return fmt.Errorf("export: %s written twice", path)
		}
	}
	w, err := z.zw.CreateHeader(z.header(path))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	z.m.Files = append(z.m.Files, ManifestFile{Path: path, Size: len(data), SHA256: hex.EncodeToString(sum[:])})
	return nil
}

// Bundle builds the export bundle for a subject (already hashed): every
// registered kind of data writes what it holds (consents.json, photos/,
// results/<purpose>/, faces/…), then manifest.json.
func (s *Service) Bundle(ctx context.Context, tenant, h string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := &Manifest{Format: "obscura-export-v1", Tenant: tenant, SubjectHash: h, CreatedAt: s.clk.Now().UTC().Truncate(time.Second), Files: []ManifestFile{}}
	z := zipBundle{zw: zw, m: m}
	if err := s.reg.Export(ctx, tenant, h, z); err != nil {
		return nil, err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	w, err := zw.CreateHeader(z.header("manifest.json"))
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

// Erased reports what an erase removed: the records and objects every
// kind of the derived-data registry held about the subject.
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

// EraseHash is Erase for a subject known only by its keyed hash (operator
// purges): the registry destroys every scope key of the subject, then
// every kind forgets (journaled: a crash part way is finished at start,
// and running it again finishes it too).
func (s *Service) EraseHash(ctx context.Context, tenant, h string) (Erased, error) {
	held, err := s.reg.Held(ctx, tenant, h)
	if err != nil {
		return Erased{}, err
	}
	if err := s.reg.ForgetSubject(ctx, tenant, h); err != nil {
		return Erased{}, fmt.Errorf("erase (run again to finish): %w", err)
	}
	n := 0
	for _, c := range held {
		n += c
	}
	return Erased{ObjectsDeleted: n}, nil
}
