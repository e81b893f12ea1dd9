// Package upload is how photos enter Obscura: short-lived, single-use upload
// URLs (docs/spec/upload-token-v1.md), then one pipeline — bounded read,
// format sniffing, pixel-limit check, sanitizing (package sanitize),
// encryption (package sealed), asset record — shared by the HTTP upload and
// `obscura import`. It also issues single-use download URLs for sanitized
// photos and deletes assets.
//
// Protects against: reuse of a leaked upload URL (the upload row flips from
// pending to used in one conditional UPDATE, in the transaction that records
// the asset: exactly one request wins, even concurrently, and a request that
// fails leaves the URL usable); orphan ciphertext after a crash between the
// blob write and the record (a pending mark written first; Sweep); forged or altered URLs (AEAD tokens bound to their kind);
// oversized bodies (Content-Length and a hard read limit); lying
// Content-Types (the bytes decide); decompression bombs (dimensions checked
// from the header); metadata leaks (allow-list stripping); plaintext at rest.
//
// Does not protect against: a client that uploads someone else's photo with
// a valid URL it was given; that is the app's authorization decision.
package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
)

// ErrBodyTooLarge: the upload is bigger than its token allows.
var ErrBodyTooLarge = fault.New(fault.TooLarge, "upload is larger than max_bytes")

type assetStore interface {
	CreateUpload(ctx context.Context, u store.Upload) error
	UploadSpent(ctx context.Context, tenantID, id string) (bool, error)
	BeginAsset(ctx context.Context, p store.PendingAsset) error
	CommitAsset(ctx context.Context, a store.Asset, uploadID string, at time.Time) error
	StalePendingAssets(ctx context.Context, before time.Time, limit int) ([]store.PendingAsset, error)
	ClearPendingAsset(ctx context.Context, tenantID, id string) error
	Asset(ctx context.Context, tenantID, id string) (store.Asset, error)
	DeleteAsset(ctx context.Context, tenantID, id string) error
	CreateDownload(ctx context.Context, d store.Download) error
	ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (store.Download, error)
}

type objectStore interface {
	Put(ctx context.Context, ref sealed.Ref, r io.Reader) (int64, error)
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
	Delete(ctx context.Context, ref sealed.Ref) error
}

type subjectHasher interface {
	SubjectHash(subject string) string
}

// Config bounds uploads.
type Config struct {
	DefaultTTL      time.Duration // 60 s
	MaxTTL          time.Duration // 300 s
	DefaultMaxBytes int64         // 25 MiB
	MaxBytes        int64         // 50 MiB: hard cap for any token
	DownloadTTL     time.Duration // 60 s
	Limits          sanitize.Limits
	// OrphanGrace is how old a pending photo's mark must be before Sweep
	// deletes its blob (10 min: a commit follows its blob write within
	// seconds, so an older mark can only be a crash's leftover).
	OrphanGrace time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{DefaultTTL: 60 * time.Second, MaxTTL: 300 * time.Second, DefaultMaxBytes: 25 << 20, MaxBytes: 50 << 20,
		DownloadTTL: 60 * time.Second, Limits: sanitize.DefaultLimits, OrphanGrace: 10 * time.Minute}
}

// Service runs the ingest pipeline.
type Service struct {
	cfg     Config
	assets  assetStore
	objects objectStore
	hash    subjectHasher
	tokens  *Codec
	clk     clock.Clock
	derived []Derived
	decodes decodeGate
	sources map[string]ObjectSource
	// sanitizer, when set, cleans uploads instead of sanitize.Sanitize.
	sanitizer Sanitizer
	inspect   Inspector
	later     *inspections // inspect.go
}

// Inspector looks at an upload's original bytes, after the stripped photo
// is stored, to record what they carried (package provenance: a C2PA
// manifest, a watermark). It must not fail the upload.
type Inspector interface {
	InspectUpload(ctx context.Context, tenant, assetID string, original []byte)
}

// WithInspector sets the upload inspector; an upload a client waits for
// is inspected after its answer (inspect.go). It returns s.
func (s *Service) WithInspector(i Inspector) *Service {
	s.inspect = i
	if s.later == nil {
		s.later = newInspections()
	}
	return s
}

// Derived is something kept about a photo that must go with it: the
// derived-data registry (package derived), which knows every kind.
type Derived interface {
	ForgetAsset(ctx context.Context, tenant, assetID string) error
}

// WithDerived makes Delete forget what ds hold about a photo before the
// photo itself goes. It returns s.
func (s *Service) WithDerived(ds ...Derived) *Service {
	s.derived = append(s.derived, ds...)
	return s
}

