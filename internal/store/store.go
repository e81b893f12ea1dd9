// Package store defines Obscura's metadata store contract: tenants, API keys
// and key material records, always addressed through their owning tenant.
//
// Tenant isolation is by construction: every method that reads or changes a
// tenant's objects takes the tenant id as a parameter and every backend puts
// it in the WHERE clause, so an object of tenant A looked up as tenant B is
// reported as fault.NotFound, exactly like an id that never existed. The one
// deliberate exception is APIKeyForAuth, which authentication uses to find
// the tenant of a presented key.
//
// The store never holds plaintext user content, raw subject ids or secrets:
// API keys are stored as keyed hashes, key material only wrapped.
//
// Backends live in subpackages (store/sqlite, the embedded default, and
// store/postgres for several nodes) and all pass the conformance suite in
// store/storetest.
package store

import (
	"context"
	"time"
)

// Tenant is one app using Obscura.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// MinKEKVersion is the lowest KEK version allowed to unwrap keys (0 = all).
	MinKEKVersion int
}

// APIKey is an API key's stored record. The secret is never stored; SecretHash
// is a keyed hash of it computed by the key service.
type APIKey struct {
	ID         string
	TenantID   string
	Scopes     []string
	SecretHash []byte
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while active
}

// Revoked reports whether the key has been revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// KEKState is the lifecycle state of a key-encryption-key version. Values are
// append-only and persisted.
type KEKState string

// KEK states.
const (
	KEKActive  KEKState = "active"  // usable for wrap (if newest) and unwrap
	KEKRevoked KEKState = "revoked" // unusable for both; kept so the error is typed
)

// KEKVersion is one version of a tenant's key-encryption key. Keyset is the
// Tink keyset encrypted under the key service's root key; only the key
// service can open it.
type KEKVersion struct {
	TenantID  string
	Version   int
	State     KEKState
	CreatedAt time.Time
	Keyset    []byte
}

// ScopeKey is a subject-scoped (Purpose == "") or subject-and-purpose-scoped
// key, wrapped by a tenant KEK version. Destroying it crypto-shreds every
// object encrypted beneath it.
type ScopeKey struct {
	ID          string
	TenantID    string
	SubjectHash string // keyed hash of the subject id, never the raw id
	Purpose     string // "" for the subject's own key
	KEKVersion  int
	Wrapped     []byte
	CreatedAt   time.Time
}

// Tenants stores tenants.
type Tenants interface {
	// CreateTenant stores a tenant together with its first API key, atomically.
	CreateTenant(ctx context.Context, t Tenant, first APIKey) error
	// Tenant returns the tenant or fault.NotFound.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists every tenant, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
	// SetMinKEKVersion sets the lowest KEK version usable for unwrapping.
	SetMinKEKVersion(ctx context.Context, tenantID string, v int) error
}

// APIKeys stores API key records.
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKeyForAuth finds a key by id regardless of tenant. Only
	// authentication may call it: it is how a request learns its tenant.
	APIKeyForAuth(ctx context.Context, keyID string) (APIKey, error)
	// APIKey returns the tenant's key or fault.NotFound.
	APIKey(ctx context.Context, tenantID, keyID string) (APIKey, error)
	// APIKeys lists the tenant's keys, oldest first.
	APIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeAPIKey marks the tenant's key revoked; revoking twice is not an error.
	RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error
}