// New returns a Service.
func New(cfg Config, assets assetStore, objects objectStore, hash subjectHasher, tokens *Codec, clk clock.Clock) *Service {
	return &Service{cfg: cfg, assets: assets, objects: objects, hash: hash, tokens: tokens, clk: clk}
}

// Request asks for an upload URL.
type Request struct {
	Subject     string
	ContentType string // the type the client intends; the bytes still decide
	MaxBytes    int64  // 0: default
	TTL         time.Duration
}

// Grant is an issued upload URL token.
type Grant struct {
	UploadID  string
	Token     string
	ExpiresAt time.Time
}

// ValidSubject checks an app's subject id: 1–256 bytes of printable UTF-8.
func ValidSubject(s string) error {
	if len(s) == 0 || len(s) > 256 || !utf8.ValidString(s) {
		return fault.New(fault.Invalid, "subject must be 1 to 256 bytes of UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fault.New(fault.Invalid, "subject must not contain control characters")
		}
	}
	return nil
}

// Create issues a single-use upload token.
func (s *Service) Create(ctx context.Context, tenant string, req Request) (Grant, error) {
	if err := ValidSubject(req.Subject); err != nil {
		return Grant{}, err
	}
	f, ok := sanitize.ParseContentType(req.ContentType)
	if !ok {
		return Grant{}, fault.New(fault.Unsupported, "content_type must be image/jpeg, image/png, image/webp or image/heic")
	}
	maxBytes := req.MaxBytes
	if maxBytes == 0 {
		maxBytes = s.cfg.DefaultMaxBytes
	}
	if maxBytes < 0 || maxBytes > s.cfg.MaxBytes {
		return Grant{}, fault.New(fault.Invalid, fmt.Sprintf("max_bytes must be between 1 and %d", s.cfg.MaxBytes))
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = s.cfg.DefaultTTL
	}
	if ttl < time.Second || ttl > s.cfg.MaxTTL {
		return Grant{}, fault.New(fault.Invalid, fmt.Sprintf("ttl must be between 1 and %d seconds", int(s.cfg.MaxTTL/time.Second)))
	}
	ctx = store.Interactive(ctx) // a client waits for the URL
	now := s.clk.Now()
	u := store.Upload{ID: ident.New("up_"), TenantID: tenant, SubjectHash: s.hash.SubjectHash(req.Subject), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	tok, err := s.tokens.Seal(KindUpload, Claims{Tenant: tenant, Subject: u.SubjectHash, ID: u.ID, MaxBytes: maxBytes,
		Types: []string{string(f)}, Expires: u.ExpiresAt.Unix(), Issued: now.Unix()})
	if err != nil {
		return Grant{}, err
	}
	if err := s.assets.CreateUpload(ctx, u); err != nil {
		return Grant{}, fmt.Errorf("record upload: %w", err)
	}
	return Grant{UploadID: u.ID, Token: tok, ExpiresAt: time.Unix(u.ExpiresAt.Unix(), 0).UTC()}, nil
}

// TokenTenant returns the tenant an upload token belongs to, after checking
// the token (authenticity and expiry) without spending it.
func (s *Service) TokenTenant(token string) (string, error) {
	cl, err := s.tokens.Open(KindUpload, token, s.clk.Now())
	return cl.Tenant, err
}

// Accept runs one upload: token, bounded read, then the pipeline. The
// single-use token is spent only by the commit that stores the asset, so a
// request that fails for any reason (a fault such as a full disk, a bad
// image) leaves the URL usable for a retry; of concurrent requests with one
// token exactly one commits, the others get ErrTokenUsed.
// contentLength is the request's declared length (-1 if unknown).
func (s *Service) Accept(ctx context.Context, token string, contentLength int64, body io.Reader) (store.Asset, error) {
	cl, err := s.tokens.Open(KindUpload, token, s.clk.Now())
	if err != nil {
		return store.Asset{}, err
	}
	if contentLength > cl.MaxBytes {
		return store.Asset{}, ErrBodyTooLarge // by header, before any work
	}
	ctx = store.Interactive(ctx) // a client waits for the upload's answer
	// A cheap read first, so a replayed URL is refused before its body is
	// read and processed; the commit below is what enforces single use.
	if spent, err := s.assets.UploadSpent(ctx, cl.Tenant, cl.ID); err != nil {
		return store.Asset{}, uploadError(err)
	} else if spent {
		return store.Asset{}, ErrTokenUsed
	}
	data, err := io.ReadAll(io.LimitReader(body, cl.MaxBytes+1))
	defer clear(data)
	if err != nil {
		return store.Asset{}, fault.Wrap(fault.Invalid, "upload body could not be read", err)
	}
	if int64(len(data)) > cl.MaxBytes {
		return store.Asset{}, ErrBodyTooLarge // by stream
	}
	f, err := sanitize.Sniff(data)
	if err != nil {
		return store.Asset{}, err
	}
	if !slices.Contains(cl.Types, string(f)) {
		return store.Asset{}, fmt.Errorf("got %s: %w", f, sanitize.ErrUnsupported)
	}
	return s.ingest(ctx, cl.Tenant, cl.Subject, cl.ID, data)
}

// uploadError maps the store's answer about an upload row to token errors.
func uploadError(err error) error {
	switch {
	case errors.Is(err, fault.Conflict):
		return ErrTokenUsed
	case errors.Is(err, fault.NotFound):
		return ErrTokenInvalid
	}
	return err
}

// Ingest runs the pipeline for a photo that did not come through an upload
// URL (obscura import). subject is the raw id; it is hashed here.
func (s *Service) Ingest(ctx context.Context, tenant, subject string, data []byte) (store.Asset, error) {
	if err := ValidSubject(subject); err != nil {
		return store.Asset{}, err
	}
	if int64(len(data)) > s.cfg.MaxBytes {
		return store.Asset{}, ErrBodyTooLarge
	}
	return s.ingest(ctx, tenant, s.hash.SubjectHash(subject), "", data)
}

// ingest sanitizes, marks the photo pending, writes its ciphertext and
// commits the record (spending uploadID, if any) together with clearing the
// mark. A crash between the blob write and the commit leaves a mark that
// Sweep turns into a deleted orphan after the grace period.
func (s *Service) ingest(ctx context.Context, tenant, subjectHash, uploadID string, data []byte) (store.Asset, error) {
	res, err := s.sanitize(ctx, data)
	if err != nil {
		return store.Asset{}, err
	}
	defer clear(res.Data)
	now := s.clk.Now().UTC()
	a := store.Asset{ID: ident.New("ast_"), TenantID: tenant, SubjectHash: subjectHash, Format: string(res.Format),
		Width: res.Width, Height: res.Height, Size: int64(len(res.Data)), CreatedAt: now}
	if err := s.assets.BeginAsset(ctx, store.PendingAsset{ID: a.ID, TenantID: tenant, SubjectHash: subjectHash, CreatedAt: now}); err != nil {
		return store.Asset{}, fmt.Errorf("record pending photo: %w", err)
	}
	ref := sealed.Ref{Tenant: tenant, Subject: subjectHash, Object: a.ID}
	abandon := func() {
		// No record, no blob. If this cleanup fails too, the mark stays
		// and Sweep finishes it.
		if s.objects.Delete(ctx, ref) == nil {
			s.assets.ClearPendingAsset(ctx, tenant, a.ID)
		}
	}
	if _, err := s.objects.Put(ctx, ref, bytes.NewReader(res.Data)); err != nil {
		abandon()
		return store.Asset{}, fmt.Errorf("store photo: %w", err)
	}
	if err := s.assets.CommitAsset(ctx, a, uploadID, s.clk.Now()); err != nil {
		abandon()
		if uploadID != "" {
			err = uploadError(err)
		}
		return store.Asset{}, fmt.Errorf("record asset: %w", err)
	}
	s.inspectUpload(ctx, tenant, a.ID, data)
	return a, nil
}

// Sweep deletes up to limit photos whose blob was written but whose record
// never was (a crash between the two), once their mark is older than the
// grace period, and returns how many it removed. It implements the job
// queue's periodic sweep.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	stale, err := s.assets.StalePendingAssets(ctx, s.clk.Now().Add(-s.cfg.OrphanGrace), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range stale {
		_, err := s.assets.Asset(ctx, p.TenantID, p.ID)
		switch {
		case err == nil: // recorded after all: only the mark is left over
		case errors.Is(err, fault.NotFound):
			if err := s.objects.Delete(ctx, sealed.Ref{Tenant: p.TenantID, Subject: p.SubjectHash, Object: p.ID}); err != nil {
				return n, fmt.Errorf("delete orphan photo: %w", err)
			}
			n++
		default:
			return n, err
		}
		if err := s.assets.ClearPendingAsset(ctx, p.TenantID, p.ID); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Asset returns the tenant's asset metadata.
func (s *Service) Asset(ctx context.Context, tenant, id string) (store.Asset, error) {
	return s.assets.Asset(ctx, tenant, id)
}

// NewDownload issues a single-use download token for the tenant's asset.
func (s *Service) NewDownload(ctx context.Context, tenant, id string) (string, time.Time, error) {
	if _, err := s.assets.Asset(ctx, tenant, id); err != nil {
		return "", time.Time{}, err
	}
	return s.newDownload(ctx, tenant, id)
}

func (s *Service) newDownload(ctx context.Context, tenant, id string) (string, time.Time, error) {
	ctx = store.Interactive(ctx) // a client waits for the URL
	now := s.clk.Now()
	d := store.Download{ID: ident.New("dl_"), TenantID: tenant, AssetID: id, ExpiresAt: now.Add(s.cfg.DownloadTTL)}
	tok, err := s.tokens.Seal(KindDownload, Claims{Tenant: tenant, ID: d.ID, Asset: id, Expires: d.ExpiresAt.Unix(), Issued: now.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.assets.CreateDownload(ctx, d); err != nil {
		return "", time.Time{}, err
	}
	return tok, time.Unix(d.ExpiresAt.Unix(), 0).UTC(), nil
}

// ObjectSource serves single-use downloads of stored objects that are not
// photos (drafts), through the same token flow as photos.
type ObjectSource interface {
	// DownloadObject returns the object's bytes and format, or
	// fault.NotFound if it is gone.
	DownloadObject(ctx context.Context, tenant, id string) ([]byte, sanitize.Format, error)
}

// WithObjectSource makes download tokens for ids starting with prefix
// (e.g. "drf_") redeem through src. It returns s.
func (s *Service) WithObjectSource(prefix string, src ObjectSource) *Service {
	if s.sources == nil {
		s.sources = map[string]ObjectSource{}
	}
	s.sources[prefix] = src
	return s
}

func (s *Service) sourceOf(id string) ObjectSource {
	for p, src := range s.sources {
		if strings.HasPrefix(id, p) {
			return src
		}
	}
	return nil
}

// NewObjectDownload issues a single-use download token for the tenant's
// object id of a registered ObjectSource; the caller has checked that the
// object is the tenant's.
func (s *Service) NewObjectDownload(ctx context.Context, tenant, id string) (string, time.Time, error) {
	if s.sourceOf(id) == nil {
		return "", time.Time{}, fault.New(fault.NotFound, "no download source for the object")
	}
	return s.newDownload(ctx, tenant, id)
}

// Download redeems a download token, once, and returns the sanitized photo
// (or the object of a registered ObjectSource).
func (s *Service) Download(ctx context.Context, token string) ([]byte, sanitize.Format, error) {
	cl, err := s.tokens.Open(KindDownload, token, s.clk.Now())
	if err != nil {
		return nil, "", err
	}
	ctx = store.Interactive(ctx) // a client waits for the photo
	if _, err := s.assets.ConsumeDownload(ctx, cl.Tenant, cl.ID, s.clk.Now()); err != nil {
		switch {
		case errors.Is(err, fault.Conflict):
			return nil, "", ErrTokenUsed
		case errors.Is(err, fault.NotFound):
			return nil, "", ErrTokenInvalid
		}
		return nil, "", err
	}
	if src := s.sourceOf(cl.Asset); src != nil {
		return src.DownloadObject(ctx, cl.Tenant, cl.Asset)
	}
	a, err := s.assets.Asset(ctx, cl.Tenant, cl.Asset)
	if err != nil {
		return nil, "", err
	}
	data, err := s.objects.ReadAll(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}, s.cfg.MaxBytes*2)
	if err != nil {
		return nil, "", err
	}
	return data, sanitize.Format(a.Format), nil
}

// Delete removes what was derived from the photo (see WithDerived), then
// the photo (its data key lives only in the envelope, so it goes with the
// ciphertext), then the record. Each step is idempotent and the record
// goes last, so a failure part way leaves a photo a retry deletes fully.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	a, err := s.assets.Asset(ctx, tenant, id)
	if err != nil {
		return err
	}
	for _, d := range s.derived {
		if err := d.ForgetAsset(ctx, tenant, id); err != nil {
			return fmt.Errorf("delete what was derived from the photo: %w", err)
		}
	}
	// The registry's photos kind may have deleted the photo already.
	if err := s.objects.Delete(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}); err != nil && !errors.Is(err, fault.NotFound) {
		return fmt.Errorf("delete photo: %w", err)
	}
	if err := s.assets.DeleteAsset(ctx, tenant, id); err != nil && !errors.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

// Photo returns the stored (sanitized) photo of an asset the caller has
// already looked up for its tenant.
func (s *Service) Photo(ctx context.Context, a store.Asset) ([]byte, error) {
	return s.objects.ReadAll(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}, s.cfg.MaxBytes*2)
}