// Keys stores wrapped key material.
type Keys interface {
	// CreateKEKVersion adds a KEK version; an existing version is fault.Conflict.
	CreateKEKVersion(ctx context.Context, v KEKVersion) error
	// KEKVersions lists a tenant's KEK versions, lowest first.
	KEKVersions(ctx context.Context, tenantID string) ([]KEKVersion, error)
	// SetKEKState changes a version's state.
	SetKEKState(ctx context.Context, tenantID string, version int, s KEKState) error

	// CreateScopeKey stores a scope key; one already existing for the same
	// tenant, subject and purpose is fault.Conflict (the caller re-reads).
	CreateScopeKey(ctx context.Context, k ScopeKey) error
	// ScopeKey returns the key for tenant, subject and purpose, or fault.NotFound.
	ScopeKey(ctx context.Context, tenantID, subjectHash, purpose string) (ScopeKey, error)
	// DestroyScopeKeys irrecoverably deletes the subject's key for purpose, or
	// every key of the subject when purpose is "*". It reports how many were destroyed.
	DestroyScopeKeys(ctx context.Context, tenantID, subjectHash, purpose string) (int, error)
	// ScopeKeysBelow pages through keys wrapped under a KEK version lower
	// than version, ordered by id, starting after afterID.
	ScopeKeysBelow(ctx context.Context, tenantID string, version int, afterID string, limit int) ([]ScopeKey, error)
	// RewrapScopeKey replaces a key's wrapping if it is still under fromVersion
	// (compare-and-swap); otherwise it is fault.Conflict.
	RewrapScopeKey(ctx context.Context, tenantID, id string, fromVersion, toVersion int, wrapped []byte) error

	// SystemKeyset returns an installation-wide keyset (encrypted under the
	// key service's root key) or fault.NotFound.
	SystemKeyset(ctx context.Context, name string) ([]byte, error)
	// CreateSystemKeyset stores one; an existing name is fault.Conflict.
	CreateSystemKeyset(ctx context.Context, name string, keyset []byte, at time.Time) error
}

// Upload is a pending single-use upload.
type Upload struct {
	ID          string
	TenantID    string
	SubjectHash string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Asset is a stored, sanitized photo's record: only what is needed.
type Asset struct {
	ID          string
	TenantID    string
	SubjectHash string
	Format      string
	Width       int
	Height      int
	Size        int64
	CreatedAt   time.Time
}

// Download is a single-use download grant for an asset.
type Download struct {
	ID        string
	TenantID  string
	AssetID   string
	ExpiresAt time.Time
}

// Assets stores uploads, assets and downloads.
type Assets interface {
	CreateUpload(ctx context.Context, u Upload) error
	// ConsumeUpload marks the upload used, exactly once: a second call (even
	// concurrent) is fault.Conflict; an unknown id is fault.NotFound.
	ConsumeUpload(ctx context.Context, tenantID, id string, at time.Time) error
	CreateAsset(ctx context.Context, a Asset) error
	// Asset returns the tenant's asset or fault.NotFound.
	Asset(ctx context.Context, tenantID, id string) (Asset, error)
	// DeleteAsset removes the record; a missing asset is fault.NotFound.
	DeleteAsset(ctx context.Context, tenantID, id string) error
	CreateDownload(ctx context.Context, d Download) error
	// ConsumeDownload marks the download used, exactly once (fault.Conflict after).
	ConsumeDownload(ctx context.Context, tenantID, id string, at time.Time) (Download, error)
	// SubjectAssets lists the subject's assets, oldest first.
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]Asset, error)
	// DeleteSubjectAssets removes the subject's asset and upload records.
	DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error
	// TenantAssets lists the tenant's assets created in [from, to), oldest first.
	TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]Asset, error)
	// TenantSubjects lists every subject hash the tenant holds anything for
	// (assets, keys, consents).
	TenantSubjects(ctx context.Context, tenantID string) ([]string, error)
	PendingAssets
}

// PendingAsset marks a photo whose ciphertext is being written before its
// record exists. CommitAsset clears the mark with the record; a mark that
// outlives a grace period names an orphan blob left by a crash.
type PendingAsset struct {
	ID          string
	TenantID    string
	SubjectHash string
	CreatedAt   time.Time
}

// PendingAssets is the write-ahead side of storing a photo: mark, write the
// blob, commit; and the sweep of marks a crash left behind.
type PendingAssets interface {
	// BeginAsset records p before its blob is written.
	BeginAsset(ctx context.Context, p PendingAsset) error
	// CommitAsset atomically stores a's record, clears its pending mark and,
	// when uploadID is not "", spends that single-use upload: if the upload
	// was already spent it is fault.Conflict and nothing is stored; an
	// unknown upload is fault.NotFound.
	CommitAsset(ctx context.Context, a Asset, uploadID string, at time.Time) error
	// UploadSpent reports whether the tenant's upload was used (fault.NotFound
	// if there is no such upload).
	UploadSpent(ctx context.Context, tenantID, uploadID string) (bool, error)
	// StalePendingAssets lists up to limit pending marks created before
	// before, oldest first, across tenants.
	StalePendingAssets(ctx context.Context, before time.Time, limit int) ([]PendingAsset, error)
	// ClearPendingAsset removes a pending mark; a missing one is not an error.
	ClearPendingAsset(ctx context.Context, tenantID, id string) error
}

// Consent states. Persisted; append only.
const (
	ConsentGranted = "granted"
	ConsentRevoked = "revoked"
	// ConsentExpired is a grant whose expires_at passed and whose purpose
	// was purged (ExpireConsents); a new grant replaces it.
	ConsentExpired = "expired"
)

// Consent is one subject's current consent to one purpose.
type Consent struct {
	TenantID    string
	SubjectHash string
	Purpose     string
	State       string
	Notice      string
	UpdatedAt   time.Time
	ExpiresAt   time.Time // zero: no expiry
}

// ReceiptRecord is a stored consent receipt: its canonical JSON and chain hash.
type ReceiptRecord struct {
	TenantID    string
	SubjectHash string
	Seq         int
	Hash        string
	Body        []byte
}

// Purge is a pending revocation purge (a journal entry: present until done).
type Purge struct {
	TenantID    string
	SubjectHash string
	Purpose     string
	CreatedAt   time.Time
}

// ConsentChange is what RecordConsent's builder returns.
type ConsentChange struct {
	Receipt ReceiptRecord
	Consent Consent
	// Purge records a pending purge of Consent.Purpose in the same transaction.
	Purge bool
}

// Consents stores consent state, receipts and the purge journal.
type Consents interface {
	// RecordConsent appends a receipt to the subject's chain and sets the
	// consent state in one transaction. build runs inside it with the hash of
	// the subject's last receipt ("" if none), so chains never fork.
	RecordConsent(ctx context.Context, tenantID, subjectHash string, build func(prevHash string) (ConsentChange, error)) error
	// Consent returns one consent or fault.NotFound.
	Consent(ctx context.Context, tenantID, subjectHash, purpose string) (Consent, error)
	// Consents lists the subject's consents by purpose.
	Consents(ctx context.Context, tenantID, subjectHash string) ([]Consent, error)
	// Receipts lists the subject's receipts, oldest first.
	Receipts(ctx context.Context, tenantID, subjectHash string) ([]ReceiptRecord, error)
	// PendingPurges lists unfinished purges of every tenant (for resumption).
	PendingPurges(ctx context.Context) ([]Purge, error)
	// FinishPurge removes a purge from the journal.
	FinishPurge(ctx context.Context, tenantID, subjectHash, purpose string) error
	// DeleteConsents removes the subject's consent states (receipts stay).
	DeleteConsents(ctx context.Context, tenantID, subjectHash string) error
	// ExpireConsents marks up to limit granted consents of any tenant whose
	// expiry is at or before t as ConsentExpired and journals a purge of
	// each (as a revocation does), in one transaction; it returns them.
	ExpireConsents(ctx context.Context, t time.Time, limit int) ([]Consent, error)
}

// AuditRecord is one stored audit entry: its canonical encoding and chain hash.
type AuditRecord struct {
	Seq      int64
	TenantID string // "" for installation-wide events
	Hash     string
	Body     []byte
}

// AuditCheckpoint is a signed statement of the chain head at Seq.
type AuditCheckpoint struct {
	Seq       int64
	Hash      string
	Time      string
	Signature string
}

// Audit stores the audit chain. Rows are only ever appended.
type Audit interface {
	// AppendAudit runs build in one write transaction with the chain tip
	// (0, "" when empty) and stores what it returns: records continuing the
	// tip, and optionally a checkpoint. Either all of it is stored or none.
	AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]AuditRecord, *AuditCheckpoint, error)) error
	// AuditRange returns up to limit records with seq > after, oldest first;
	// tenantID "" means every tenant.
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]AuditRecord, error)
	// AuditTail returns up to limit of the tenant's records ("": every
	// record) with seq < before (0: no bound), newest first.
	AuditTail(ctx context.Context, tenantID string, before int64, limit int) ([]AuditRecord, error)
	// AuditCheckpoints lists every checkpoint, oldest first.
	AuditCheckpoints(ctx context.Context) ([]AuditCheckpoint, error)
}

// KillSwitches stores incident kill switches by scope.
type KillSwitches interface {
	SetKillSwitch(ctx context.Context, scope string, on bool, at time.Time) error
	KillSwitches(ctx context.Context) ([]string, error)
}

// Alert is a raised alert. Detail holds numbers and fixed words only.
type Alert struct {
	ID       string
	Time     time.Time
	Rule     string
	Severity string
	TenantID string // "" for installation-wide alerts
	Detail   string
}

// Alerts stores raised alerts.
type Alerts interface {
	CreateAlert(ctx context.Context, a Alert) error
	// Alerts lists a tenant's alerts ("" = all), newest first.
	Alerts(ctx context.Context, tenantID string, limit int) ([]Alert, error)
}

// GuardState is an API key's extraction-guard state when it is not ok:
// "throttled" or "blocked". Detail holds numbers and fixed words only.
type GuardState struct {
	TenantID string
	KeyID    string
	State    string
	Detail   string
	Since    time.Time
}

// GuardStates keeps the extraction guard's key states across restarts.
type GuardStates interface {
	// SetGuardState records a key's state, replacing an earlier one.
	SetGuardState(ctx context.Context, s GuardState) error
	// GuardStates lists every recorded key state.
	GuardStates(ctx context.Context) ([]GuardState, error)
}

// Store is everything a backend provides.
type Store interface {
	Tenants
	APIKeys
	Keys
	Assets
	Consents
	Audit
	KillSwitches
	Alerts
	Results
	Faces
	PrivacyLinks
	ConsoleLinks
	Forgets
	GuardStates
	Provenance
	Drafts
	Plugins
	FL
	// Ping reports whether the store is usable.
	Ping(ctx context.Context) error
	Close() error
}

// Backend is what a backend gives the composition root: the whole
// contract, analytics, and the write probe readiness checks call.
// store/sqlite and store/postgres implement it.
type Backend interface {
	Store
	Analytics
	// ProbeWrite checks that the store can be written now (a full disk, a
	// read-only database or a lost connection fail it).
	ProbeWrite(ctx context.Context, at time.Time) error
}

// Result records one stored analysis result: which asset and feature it
// belongs to, the purpose whose scope key seals it, and its retention. The
// result itself is a sealed object named by ID; no content is in the
// record.
type Result struct {
	ID          string
	TenantID    string
	SubjectHash string
	AssetID     string
	Feature     string
	Purpose     string
	Retention   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Results stores analysis result records.
type Results interface {
	// PutResult stores r, replacing the record of the same tenant, asset
	// and feature; it returns the replaced record's id ("" if none).
	PutResult(ctx context.Context, r Result) (replaced string, err error)
	// Results lists the tenant's results for an asset, by feature.
	Results(ctx context.Context, tenantID, assetID string) ([]Result, error)
	// ExpiredResults lists up to limit results of any tenant expiring at or
	// before t, oldest first.
	ExpiredResults(ctx context.Context, t time.Time, limit int) ([]Result, error)
	// DeleteResult removes a record; a missing one is fault.NotFound.
	DeleteResult(ctx context.Context, tenantID, id string) error
	// DeleteSubjectResults removes the subject's records for purpose ("*":
	// every purpose) and returns how many went.
	DeleteSubjectResults(ctx context.Context, tenantID, subjectHash, purpose string) (int, error)
	// SubjectResults lists the subject's result records, by asset and feature.
	SubjectResults(ctx context.Context, tenantID, subjectHash string) ([]Result, error)
}

// Box is a face box in whole pixels of the upright photo (JSON as the API
// reports boxes).
type Box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Suggestion is a draft face-tag suggestion: a face found in a photo whose
// embedding waits (sealed, under the subject's face_recognition key) for
// the subject to accept or reject it, until ExpiresAt.
type Suggestion struct {
	ID          string
	TenantID    string
	SubjectHash string
	AssetID     string
	Box         Box
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// FaceTag is an accepted tag: this face in this photo is that person of
// the subject's gallery. Names live only in the sealed gallery.
type FaceTag struct {
	ID          string
	TenantID    string
	SubjectHash string
	AssetID     string
	PersonID    string
	Box         Box
	CreatedAt   time.Time
}

// Faces stores face-tag suggestions and accepted tags.
type Faces interface {
	CreateSuggestion(ctx context.Context, s Suggestion) error
	// Suggestion returns the tenant's suggestion or fault.NotFound.
	Suggestion(ctx context.Context, tenantID, id string) (Suggestion, error)
	// DeleteSuggestion removes it; a missing one is fault.NotFound (so two
	// concurrent accepts cannot both win).
	DeleteSuggestion(ctx context.Context, tenantID, id string) error
	// ExpiredSuggestions lists up to limit suggestions of any tenant
	// expiring at or before t.
	ExpiredSuggestions(ctx context.Context, t time.Time, limit int) ([]Suggestion, error)
	// Suggestions lists the subject's pending suggestions.
	Suggestions(ctx context.Context, tenantID, subjectHash string) ([]Suggestion, error)
	CreateFaceTag(ctx context.Context, t FaceTag) error
	// FaceTags lists the subject's tags, of one person or all ("").
	FaceTags(ctx context.Context, tenantID, subjectHash, personID string) ([]FaceTag, error)
	// RetagPerson moves a person's tags to another person (merge).
	RetagPerson(ctx context.Context, tenantID, subjectHash, from, to string) error
	// DeletePersonTags removes a person's tags.
	DeletePersonTags(ctx context.Context, tenantID, subjectHash, personID string) error
	// DeleteSubjectFaces removes every suggestion and tag of the subject.
	DeleteSubjectFaces(ctx context.Context, tenantID, subjectHash string) error
	// AssetFaces lists the suggestions and tags of one photo.
	AssetFaces(ctx context.Context, tenantID, assetID string) ([]Suggestion, []FaceTag, error)
	// DeleteAssetFaces removes every suggestion and tag of one photo.
	DeleteAssetFaces(ctx context.Context, tenantID, assetID string) error
}

// PrivacyLink is a single-use link into a subject's privacy center.
type PrivacyLink struct {
	ID          string
	TenantID    string
	SubjectHash string
	ExpiresAt   time.Time
}

// ConsoleLinks stores the single-use links that open an installation
// operator's console session (issued by `obscura console link`).
type ConsoleLinks interface {
	CreateConsoleLink(ctx context.Context, id string, expires time.Time) error
	// ConsumeConsoleLink marks the link used, exactly once, and returns
	// its expiry: a second call (even concurrent) is fault.Conflict; an
	// unknown id fault.NotFound.
	ConsumeConsoleLink(ctx context.Context, id string, at time.Time) (time.Time, error)
	// ConsoleLinkLive reports whether the link was used and not revoked
	// since: whether the session it opened may go on.
	ConsoleLinkLive(ctx context.Context, id string) (bool, error)
	// RevokeConsoleLinks revokes every link, used or not, and returns how
	// many were still live or unused.
	RevokeConsoleLinks(ctx context.Context, at time.Time) (int, error)
}

// PrivacyLinks stores privacy-center links.
type PrivacyLinks interface {
	CreatePrivacyLink(ctx context.Context, l PrivacyLink) error
	// ConsumePrivacyLink marks the link used, exactly once: a second call
	// (even concurrent) is fault.Conflict; an unknown id fault.NotFound.
	ConsumePrivacyLink(ctx context.Context, tenantID, id string, at time.Time) (PrivacyLink, error)
	// PrivacyLinkLive reports whether the tenant's link was used and is
	// neither revoked nor deleted: whether the session it opened may go on.
	PrivacyLinkLive(ctx context.Context, tenantID, id string) (bool, error)
	// RevokePrivacyLinks revokes every link of the subject, used or not,
	// and returns how many were not yet revoked.
	RevokePrivacyLinks(ctx context.Context, tenantID, subjectHash string, at time.Time) (int, error)
	// SubjectPrivacyLinks counts the subject's link records.
	SubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) (int, error)
	// DeleteSubjectPrivacyLinks removes every link record of the subject.
	DeleteSubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) error
}

// Forget scopes.
const (
	ForgetAsset   = "asset"
	ForgetPurpose = "purpose"
	ForgetSubject = "subject"
)

// Forget is a journal entry of the derived-data registry: forgetting
// Target (an asset id, or a purpose) or, for ForgetSubject, everything of
// SubjectHash, started and not yet finished.
type Forget struct {
	TenantID    string
	Scope       string
	SubjectHash string
	Target      string
	CreatedAt   time.Time
}

// Forgets is the derived-data registry's journal.
type Forgets interface {
	// BeginForget journals f (again is not an error).
	BeginForget(ctx context.Context, f Forget) error
	// FinishForget removes f from the journal.
	FinishForget(ctx context.Context, f Forget) error
	// PendingForgets lists unfinished forgets of every tenant, oldest first.
	PendingForgets(ctx context.Context) ([]Forget, error)
}
